#pragma once
/// \file
/// `uvdb::pool_options`: the knobs of a connection pool, as plain data with
/// named defaults. The semantics follow SQLAlchemy's QueuePool (size,
/// max_overflow, timeout, pre_ping, recycle) with additions (min_idle,
/// idle_timeout, recycle jitter, connect back-off, leak warnings, hooks).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <uvdb/driver.hpp>
#include <uvdb/result.hpp>
#include <vector>

namespace uvdb {

// <uvdb/hooks.hpp> (included by <uvdb/pool.hpp>) defines it. Declared only, so
// that the configuration code, which the clang fuzz build compiles, does not
// need std::source_location (clang 14 cannot compile libstdc++ 12's).
struct query_hooks;

/// The defaults of pool_options, by name, for documentation and config code.
namespace pool_defaults {
inline constexpr std::size_t size = 20;
inline constexpr std::size_t max_overflow = 40;
inline constexpr std::size_t min_idle = 0;
inline constexpr std::chrono::milliseconds timeout{30'000};
inline constexpr std::size_t max_waiters = 0;  // unbounded
inline constexpr bool pre_ping = true;
inline constexpr std::chrono::milliseconds pre_ping_idle_threshold{500};
inline constexpr std::chrono::milliseconds ping_timeout{5'000};
inline constexpr std::chrono::milliseconds recycle{3'600'000};
inline constexpr double recycle_jitter = 0.10;
inline constexpr std::chrono::milliseconds idle_timeout{0};  // off
inline constexpr std::chrono::milliseconds overflow_linger{5'000};
/// The automatic overflow_delay (the pool's recent connect time) never exceeds this.
inline constexpr std::chrono::milliseconds overflow_delay_auto_cap{1'000};
inline constexpr bool reset_on_return = true;
inline constexpr std::size_t max_connecting = 4;
inline constexpr std::chrono::milliseconds connect_backoff_base{100};
inline constexpr std::chrono::milliseconds connect_backoff_cap{5'000};
/// Five failures in a row take 0.1 + 0.2 + 0.4 + 0.8 s of back-off (at most
/// 1.5 s) before the breaker opens: long enough that one dropped packet or a
/// server restart's few refused connects do not open it, short enough that
/// callers stop queueing for a down server within a couple of seconds.
inline constexpr std::size_t breaker_threshold = 5;
inline constexpr std::chrono::milliseconds leak_threshold{0};  // off; 30 s is a good value
/// pool.query pipelining: 16 statements in flight per connection at most
/// (docs/CONNECTION_POOLING.md, "Pipelining", has the measurements).
inline constexpr std::size_t pipeline_depth = 16;
/// The largest pipeline_depth accepted: beyond it a slow statement at the
/// front holds more callers than any round trip saved is worth.
inline constexpr std::size_t pipeline_depth_max = 1024;
/// A pool.query is pipelined only behind a statement sent less than this
/// ago (docs/CONNECTION_POOLING.md, "Pipelining").
inline constexpr std::chrono::milliseconds pipeline_max_front_age{5};
}  // namespace pool_defaults

/// Which idle connection acquire hands out first.
enum class idle_order : std::uint8_t {
    lifo,  ///< the most recently returned (default): few connections stay warm, the rest can time
           ///< out
    fifo,  ///< the least recently returned: spreads use over all connections
};

/// Configuration of a uvdb::pool. Plain data: fill it in code or let the
/// config loader do it.
struct pool_options {
    /// How each connection is opened (URL, application_name, connect timeout…).
    connect_options connection;

    /// The pool's name in metrics (label db_client_connection_pool_name) so
    /// that several pools of one application can be told apart.
    std::string name = "default";

    /// Persistent connections: opened on demand and kept when returned.
    std::size_t size = pool_defaults::size;
    /// Extra connections opened under load, closed when they have sat idle
    /// for overflow_linger while the pool holds more than `size`. The pool
    /// never holds more than size + max_overflow connections (idle, leased or
    /// connecting).
    std::size_t max_overflow = pool_defaults::max_overflow;
    /// How long an overflow connection may sit idle before it is closed. A
    /// burst that comes back within this time finds its connections still
    /// open instead of paying TCP + TLS + authentication again (milliseconds
    /// of CPU each). 0 = close an overflow connection as soon as it is
    /// returned, exactly like SQLAlchemy's QueuePool.
    std::chrono::milliseconds overflow_linger = pool_defaults::overflow_linger;
    /// How long a caller waits for a returned connection before the pool
    /// opens an overflow connection for it. A busy pool returns connections
    /// every few microseconds to milliseconds, while a new connection costs
    /// TCP + TLS + authentication; waiting as long as a connect takes, then
    /// connecting, is never worse than twice the better choice and avoids
    /// opening overflow connections that would arrive after a returned one.
    /// Connections up to `size` are opened at once, as before.
    /// - std::nullopt (default, "auto"): the pool's own recent connect time
    ///   (a moving average, at most overflow_delay_auto_cap), and at most
    ///   half the waiting caller's timeout; 0 until a connect has succeeded;
    /// - 0: open an overflow connection as soon as a caller finds none idle,
    ///   exactly like SQLAlchemy's QueuePool;
    /// - a duration: that (still at most half the caller's timeout).
    std::optional<std::chrono::milliseconds> overflow_delay;
    /// Connections opened at start and kept idle (refilled when lost), at most `size`.
    std::size_t min_idle = pool_defaults::min_idle;

    /// How long acquire waits for a connection before errc::pool_timeout.
    std::chrono::milliseconds timeout = pool_defaults::timeout;
    /// Most callers allowed to wait at once; beyond it acquire fails at once
    /// with errc::pool_full. 0 = unbounded.
    std::size_t max_waiters = pool_defaults::max_waiters;

    /// Ping a connection before handing it out when it sat idle for at least
    /// pre_ping_idle_threshold. A failed ping replaces it silently.
    bool pre_ping = pool_defaults::pre_ping;
    /// A connection used more recently than this is handed out without a
    /// ping, so busy pools pay no extra round trip. 0 = ping every checkout.
    std::chrono::milliseconds pre_ping_idle_threshold = pool_defaults::pre_ping_idle_threshold;
    /// Deadline of one pre-ping (further capped by the waiting caller's time left).
    std::chrono::milliseconds ping_timeout = pool_defaults::ping_timeout;

    /// Connections older than this are closed at checkout or checkin (never
    /// while leased). 0 or negative = never.
    std::chrono::milliseconds recycle = pool_defaults::recycle;
    /// Each connection's lifetime is shortened by a random fraction up to
    /// this (0.10 = up to 10 %), so connections opened together do not all
    /// expire together.
    double recycle_jitter = pool_defaults::recycle_jitter;
    /// Idle connections above min_idle are closed after sitting idle this
    /// long. 0 = never.
    std::chrono::milliseconds idle_timeout = pool_defaults::idle_timeout;
    idle_order order = idle_order::lifo;

    /// On return, roll back a transaction the caller left open (or failed)
    /// through connection::reset(). A connection whose transaction status is
    /// idle needs no reset and costs nothing.
    bool reset_on_return = pool_defaults::reset_on_return;
    /// A statement run on every connection that comes back (after any
    /// rollback), e.g. "DISCARD ALL" to drop what a caller left in the
    /// session: SET values, temporary tables, LISTEN, advisory locks, prepared
    /// statements. The connection is reused once it succeeded, and closed when
    /// it failed or took longer than ping_timeout. Empty (the default): none;
    /// every return then costs no round trip. lease::release_without_reset
    /// skips it.
    std::string reset_query;
    /// The pool talks to a transaction pooler (PgBouncer in transaction
    /// mode; set by the pgbouncer preset): each transaction may run on
    /// another server session. Statements sent through the pool that cannot
    /// work there fail with errc::bad_input saying why (LISTEN, a SET that
    /// is not SET LOCAL, and outside a transaction session advisory locks and
    /// PREPARE/EXECUTE/DEALLOCATE); the last two are warned about once per
    /// pool inside a transaction. Off (the default): nothing is inspected.
    /// docs/SCALING.md ("PgBouncer and RDS Proxy").
    bool transaction_pooler = false;

    /// pool.query pipelining: a pool.query may be sent on a connection
    /// already running pool.query statements (never a lease's or a
    /// transaction's) that has fewer than this many in flight and whose
    /// oldest statement was sent less than pipeline_max_front_age ago —
    /// before an idle connection when the driver pipelines, otherwise only
    /// when none is idle — instead of taking a connection of its own.
    /// Larger than 1 it is also every connection's
    /// connect_options::pipeline_depth. 0 or 1: off, each pool.query has a
    /// connection to itself. Default 16. At most pipeline_depth_max.
    /// docs/CONNECTION_POOLING.md, "Pipelining".
    std::size_t pipeline_depth = pool_defaults::pipeline_depth;
    /// A connection whose oldest statement in flight was sent this long ago
    /// or longer takes no more pool.query statements: one slow statement
    /// must not hold fast ones behind it. Positive.
    std::chrono::milliseconds pipeline_max_front_age = pool_defaults::pipeline_max_front_age;

    /// Most connects in flight at once.
    std::size_t max_connecting = pool_defaults::max_connecting;
    /// After a failed connect, the next one waits a jittered exponential
    /// back-off: between half and all of base · 2^(failures−1), at most cap.
    std::chrono::milliseconds connect_backoff_base = pool_defaults::connect_backoff_base;
    std::chrono::milliseconds connect_backoff_cap = pool_defaults::connect_backoff_cap;
    /// Circuit breaker: after this many connect failures in a row that
    /// retrying may fix (refused, unreachable or timed out, too many clients, 57P03),
    /// acquires that find no idle connection fail at once with the last
    /// connect error (and callers already waiting fail too), and one probe
    /// connect runs per back-off step until one succeeds. Idle connections
    /// still serve meanwhile. 0 = off: acquires wait their timeout.
    std::size_t breaker_threshold = pool_defaults::breaker_threshold;

    /// A lease held longer than this logs one warning naming where it was
    /// acquired. 0 = off (30 s is a good value in production).
    std::chrono::milliseconds leak_threshold = pool_defaults::leak_threshold;

    /// Runs on every new connection before it is used (e.g. `SET search_path`).
    /// Call `done` exactly once; an error discards the connection and counts
    /// as a failed connect.
    std::function<void(uvdb::connection&, uvdb::connection::done_callback done)> on_connect;
    /// Runs when a connection is handed to a caller.
    std::function<void(uvdb::connection&)> on_checkout;
    /// Runs when a healthy connection comes back, before any reset.
    std::function<void(uvdb::connection&)> on_checkin;

    /// Called before and after every statement run through the pool (see
    /// hooks.hpp for which ones). Null (the default): one pointer test per
    /// statement.
    std::shared_ptr<query_hooks> hooks;
    /// A statement that takes at least this long is logged once at warn with
    /// its duration, SQL (truncated), call site and connection. 0 = off.
    std::chrono::milliseconds slow_query_threshold{0};
    /// The slow-query log also shows the parameters' values, masking each
    /// one whose $n the SQL names near a secret-like column (password,
    /// secret, token, key, credential; docs/OPERATIONS.md). Off: never shown.
    bool slow_query_log_params = false;

    /// Extra `key=value` fields for the start-up log line (the config loader
    /// adds e.g. preset=aws-rds).
    std::vector<std::pair<std::string, std::string>> log_fields;

    /// Seed of the pool's random numbers (recycle jitter, back-off jitter);
    /// 0 = seeded from std::random_device. Tests fix it.
    std::uint64_t random_seed = 0;

    /// size + max_overflow.
    std::size_t max_total() const noexcept { return size + max_overflow; }
};

/// Checks that the options make sense (size + max_overflow ≥ 1, min_idle ≤
/// size, max_connecting ≥ 1, recycle_jitter in [0, 1), non-negative
/// durations, pipeline_depth ≤ pipeline_depth_max, a positive
/// pipeline_max_front_age when pipelining is on). The error (errc::bad_config) names the option and
/// the value.
result<void> validate(const pool_options& opts);

/// The start-up log line the pool writes once when it is created:
/// `database_engine_configured pool_size=20 max_overflow=40 pool_recycle=3600
/// pool_pre_ping=true pool_timeout=30 total_connections=60
/// url=postgresql://app:***@db:5432/app` followed by opts.log_fields. The
/// password is masked.
std::string engine_configured_line(const pool_options& opts);

}  // namespace uvdb
