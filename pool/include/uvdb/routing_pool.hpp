#pragma once
/// \file
/// `uvdb::routing_pool`: one primary pool and any number of read-replica
/// pools behind the pool's API. Writes, `query`, `acquire`, `begin()` and
/// read-write transactions go to the primary; `read(sql, args…)` and
/// read-only transactions go to the healthy replica with the fewest requests
/// in flight. Each replica's replication lag is measured every
/// replica_policy::probe_interval on a dedicated probe connection per node
/// (off the request path; replica_probe.cpp says how); a replica beyond
/// max_replication_lag, or whose probe fails, takes no reads until it is back
/// under the budget. With no healthy replica, reads go to the primary or
/// fail (replica_policy::fallback).
///
/// ```cpp
/// uvdb::routing_pool db(loop, uvdb::postgres::make_driver(), ropts);
/// co_await db.query("INSERT INTO t VALUES ($1)", 1);              // primary
/// auto rs = co_await db.read("SELECT * FROM t WHERE id = $1", 1);  // a replica
/// auto tx = co_await db.begin({.read_only = true});                 // a replica
/// ```
///
/// Threading: like uvdb::pool, everything belongs to the loop's thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <source_location>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <uvdb/call.hpp>
#include <uvdb/config.hpp>
#include <uvdb/detail/callback_awaitable.hpp>
#include <uvdb/detail/transaction_run.hpp>
#include <uvdb/driver.hpp>
#include <uvdb/driver_registry.hpp>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/function.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/pool_options.hpp>
#include <uvdb/replica_options.hpp>
#include <uvdb/result.hpp>
#include <uvdb/result_set.hpp>
#include <uvdb/transaction.hpp>
#include <vector>

namespace uvdb {

/// Where a replica stands, as the last probe found it.
enum class replica_state : std::uint8_t {
    unknown,  ///< not probed yet: takes no reads until the first probe answers
    healthy,  ///< within max_replication_lag: takes reads
    lagging,  ///< beyond max_replication_lag: excluded
    down,     ///< its probe failed: excluded
};

/// "unknown", "healthy", "lagging", "down".
std::string_view to_string(replica_state s) noexcept;

/// Measures every replica's lag once per call. The routing pool owns one and
/// calls measure() once per probe interval, never twice at once. The
/// built-in source (make_probe_lag_source) asks PostgreSQL on dedicated
/// connections; tests inject their own.
class lag_source {
  public:
    /// One entry per replica, in the routing pool's order: its lag, or why
    /// it could not be measured.
    using callback = unique_function<void(std::vector<result<std::chrono::milliseconds>>)>;
    virtual ~lag_source() = default;
    /// Measures; `cb` runs once, on the loop thread, never inline.
    virtual void measure(callback cb) = 0;
    /// Closes whatever it holds open; a measure() in flight still completes.
    virtual void close() noexcept {}
};

/// The built-in lag source: one probe connection per node opened with `drv`,
/// kept open between probes and reopened after a failure. Each round samples
/// the primary's WAL position (PostgreSQL: pg_current_wal_lsn()) and keeps a
/// short history of (position, local time); a replica's lag is how long ago
/// the primary first passed the position the replica has replayed
/// (pg_last_wal_replay_lsn()), 0 when it has replayed the latest sample.
/// Each probe statement times out after `timeout`.
std::shared_ptr<lag_source> make_probe_lag_source(event_loop& loop, std::shared_ptr<driver> drv,
                                                  connect_options primary,
                                                  std::vector<connect_options> replicas,
                                                  std::chrono::milliseconds timeout);

/// One replica's figures.
struct replica_stats {
    std::string name;  ///< its pool's name (pool_options::name)
    replica_state state = replica_state::unknown;
    /// The last lag measured; nullopt before the first or after a failed probe.
    std::optional<std::chrono::milliseconds> lag;
    std::size_t outstanding = 0;  ///< reads routed to it that have not completed
    std::uint64_t reads = 0;      ///< reads routed to it
    std::uint64_t probes = 0;     ///< probe rounds that reached a verdict about it
    std::uint64_t probe_failures = 0;
    std::uint64_t exclusions = 0;  ///< times it left the healthy set
    /// Why its last probe failed (no secret); empty when it answered.
    std::string last_error;
};

/// A snapshot of the routing pool's figures.
struct routing_stats {
    std::vector<replica_stats> replicas;
    std::size_t healthy = 0;             ///< replicas taking reads now
    std::uint64_t reads = 0;             ///< read() calls and read-only transactions
    std::uint64_t reads_on_primary = 0;  ///< of those, sent to the primary (fallback)
    std::uint64_t reads_refused = 0;     ///< refused because no replica was healthy (fallback fail)
    std::uint64_t probe_rounds = 0;      ///< completed probe rounds
    std::size_t primary_outstanding = 0;  ///< reads on the primary that have not completed
};

/// What a routing_pool is built from.
struct routing_options {
    pool_options primary;
    std::vector<pool_options> replicas;
    replica_policy policy;
};

class routing_pool {
  public:
    using query_callback = pool::query_callback;
    using acquire_callback = pool::acquire_callback;
    using done_callback = pool::done_callback;
    using begin_callback = pool::begin_callback;
    using tx_body = pool::tx_body;

