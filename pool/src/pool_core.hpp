#pragma once
/// \file
/// The pool's shared state and state machine. `pool` is a handle on it;
/// leases and in-flight callbacks hold counted references, so it lives until
/// the last of them is gone (loop thread only, so the count is not atomic).
///
/// A connection slot moves through these states:
///
///   connecting ──ok──▶ (to a waiter: leased) or idle
///        │ fail ─▶ discarded, back-off
///   idle ──checkout──▶ leased            (fresh enough: no ping)
///   idle ──checkout──▶ pinging ──ok──▶ leased / idle;  fail ─▶ discarded
///   leased ──return──▶ resetting ──ok──▶ idle / leased;  fail ─▶ discarded
///   leased ──return──▶ idle / leased     (transaction idle: no reset needed)
///   any ──(broken, expired, invalidated, overflow, close)──▶ discarded
///
/// "detached" marks a slot between two of these inside one call.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <source_location>
#include <string>
#include <vector>

#include "timer_source.hpp"
#include <uvdb/driver.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/lease.hpp>
#include <uvdb/pool_options.hpp>
#include <uvdb/pool_stats.hpp>

#include "intrusive_list.hpp"

namespace uvdb::detail {

using time_point = timer_source::time_point;

enum class slot_state : std::uint8_t { free, detached, connecting, idle, pinging, leased, resetting };

struct conn_slot : list_node {
    std::unique_ptr<connection> conn;
    time_point created_at{};      // when its connect started, then when it connected
    time_point idle_since{};      // when it last became idle (or was pinged OK)
    time_point expires_at{};      // recycle deadline (with jitter); max() = never
    time_point checked_out_at{};
    std::source_location acquired_at{};
    std::uint64_t generation = 0;  // pool generation when it connected
    std::uint32_t epoch = 0;       // bumped when the slot is freed: stale callbacks see a change
    slot_state state = slot_state::free;
    bool leak_reported = false;
    bool reset_query_due = false;  // pool_options::reset_query still to run on this return
    conn_slot* next_free = nullptr;
};

/// One acquire in flight: waiting in the queue, or served and about to be
/// delivered. Records are reused, so steady state allocates nothing.
struct waiter : list_node {
    unique_function<void(result<lease>)> cb;
    std::source_location where{};
    time_point enqueued_at{};
    time_point deadline{};
    timer_source::handle timer = 0;
    conn_slot* slot = nullptr;  // served with this (already checked out)
    error err;                  // or failed with this
    waiter* next_free = nullptr;
};

/// pool::query's state while its statement waits for a connection or runs.
struct query_op {
    unique_function<void(result<result_set>)> cb;
    std::string sql;  // copied only when it must wait for a connection
    params args;
    query_op* next_free = nullptr;
};

class pool_core;

/// A counted reference to the core, for callbacks that may outlive the pool handle.
class core_ref {
public:
    explicit core_ref(pool_core* p) noexcept;
    core_ref(core_ref&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
    core_ref& operator=(core_ref&&) = delete;
    core_ref(const core_ref&) = delete;
    ~core_ref();
    pool_core* operator->() const noexcept { return p_; }
    pool_core* get() const noexcept { return p_; }

private:
    pool_core* p_;
};

class pool_core {
public:
    using acquire_callback = unique_function<void(result<lease>)>;
    using query_callback = unique_function<void(result<result_set>)>;

    pool_core(event_loop& loop, std::shared_ptr<driver> drv, pool_options opts,
              std::shared_ptr<timer_source> timers);
    ~pool_core();
    pool_core(const pool_core&) = delete;
    pool_core& operator=(const pool_core&) = delete;

    void add_ref() noexcept { ++refs_; }
    void release_ref() noexcept {
        if (--refs_ == 0) delete this;
    }

    /// Opens min_idle connections; called once after construction.
    void start();

    void acquire(acquire_callback cb, std::chrono::milliseconds timeout, std::source_location where);
    /// The fast path: checks out an idle connection that needs no ping when
    /// nobody waits. nullptr when that is not possible.
    conn_slot* try_checkout(std::source_location where);
    lease make_lease(conn_slot* s) noexcept { return lease(this, s, s->conn.get()); }

    void query(std::string_view sql, params p, query_callback cb, std::source_location where);

    /// A lease gives its connection back.
    void checkin(conn_slot* s, lease::mode m, const error* cause) noexcept;
    void close() noexcept;
    /// The loop is being destroyed: close the pool and every connection, leased ones too.
    void on_loop_closing() noexcept;
    bool closed() const noexcept { return closed_; }

