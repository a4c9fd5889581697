#pragma once
/// \file
/// The pool's shared state and its decisions: who gets which connection,
/// when one is opened, pinged, reset or closed. `pool` is a handle on it;
/// leases and in-flight callbacks hold counted references
/// (intrusive_ref<pool_core>), so it lives until the last of them is gone
/// (loop thread only, so the count is not atomic).
///
/// The slots' states and the lists and counts beside them are pool_slot.hpp's
/// slot_table; this class decides the transitions:
///
///   connecting ──ok──▶ (to a waiter: leased) or idle;  fail ─▶ free, back-off
///   idle ──checkout──▶ leased            (fresh enough: no ping)
///   idle ──checkout──▶ pinging ──ok──▶ leased / idle;  fail ─▶ free
///   leased ──return──▶ resetting ──ok──▶ idle / leased;  fail ─▶ free
///   leased ──return──▶ idle / leased     (nothing to reset)
///   leased ──leak check──▶ leaked        (then returns like leased)
///   any ──(judge_reuse says no, invalidated, overflow, idle timeout, close)──▶ free
///
/// Whether a connection may be reused is judge_reuse(), at checkout and at
/// checkin alike; what a return needs (rollback, reset query, nothing) is
/// decided in checkin() alone.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <source_location>
#include <stop_token>
#include <string>
#include <uvdb/call.hpp>
#include <uvdb/driver.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/hooks.hpp>
#include <uvdb/intrusive_ref.hpp>
#include <uvdb/lease.hpp>
#include <uvdb/pool_options.hpp>
#include <uvdb/pool_stats.hpp>
#include <vector>

#include "circuit_breaker.hpp"
#include "free_list.hpp"
#include "intrusive_list.hpp"
#include "pool_slot.hpp"
#include "stop_relay.hpp"
#include "timer_source.hpp"
#include "transaction_pooler_guard.hpp"

namespace uvdb::detail {

/// One acquire in flight: waiting in the queue, or served and about to be
/// delivered. Records are reused, so steady state allocates nothing.
struct waiter : list_node {
    unique_function<void(result<lease>)> cb;
    std::source_location where{};
    time_point enqueued_at{};
    time_point deadline{};
    timer_source::handle timer = 0;  // non-zero exactly while in the queue
    conn_slot* slot = nullptr;       // served with this (already checked out)
    query_op* query = nullptr;       // a pool.query waiting: may be pipelined instead
    error err;                       // or failed with this
    stop_relay stop;                 // armed while call_options::stop may abandon it
    waiter* next_free = nullptr;
};

/// What the pool keeps of a statement between handing it to the driver and
/// its result, for its duration, the hooks and the slow-query log
/// (query_hooks.cpp). The text and parameters are copied only when a hook
/// or the slow-query log will look at them afterwards.
struct stmt_trace {
    time_point start{};
    std::string sql;
    params args;  // only with slow_query_log_params
    std::size_t param_count = 0;
    std::source_location where{};
    const connection* conn = nullptr;
    bool script = false;
};

/// A statement sent through a lease (statement_gate) while it runs.
struct stmt_op {
    unique_function<void(result<result_set>)> query_cb;
    unique_function<void(result<std::vector<result_set>>)> script_cb;
    stmt_trace trace;
    stmt_op* next_free = nullptr;
};

/// pool::query's state while its statement waits for a connection or runs.
/// While it runs it is linked in its slot's `queries`, in the order sent.
struct query_op : list_node {
    unique_function<void(result<result_set>)> cb;
    std::string sql;  // copied only when it must wait for a connection
    params args;
    // Per-call options (call_options), only when the caller gave some.
    query_options statement;    // the statement's own timeout when no deadline
    bool has_deadline = false;  // the statement gets what is left until `deadline`
    time_point deadline{};
    std::stop_token stop_token;  // kept while waiting for a connection
    stop_relay stop;             // armed while the statement runs
    conn_slot* slot = nullptr;   // the slot whose connection runs the statement
    time_point sent_at{};        // when it was handed to the driver
    // Stopped while not at the front of a pipeline: its caller was answered
    // with errc::cancelled, the driver's answer is dropped when it comes.
    bool detached = false;
    stmt_trace trace;
    query_op* next_free = nullptr;
};

class pool_core;

/// A counted reference to the core, for callbacks that may outlive the pool handle.
using core_ref = intrusive_ref<pool_core>;

class pool_core {
  public:
    using acquire_callback = unique_function<void(result<lease>)>;
    using query_callback = unique_function<void(result<result_set>)>;