    /// Pools for opts.primary and each of opts.replicas, opened with `drv`,
    /// and the built-in lag probe over the same driver. Throws
    /// std::invalid_argument when a pool's options are invalid.
    routing_pool(event_loop& loop, std::shared_ptr<driver> drv, routing_options opts);
    /// Routes over pools built elsewhere, with `lag` measuring the replicas
    /// (one entry per replica, in this order).
    routing_pool(pool primary, std::vector<pool> replicas, replica_policy policy,
                 std::shared_ptr<lag_source> lag);
    /// The driver is looked up in `registry` by the primary URL's scheme.
    /// Errors: errc::driver_not_found, errc::bad_config.
    static result<routing_pool> create(event_loop& loop, routing_options opts,
                                       const driver_registry& registry = driver_registry::global());

    /// Closes every pool and the probe.
    ~routing_pool();
    routing_pool(routing_pool&& other) noexcept;
    routing_pool& operator=(routing_pool&& other) noexcept;
    routing_pool(const routing_pool&) = delete;
    routing_pool& operator=(const routing_pool&) = delete;

    // ---- the primary: the pool's calls, unchanged ----
    template <class... A>
    auto query(sql_text sql, A&&... args) {
        return primary().query(sql, std::forward<A>(args)...);
    }
    template <class... A>
    auto query(const call_options& opts, sql_text sql, A&&... args) {
        return primary().query(opts, sql, std::forward<A>(args)...);
    }
    [[nodiscard]] auto acquire(std::source_location where = std::source_location::current()) {
        return primary().acquire(where);
    }
    [[nodiscard]] auto acquire(call_options opts,
                               std::source_location where = std::source_location::current()) {
        return primary().acquire(std::move(opts), where);
    }
    void acquire(acquire_callback cb,
                 std::source_location where = std::source_location::current()) {
        primary().acquire(std::move(cb), where);
    }
    void acquire(const call_options& opts, acquire_callback cb,
                 std::source_location where = std::source_location::current()) {
        primary().acquire(opts, std::move(cb), where);
    }
    template <class... A>
    auto notify(A&&... args) {
        return primary().notify(std::forward<A>(args)...);
    }
    /// pool::batch, on the primary.
    template <class... A>
    auto batch(A&&... args) {
        return primary().batch(std::forward<A>(args)...);
    }

    // ---- reads: a healthy replica ----
    /// Like pool::query, on the healthy replica with the fewest reads in
    /// flight: `co_await db.read(sql, args…)` gives result<result_set>, or
    /// with a callback last it starts the call. With no healthy replica it
    /// runs on the primary, or (fallback fail) fails with errc::pool_timeout
    /// naming each replica's state and lag. A replica that fails the read
    /// gives its error as it is: the read is not retried elsewhere.
    template <class... A>
    auto read(sql_text sql, A&&... args) {
        return read_with(nullptr, sql, std::forward<A>(args)...);
    }
    template <class... A>
    auto read(const call_options& opts, sql_text sql, A&&... args) {
        return read_with(&opts, sql, std::forward<A>(args)...);
    }