    pool_stats stats() const;
    std::chrono::milliseconds longest_held() const;
    const std::optional<error>& last_connect_error() const noexcept { return last_connect_error_; }
    const pool_options& options() const noexcept { return opts_; }
    event_loop& loop() const noexcept { return loop_; }
    time_point now() const noexcept { return timers_->now(); }

private:
    friend class core_ref;

    // Acquire and hand-out (pool_core.cpp).
    waiter* new_waiter();
    void free_waiter(waiter* w) noexcept;
    void enqueue(acquire_callback cb, std::chrono::milliseconds timeout, std::source_location where,
                 time_point now);
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
    void fail_all_waiters(const error& e);
    void unlink_leased(conn_slot& s) noexcept;
    bool needs_ping(const conn_slot& s, time_point now) const noexcept {
        return now - s.idle_since >= ping_threshold_;
    }
    bool expired(const conn_slot& s, time_point now) const noexcept { return now >= s.expires_at; }

    // Connections: connect, ping, reset, discard (pool_connections.cpp).
    conn_slot* new_slot();
    void start_connect();
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

    // Timers: idle sweep and leak check (pool_maintenance.cpp).
    time_point sweep_due() const noexcept;
    void maybe_schedule_sweep();
    void on_sweep();
    void on_leak_check();

    // Queries through the pool (pool_query.cpp).
    query_op* new_op();
    void free_op(query_op* op) noexcept;
    void run_query(lease l, std::string_view sql, params p, query_op* op);

    // Messages (pool_messages.cpp).
    error timeout_error(const waiter& w, time_point now) const;
    error full_error() const;
    void report_leak(conn_slot& s, time_point now);

    event_loop& loop_;
    std::shared_ptr<driver> driver_;
    pool_options opts_;
    std::shared_ptr<timer_source> timers_;
    std::size_t refs_ = 1;
    bool closed_ = false;

    // Precomputed from opts_ for the hot path.
    timer_source::clock::duration ping_threshold_;
    std::size_t max_total_;

    intrusive_list<conn_slot> idle_;    // oldest idle_since first
    intrusive_list<conn_slot> leased_;  // oldest checkout first, not yet reported as leaked
    intrusive_list<conn_slot> leaked_;  // reported as leaked, oldest checkout first
    intrusive_list<waiter> waiters_;    // FIFO
    std::size_t n_connecting_ = 0;
    std::size_t n_pinging_ = 0;
    std::size_t n_resetting_ = 0;
    std::size_t total_ = 0;

    std::vector<std::unique_ptr<conn_slot>> slot_store_;
    conn_slot* free_slots_ = nullptr;
    std::vector<std::unique_ptr<waiter>> waiter_store_;
    waiter* free_waiters_ = nullptr;
    std::vector<std::unique_ptr<query_op>> op_store_;
    query_op* free_ops_ = nullptr;

    // Connections closed but not yet destroyed: a connection may be closed
    // from inside its own callback, but destroyed only after it returned.
    std::vector<std::unique_ptr<connection>> graveyard_;
    bool flush_scheduled_ = false;

    std::uint64_t generation_ = 1;
    std::size_t consecutive_failures_ = 0;
    std::optional<error> last_connect_error_;
    bool in_backoff_ = false;
    bool reset_failure_warned_ = false;  // the first failed reset of a returned connection was logged as a warning
    std::uint64_t closing_hook_ = 0;     // event_loop::add_closing_hook; 0 once run
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

    // Counters (see pool_stats).
    std::uint64_t acquires_ = 0, timeouts_ = 0, rejected_ = 0, connects_ = 0, connect_failures_ = 0,
                  pings_ = 0, ping_failures_ = 0, recycled_ = 0, invalidated_ = 0,
                  leaks_reported_ = 0, closed_broken_ = 0, idle_closed_ = 0,
                  overflow_closed_ = 0;
    wait_histogram wait_time_;
};

inline core_ref::core_ref(pool_core* p) noexcept : p_(p) { p_->add_ref(); }
inline core_ref::~core_ref() {
    if (p_ != nullptr) p_->release_ref();
}

/// Text helpers shared by the messages (pool_messages.cpp).
std::string format_duration(std::chrono::milliseconds d);
std::string format_location(const std::source_location& where);

}  // namespace uvdb::detail