    pool_core(event_loop& loop, std::shared_ptr<driver> drv, pool_options opts,
              std::shared_ptr<timer_source> timers);
    ~pool_core();
    pool_core(const pool_core&) = delete;
    pool_core& operator=(const pool_core&) = delete;

    /// Reference counting for intrusive_ref (and the pool handle and leases,
    /// which hold one reference each without the wrapper: public headers do
    /// not see this class). Starts at 1, the pool handle's.
    void add_ref() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0) delete this;
    }

    /// Opens min_idle connections; called once after construction.
    void start();

    /// `stop`, when not null, may abandon the wait (errc::cancelled).
    /// `query`, when not null, is the pool.query this acquire is for: while
    /// it waits it may be pipelined onto a shared connection instead
    /// (pool_query.cpp), its callback then dropped unrun.
    void acquire(acquire_callback cb, std::chrono::milliseconds timeout, std::source_location where,
                 const std::stop_token* stop = nullptr, query_op* query = nullptr);
    /// The wait call_options asks for (null: the pool's timeout).
    std::chrono::milliseconds acquire_timeout(const call_options* co) const noexcept;
    /// The fast path: checks out an idle connection that needs no ping when
    /// nobody waits. nullptr when that is not possible.
    conn_slot* try_checkout(std::source_location where);
    /// The statement path of a lease (its statement_gate), for pool code
    /// that runs statements on a lease it may move away in the same call.
    static connection& statements_of(const lease& l) noexcept { return l.slot_->gate; }
    lease make_lease(conn_slot* s) noexcept {
        s->gate.bind(this, s);
        return lease(this, s, s->conn.get());
    }

    void query(std::string_view sql, params p, query_callback cb, std::source_location where,
               const call_options* co = nullptr);

    /// A statement or script on a lease (statement_gate): timed, hooked and
    /// logged when slow, like pool.query's (query_hooks.cpp).
    void run_statement(conn_slot& s, std::string_view sql, params p, const query_options& opts,
                       query_callback cb);
    void run_script(conn_slot& s, std::string_view script, const query_options& opts,
                    unique_function<void(result<std::vector<result_set>>)> cb);
    /// connection::query_group on a lease: each member timed, hooked and
    /// logged as run_statement does, the group sent as one unit.
    void run_group(conn_slot& s, std::vector<connection::group_member> members,
                   const query_options& opts);

    /// pool::drain (pool_drain.cpp).
    void drain(std::chrono::milliseconds deadline, unique_function<void(drain_report)> cb);
    bool draining() const noexcept { return draining_; }

    /// A lease gives its connection back. The return policy lives here
    /// alone: whether to discard, reset (roll back, reset query) or reuse at
    /// once follows from the mode, the cause, the connection's state and the
    /// options.
    void checkin(conn_slot* s, lease::mode m, const error* cause) noexcept;
    void close() noexcept;
    /// The loop is being destroyed: close the pool and every connection, leased ones too.
    void on_loop_closing() noexcept;
    bool closed() const noexcept { return closed_; }

    pool_stats stats() const;
    std::chrono::milliseconds longest_held() const;
    const std::optional<error>& last_connect_error() const noexcept { return last_connect_error_; }
    /// Total time leases were held, over stats().use_time.total() returns (advisor).
    std::chrono::microseconds use_time_sum() const noexcept {
        return std::chrono::microseconds(use_time_.sum_us());
    }
    /// The server's max_connections once pool::read_server_limit read it (0: not yet).
    int server_max_connections = 0;
    const pool_options& options() const noexcept { return opts_; }
    event_loop& loop() const noexcept { return loop_; }
    time_point now() const noexcept { return timers_->now(); }
    /// The pool's clock and random numbers, for the back-off between a
    /// retried transaction's attempts (transaction_retry.cpp).
    timer_source& timers() noexcept { return *timers_; }
    std::mt19937_64& rng() noexcept { return rng_; }

  private:
    // Acquire and hand-out (pool_core.cpp).
    waiter* new_waiter();
    void free_waiter(waiter* w) noexcept;
    void enqueue(acquire_callback cb, std::chrono::milliseconds timeout, std::source_location where,
                 time_point now, query_op* query);
    void reject(acquire_callback cb, error e);
    void deliver(waiter* w);
    void complete(waiter* w);
    void give(conn_slot& s, waiter& w, time_point now);
    void checkout(conn_slot& s, time_point now, std::source_location where);
    conn_slot* take_idle(time_point now);
    void make_available(conn_slot& s, time_point now);
    void dispatch();
    /// Whether the first waiter no connection is on its way for has waited
    /// long enough to justify an overflow connect; if not, arms grow_timer_
    /// for the moment it will have (pool_core.cpp).
    bool overflow_due(std::size_t covered, time_point now);
    timer_source::clock::duration overflow_delay(const waiter& w) const noexcept;
    void record_connect_time(timer_source::clock::duration took) noexcept;
    void on_waiter_timeout(waiter* w);
    static void on_waiter_stopped(pool_core& core, void* record, std::uint32_t ticket);
    void fail_all_waiters(const error& e);
    bool needs_ping(const conn_slot& s, time_point now) const noexcept {
        return now - s.idle_since >= ping_threshold_;
    }
    /// Counts the verdict's reason and closes the connection (not reuse).
    void discard_for(conn_slot& s, reuse_verdict v) noexcept;

    // Connections: connect, ping, reset, discard (pool_connections.cpp).
    void start_connect();
    // With a password provider: the password first, then the driver's connect.
    void on_password(conn_slot* s, std::uint32_t epoch, std::uint64_t ticket,
                     result<std::string> r);
    void open_connection(conn_slot& s, const connect_options& opts);
    void on_connected(conn_slot* s, std::uint32_t epoch, result<void> r);
    void on_initialized(conn_slot* s, std::uint32_t epoch, result<void> r);
    void connected(conn_slot& s);
    void connect_failed(conn_slot& s, error e);
    void start_backoff(time_point now);
    void start_ping(conn_slot& s, time_point now);
    void on_ping_done(conn_slot* s, std::uint32_t epoch, result<void> r);
    void start_reset(conn_slot& s);
    void reset_step(conn_slot& s);
    void on_reset_step(conn_slot* s, std::uint32_t epoch, result<void> r);
    void discard(conn_slot& s) noexcept;
    void flush_graveyard() noexcept;
    void invalidate_all(const error& cause);
    /// invalidate_all for a server whose role changed (connection::role_lost).
    void invalidate_for_role(const connection& c) noexcept;

    // Timers: idle sweep and leak check (pool_maintenance.cpp).
    time_point sweep_due() const noexcept;
    void maybe_schedule_sweep();
    void on_sweep();
    void on_leak_check();

    // Queries through the pool (pool_query.cpp).
    query_op* new_op();
    void free_op(query_op* op) noexcept;
    void run_query(conn_slot& s, std::string_view sql, params p, query_op* op,
                   const std::stop_token* stop, std::source_location where);
    void on_query_done(query_op* op, result<result_set> r);
    static void on_query_stopped(pool_core& core, void* record, std::uint32_t ticket);
    /// The slot a lease holds, taken over without giving it back (the lease
    /// is left empty).
    conn_slot* adopt(lease& l) noexcept;
    // Pipelining (pool_query.cpp).
    /// The connection a pool.query may be pipelined onto now, or nullptr.
    /// `pipelining_only`: only a connection whose driver sends statements
    /// ahead (pipeline_depth() > 1), not one that would queue them.
    conn_slot* pick_shared(time_point now, bool pipelining_only) noexcept;
    /// run_query on a connection already carrying statements, counted as pipelined.
    void run_shared(conn_slot& s, std::string_view sql, params p, query_op* op,
                    const std::stop_token* stop, std::source_location where);
    /// Pipelines the pool.query callers at the front of the queue while a
    /// connection has room for them (stops at the first lease caller).
    void share_with_waiters();
    /// Opens one more connection, up to `size`, when a pool.query was
    /// pipelined because none was idle: the pool still grows with its load.
    void grow_for_sharing();

    // Statement timing, hooks, slow-query log (query_hooks.cpp, slow_query_log.cpp).
    void trace_begin(stmt_trace& t, const connection& c, std::string_view sql, const params* p,
                     std::source_location where, bool script);
    void trace_end(stmt_trace& t, const error* err, std::uint64_t rows) noexcept;
    void log_slow(const stmt_trace& t, const statement_outcome& out) const;
    /// pool_options::transaction_pooler: the refusal for `sql` on `c`, if
    /// any (transaction_pooler_guard.hpp); call only when guard_statements_.
    std::optional<error> pooler_refusal(const connection& c, std::string_view sql);

    // Drain (pool_drain.cpp).
    void drain_returned() noexcept;
    void finish_drain(bool deadline_reached, bool deliver_now) noexcept;

    // Messages (pool_messages.cpp).
    error timeout_error(const waiter& w, time_point now) const;
    error full_error() const;
    error breaker_error() const;  // circuit_breaker.cpp
    void report_leak(conn_slot& s, time_point now);

    event_loop& loop_;
    std::shared_ptr<driver> driver_;
    pool_options opts_;
    std::shared_ptr<timer_source> timers_;
    std::size_t refs_ = 1;  // the pool handle's
    bool closed_ = false;

    // Precomputed from opts_ for the hot path.
    timer_source::clock::duration ping_threshold_;
    std::size_t max_total_;

    slot_table slots_;
    intrusive_list<waiter> waiters_;  // FIFO
    free_list<waiter> waiter_records_;
    free_list<query_op> op_records_;
    free_list<stmt_op> stmt_records_;

    // Statements: whether anything looks at them after they ran (hooks or
    // the slow-query log), precomputed so the plain path tests one flag.
    bool observe_statements_ = false;
    timer_source::clock::duration slow_threshold_{};
    wait_histogram operation_time_;
    // pool_options::transaction_pooler: statements are read for what cannot
    // work behind a transaction pooler; off, the path tests this one flag.
    bool guard_statements_ = false;
    transaction_pooler_guard pooler_guard_;

    // pool.query pipelining (pool_query.cpp): the depth (below 2: off), the
    // front-age limit, how long a slot may stay out being shared (so that it
    // comes back for pre-ping, recycle and leak accounting), and how many
    // slots pool.query holds now.
    std::size_t share_depth_ = 0;
    timer_source::clock::duration max_front_age_{};
    timer_source::clock::duration share_span_{};
    std::size_t query_slots_ = 0;
    std::uint64_t pipelined_ = 0;
    // pool.query statements in flight on slots that carry more than one.
    std::size_t pipelined_in_flight_ = 0;

    // Drain: from drain() until the last lease came back or the deadline.
    bool draining_ = false;
    struct drain_state {
        time_point started{};
        std::size_t leases_at_start = 0;
        std::size_t finished = 0;
        timer_source::handle timer = 0;
        std::vector<unique_function<void(drain_report)>> callbacks;
        core_ref keep;  // the drain outlives the pool handle
    };
    std::unique_ptr<drain_state> drain_;

    // Connections closed but not yet destroyed: a connection may be closed
    // from inside its own callback, but destroyed only after it returned.
    std::vector<std::unique_ptr<connection>> graveyard_;
    // Password requests of connecting slots, cancelled when the pool closes:
    // each holds a reference to this core, and the provider is held by opts_.
    std::vector<std::uint64_t> password_tickets_;
    bool flush_scheduled_ = false;

    std::uint64_t generation_ = 1;
    std::size_t consecutive_failures_ = 0;
    std::optional<error> last_connect_error_;
    bool in_backoff_ = false;
    bool reset_failure_warned_ =
        false;  // the first failed reset of a returned connection was logged as a warning
    std::uint64_t closing_hook_ = 0;  // event_loop::add_closing_hook; 0 once run
    timer_source::handle backoff_timer_ = 0;
    timer_source::handle sweep_timer_ = 0;
    time_point sweep_at_{};  // when sweep_timer_ fires
    timer_source::handle leak_timer_ = 0;
    // Overflow delay: a moving average of how long connects took (negative
    // until one succeeded), and the timer that re-runs dispatch() when the
    // first uncovered waiter has waited long enough.
    double connect_time_ms_ = -1.0;
    timer_source::handle grow_timer_ = 0;
    time_point grow_at_{};
    std::mt19937_64 rng_;
    circuit_breaker breaker_;
    time_point backoff_at_{};  // when backoff_timer_ fires
    time_point created_at_{};

    // Counters (see pool_stats).
    std::uint64_t acquires_ = 0, timeouts_ = 0, rejected_ = 0, connects_ = 0, connect_failures_ = 0,
                  pings_ = 0, ping_failures_ = 0, recycled_ = 0, invalidated_ = 0,
                  leaks_reported_ = 0, closed_broken_ = 0, idle_closed_ = 0, overflow_closed_ = 0,
                  breaker_rejected_ = 0;
    std::size_t peak_checked_out_ = 0;
    wait_histogram wait_time_;
    wait_histogram create_time_, use_time_;  // connect durations, lease hold times
};

/// Rows a statement affected or returned, for the hooks (query_hooks.cpp).
std::uint64_t statement_rows(const result_set& r) noexcept;

/// Text helpers shared by the messages (pool_messages.cpp).
std::string format_duration(std::chrono::milliseconds d);
std::string format_location(const std::source_location& where);

}  // namespace uvdb::detail