    // ---- transactions: read-only ones on a replica, the rest on the primary ----
    void begin(const tx_options& opts, const call_options& call, begin_callback cb,
               std::source_location where = std::source_location::current());
    void begin(const tx_options& opts, begin_callback cb,
               std::source_location where = std::source_location::current()) {
        begin(opts, call_options{}, std::move(cb), where);
    }
    [[nodiscard]] auto begin(const tx_options& opts = {}, const call_options& call = {},
                             std::source_location where = std::source_location::current()) {
        return detail::make_tx_awaitable<::uvdb::transaction>(
            [this, opts, call, where](begin_callback cb) {
                begin(opts, call, std::move(cb), where);
            });
    }
    /// pool::transaction with retries, routed by opts.read_only.
    void transaction(const tx_options& opts, tx_body body, retry_policy retry, done_callback cb,
                     std::source_location where = std::source_location::current());
    template <class Fn>
    requires std::is_invocable_v<Fn&, ::uvdb::transaction&>
    auto transaction(const tx_options& opts, Fn fn, retry_policy retry = {},
                     std::source_location where = std::source_location::current()) {
        return detail::tx_run_awaitable<routing_pool, Fn, detail::tx_fn_value_t<Fn>>(
            *this, opts, std::move(fn), retry, where);
    }
    template <class Fn>
    requires std::is_invocable_v<Fn&, ::uvdb::transaction&>
    auto transaction(Fn fn, retry_policy retry = {},
                     std::source_location where = std::source_location::current()) {
        return transaction(tx_options{}, std::move(fn), retry, where);
    }

    // ---- the parts ----
    pool& primary() noexcept;
    std::span<pool> replicas() noexcept;
    const replica_policy& policy() const noexcept;
    /// The replica pool a read would go to now; nullptr when it would go to
    /// the primary or fail.
    pool* pick_replica() noexcept;

    /// Runs one probe round now (unless one is in flight); `done`, if given,
    /// runs when that round's verdicts are applied.
    void probe_now(unique_function<void()> done = {});

    routing_stats stats() const;
    /// Closes every pool and stops probing. Idempotent.
    void close();
    bool closed() const noexcept;
    event_loop& loop() const noexcept;

    struct state;

  private:
    template <class... A>
    auto read_with(const call_options* opts, sql_text sql, A&&... args) {
        if constexpr (detail::ends_with_callback<result_set, A...>) {
            detail::split_callback(
                [&](params p, auto&& cb) {
                    start_read(opts, sql, std::move(p),
                               query_callback(std::forward<decltype(cb)>(cb)));
                },
                std::forward<A>(args)...);
        } else {
            std::optional<call_options> own;
            if (opts != nullptr) own = *opts;
            return detail::make_callback_awaitable<result_set>(read_start{
                this, sql, detail::bind_params(std::forward<A>(args)...), std::move(own)});
        }
    }
    void start_read(const call_options* opts, sql_text sql, params p, query_callback cb);
    struct read_start {
        routing_pool* db;
        sql_text sql;
        params p;
        std::optional<call_options> opts;
        template <class Done>
        void operator()(Done done) && {
            db->start_read(opts ? &*opts : nullptr, sql, std::move(p),
                           query_callback(std::move(done)));
        }
    };

    std::shared_ptr<state> st_;
};

/// A routing pool configured by `cfg`: its primary from cfg.pool, one
/// replica per cfg.replicas (cfg.pool with the replica's URL and size), the
/// lag budget from cfg.replica. Sets the log level like make_pool. With no
/// replica configured, every read goes to the primary (or fails, with
/// fallback fail). Errors: errc::driver_not_found, errc::bad_config. Loop thread.
result<routing_pool> make_routing_pool(event_loop& loop, const config& cfg,
                                       const driver_registry& registry = driver_registry::global());
/// load_config(opts) then make_routing_pool: the errors of either. Reads
/// files with blocking I/O: call it at start-up.
result<routing_pool> make_routing_pool(event_loop& loop, const load_options& opts,
                                       const driver_registry& registry = driver_registry::global());

}  // namespace uvdb
