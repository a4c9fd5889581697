// The pool's acquire / hand-out / return logic. Connections' own life
// (connect, ping, reset, discard) is in pool_connections.cpp.

#include "pool_core.hpp"

#include <algorithm>
#include <cassert>
#include <utility>
#include <uvdb/credentials.hpp>

namespace uvdb::detail {

namespace {
using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

std::uint64_t seed_from(std::uint64_t configured) {
    if (configured != 0) return configured;
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}
}  // namespace

pool_core::pool_core(event_loop& loop, std::shared_ptr<driver> drv, pool_options opts,
                     std::shared_ptr<timer_source> timers)
    : loop_(loop),
      driver_(std::move(drv)),
      opts_(std::move(opts)),
      timers_(std::move(timers)),
      ping_threshold_(opts_.pre_ping ? timer_source::clock::duration(opts_.pre_ping_idle_threshold)
                                     : timer_source::clock::duration::max()),
      max_total_(opts_.max_total()),
      observe_statements_(opts_.hooks != nullptr || opts_.slow_query_threshold.count() > 0),
      slow_threshold_(opts_.slow_query_threshold),
      guard_statements_(opts_.transaction_pooler),
      rng_(seed_from(opts_.random_seed)),
      breaker_(opts_.breaker_threshold) {
    if (!timers_) timers_ = make_loop_timer_source(loop_);
    created_at_ = timers_->now();
    if (opts_.pipeline_depth > 1) {
        // Otherwise connect_options' own depth stays: what a lease's caller
        // issues on its connection is not the pool's business.
        opts_.connection.pipeline_depth = opts_.pipeline_depth;
        share_depth_ = opts_.pipeline_depth;
        max_front_age_ = opts_.pipeline_max_front_age;
        // A shared slot stops taking statements after this long out, so it
        // drains and comes back (pre-ping, recycle, reset happen at checkout
        // from idle; a lease waiter gets it) and is never reported as leaked
        // while busy with short statements.
        using dur = timer_source::clock::duration;
        share_span_ = std::chrono::seconds(1);
        if (opts_.leak_threshold.count() > 0)
            share_span_ = std::min<dur>(share_span_, opts_.leak_threshold / 2);
    }
    closing_hook_ = loop_.add_closing_hook([this] { on_loop_closing(); });
}

pool_core::~pool_core() {
    if (closing_hook_ != 0) loop_.remove_closing_hook(closing_hook_);
    // Normally close() ran long ago; this only guards against timers that a
    // shared (test) timer source would otherwise fire into freed memory.
    timers_->cancel(backoff_timer_);
    timers_->cancel(sweep_timer_);
    timers_->cancel(leak_timer_);
    timers_->cancel(grow_timer_);
    waiters_.for_each([this](waiter& w) { timers_->cancel(w.timer); });
}

void pool_core::start() { dispatch(); }

// ---------------------------------------------------------------- records

waiter* pool_core::new_waiter() { return waiter_records_.get(); }

void pool_core::free_waiter(waiter* w) noexcept {
    w->stop.disarm();  // the caller holds a reference (complete() runs from deliver's)
    w->slot = nullptr;
    w->query = nullptr;
    w->timer = 0;
    waiter_records_.put(w);
}

// ---------------------------------------------------------------- acquire

conn_slot* pool_core::try_checkout(std::source_location where) {
    intrusive_list<conn_slot>& idle = slots_.idle();
    if (closed_ || !waiters_.empty() || idle.empty()) return nullptr;
    conn_slot* s = opts_.order == idle_order::lifo ? &idle.back() : &idle.front();
    // Not the cached loop time: after a slow callback it would make a
    // connection idle past the ping threshold look fresh, and skip its ping.
    const time_point now = timers_->fresh_now();
    // Anything unusual (ping due, too old, invalidated, broken) goes the slow
    // way through dispatch(), which knows how to deal with it.
    if (needs_ping(*s, now) || judge_reuse(*s, generation_, now) != reuse_verdict::reuse)
        return nullptr;
    ++acquires_;
    wait_time_.record_immediate();
    checkout(*s, now, where);
    if (idle.size() < opts_.min_idle) dispatch();  // keep min_idle connections ready
    return s;
}

milliseconds pool_core::acquire_timeout(const call_options* co) const noexcept {
    if (co == nullptr || co->timeout.count() < 0) return opts_.timeout;
    if (co->timeout.count() == 0) return milliseconds::max();  // no deadline
    return co->timeout;
}

void pool_core::acquire(acquire_callback cb, milliseconds timeout, std::source_location where,
                        const std::stop_token* stop, query_op* query) {
    if (stop != nullptr && stop->stop_requested()) {
        waiter* w = new_waiter();
        w->cb = std::move(cb);
        w->err =
            error(errc::cancelled, "the acquire was abandoned (stop requested) before it began");
        deliver(w);
        return;
    }
    if (conn_slot* s = try_checkout(where)) {
        waiter* w = new_waiter();
        w->cb = std::move(cb);
        w->slot = s;
        deliver(w);
        return;
    }
    ++acquires_;
    if (closed_) {
        reject(std::move(cb),
               error(errc::pool_closed,
                     draining_ ? "the pool is draining (pool.drain() was called): it hands out no "
                                 "more connections"
                               : "the pool is closed; acquire after close() is not possible"));
        return;
    }
    if (!breaker_.is_closed() && slots_.idle().empty()) {
        ++breaker_rejected_;
        reject(std::move(cb), breaker_error());
        return;
    }
    if (opts_.max_waiters != 0 && waiters_.size() >= opts_.max_waiters) {
        reject(std::move(cb), full_error());
        return;
    }
    // The caller waits: its deadline counts from now, not from the loop's
    // cached time, which is as old as the callback we are called from (or
    // older, when the thread blocked before calling). One clock read, on the
    // slow path only.
    loop_.update_time();
    enqueue(std::move(cb), timeout, where, timers_->now(), query);
    if (stop != nullptr && stop->stop_possible()) {
        waiter& w = waiters_.back();
        w.stop.arm(*stop, *this, &pool_core::on_waiter_stopped, &w);
    }
    dispatch();
    if (query != nullptr) share_with_waiters();
}

void pool_core::on_waiter_stopped(pool_core& core, void* record, std::uint32_t ticket) {
    auto* w = static_cast<waiter*>(record);
    // Served, timed out or failed meanwhile (the record may even serve
    // another acquire now): nothing to abandon.
    if (w->stop.ticket() != ticket || w->timer == 0) return;
    core.waiters_.erase(*w);
    core.timers_->cancel(w->timer);
    w->timer = 0;
    w->err = error(errc::cancelled, "the acquire was abandoned (stop requested) while waiting");
    core.deliver(w);
}

void pool_core::enqueue(acquire_callback cb, milliseconds timeout, std::source_location where,
                        time_point now, query_op* query) {
    waiter* w = new_waiter();
    w->cb = std::move(cb);
    w->query = query;
    w->where = where;
    w->enqueued_at = now;
    // Clamped so that "wait forever" (milliseconds::max()) cannot overflow the clock.
    constexpr milliseconds longest = std::chrono::hours(24 * 365 * 100);
    w->deadline = now + std::clamp(timeout, milliseconds{0}, longest);
    w->timer = timers_->schedule(w->deadline, [this, w] {
        w->timer = 0;
        on_waiter_timeout(w);
    });
    waiters_.push_back(*w);
}

void pool_core::reject(acquire_callback cb, error e) {
    ++rejected_;
    waiter* w = new_waiter();
    w->cb = std::move(cb);
    w->err = std::move(e);
    deliver(w);
}

void pool_core::deliver(waiter* w) {
    // Two pointers: fits unique_function's inline buffer, so no allocation.
    loop_.defer([ref = core_ref(this), w] { ref->complete(w); });
}

void pool_core::complete(waiter* w) {
    acquire_callback cb = std::move(w->cb);
    conn_slot* s = w->slot;
    if (s == nullptr) {
        error e = std::move(w->err);
        free_waiter(w);
        cb(std::move(e));
        return;
    }
    free_waiter(w);
    if (closed_) {
        // Closed between hand-out and delivery: no lease after close.
        checkin(s, lease::mode::normal, nullptr);
        cb(error(errc::pool_closed, "the pool was closed while this acquire was being served"));
        return;
    }
    cb(make_lease(s));
}

void pool_core::checkout(conn_slot& s, time_point now, std::source_location where) {
    s.checked_out_at = now;
    s.acquired_at = where;
    slots_.set_state(s, slot_state::leased);
    peak_checked_out_ = std::max(peak_checked_out_, slots_.lent_count());
    if (opts_.leak_threshold.count() > 0 && leak_timer_ == 0) {
        leak_timer_ = timers_->schedule(now + opts_.leak_threshold, [this] {
            leak_timer_ = 0;
            on_leak_check();
        });
    }
    if (opts_.on_checkout) opts_.on_checkout(*s.conn);
}

void pool_core::give(conn_slot& s, waiter& w, time_point now) {
    waiters_.erase(w);
    timers_->cancel(w.timer);
    w.timer = 0;
    wait_time_.record(duration_cast<microseconds>(now - w.enqueued_at));
    checkout(s, now, w.where);
    w.slot = &s;
    deliver(&w);
}

conn_slot* pool_core::take_idle(time_point now) {
    intrusive_list<conn_slot>& idle = slots_.idle();
    while (!idle.empty()) {
        conn_slot& s = opts_.order == idle_order::lifo ? idle.back() : idle.front();
        const reuse_verdict v = judge_reuse(s, generation_, now);
        if (v == reuse_verdict::reuse) {
            slots_.set_state(s, slot_state::detached);
            return &s;
        }
        // A stale one (opened before the server went away) is replaced without a ping.
        discard_for(s, v);
    }
    return nullptr;
}

void pool_core::discard_for(conn_slot& s, reuse_verdict v) noexcept {
    switch (v) {
        case reuse_verdict::stale:
            ++invalidated_;
            break;
        case reuse_verdict::expired:
            ++recycled_;
            break;
        case reuse_verdict::broken:
        case reuse_verdict::busy:
            ++closed_broken_;
            break;
        case reuse_verdict::role_lost:
            // Like a server that went away: what was opened to it before now
            // is suspect too (a demoted primary's other sessions).
            ++invalidated_;
            invalidate_for_role(*s.conn);
            break;
        case reuse_verdict::reuse:
            assert(false);
            break;
    }
    discard(s);
}

void pool_core::make_available(conn_slot& s, time_point now) {
    if (!waiters_.empty()) {
        give(s, waiters_.front(), now);
        return;
    }
    const bool overflow = slots_.total() > opts_.size;
    if (overflow && opts_.overflow_linger.count() == 0) {
        discard(s);  // QueuePool: overflow connections do not stay
        return;
    }
    slots_.set_state(s, slot_state::idle);
    // An overflow connection lingers: the sweep closes it once it has sat
    // idle for overflow_linger (the oldest idle ones go first).
    if (overflow || opts_.idle_timeout.count() > 0) maybe_schedule_sweep();
}

void pool_core::dispatch() {
    if (closed_) return;
    if (!waiters_.empty()) {
        const time_point now = timers_->fresh_now();  // ping decisions: see try_checkout
        // Waiters not yet covered by a connection on its way (connecting or
        // being pinged) take idle connections, pinging those that need it.
        while (waiters_.size() >
               slots_.count(slot_state::connecting) + slots_.count(slot_state::pinging)) {
            conn_slot* s = take_idle(now);
            if (s == nullptr) break;
            if (needs_ping(*s, now)) {
                start_ping(*s, now);
            } else {
                give(*s, waiters_.front(), now);
            }
        }
        // Breaker open, no idle connection left (a pre-ping failed, say):
        // the pool opens none for them, so callers nothing is on its way for
        // fail now rather than at their timeout (the latest first).
        if (!breaker_.is_closed() && slots_.idle().empty()) {
            const std::size_t covered =
                slots_.count(slot_state::connecting) + slots_.count(slot_state::pinging);
            while (waiters_.size() > covered) {
                waiter& w = waiters_.back();
                waiters_.erase(w);
                timers_->cancel(w.timer);
                w.timer = 0;
                ++breaker_rejected_;
                w.err = breaker_error();
                deliver(&w);
            }
        }
    }
    for (;;) {
        const std::size_t connecting = slots_.count(slot_state::connecting);
        const std::size_t covered = connecting + slots_.count(slot_state::pinging);
        const std::size_t total = slots_.total();
        const bool for_waiters = waiters_.size() > covered;
        const bool for_min_idle =
            slots_.idle().size() + connecting < opts_.min_idle && total < opts_.size;
        if (!for_waiters && !for_min_idle) break;
        if (total >= max_total_ || connecting >= opts_.max_connecting || in_backoff_) break;
        if (!breaker_.is_closed()) break;  // only the back-off timer's probe connects
        // Up to `size`, connections open at once; beyond it only for a
        // caller that has waited out the overflow delay.
        if (!for_min_idle && total >= opts_.size && !overflow_due(covered, timers_->now())) break;
        start_connect();
    }
}

timer_source::clock::duration pool_core::overflow_delay(const waiter& w) const noexcept {
    using dur = timer_source::clock::duration;
    dur d{};
    if (opts_.overflow_delay) {
        d = *opts_.overflow_delay;
    } else if (connect_time_ms_ >= 0) {
        d = std::min<dur>(
            duration_cast<dur>(std::chrono::duration<double, std::milli>(connect_time_ms_)),
            pool_defaults::overflow_delay_auto_cap);
    }
    // A caller with a short timeout must not spend half of it waiting only
    // to find no connection was started for it.
    return std::min<dur>(d, (w.deadline - w.enqueued_at) / 2);
}

bool pool_core::overflow_due(std::size_t covered, time_point now) {
    waiter* w = waiters_.nth(covered);
    if (w == nullptr) return false;
    const time_point due = w->enqueued_at + overflow_delay(*w);
    if (now >= due) return true;
    // Waiters are in arrival order, so this one ripens first. One timer for
    // the pool: keep an earlier one, it will re-run dispatch() anyway.
    if (grow_timer_ == 0 || due < grow_at_) {
        timers_->cancel(grow_timer_);
        grow_at_ = due;
        grow_timer_ = timers_->schedule(due, [this] {
            grow_timer_ = 0;
            dispatch();
        });
    }
    return false;
}

void pool_core::record_connect_time(timer_source::clock::duration took) noexcept {
    const double ms = std::chrono::duration<double, std::milli>(took).count();
    // Weight 1/4: follows a slower network within a few connects, while one
    // slow handshake does not make the pool hesitate for long.
    connect_time_ms_ = connect_time_ms_ < 0 ? ms : connect_time_ms_ + (ms - connect_time_ms_) / 4;
}

void pool_core::on_waiter_timeout(waiter* w) {
    const time_point now = timers_->now();
    w->err = timeout_error(*w, now);
    waiters_.erase(*w);
    ++timeouts_;
    deliver(w);
    dispatch();
}

void pool_core::fail_all_waiters(const error& e) {
    while (!waiters_.empty()) {
        waiter& w = waiters_.front();
        waiters_.erase(w);
        timers_->cancel(w.timer);
        w.timer = 0;
        w.err = e;
        deliver(&w);
    }
}

// ---------------------------------------------------------------- return

void pool_core::checkin(conn_slot* s, lease::mode m, const error* cause) noexcept {
    // The slot stays leased (or leaked) while the return is decided, and
    // moves once, straight to where it goes: this runs on every release.
    assert(lent(s->state));
    const time_point now = timers_->now();
    use_time_.record(duration_cast<microseconds>(now - s->checked_out_at));
    if (closed_) {
        discard(*s);
        if (draining_) drain_returned();
        return;
    }
    connection& c = *s->conn;
    const bool in_transaction = c.transaction_status() != tx_status::idle;
    // A connection inside a transaction (open or failed) must never reach the
    // next caller as it is (docs/FAULTS.md row 16): given back "without reset" by
    // mistake, it is reset all the same; in a pool configured not to reset
    // on return, it is discarded.
    if (m == lease::mode::no_reset && in_transaction) m = lease::mode::normal;
    if (m == lease::mode::normal && in_transaction && !opts_.reset_on_return)
        m = lease::mode::invalidate;
    if (m == lease::mode::invalidate) {
        ++invalidated_;
        if (cause != nullptr && cause->server_gone()) invalidate_all(*cause);
        discard(*s);
        dispatch();
        return;
    }
    if (const reuse_verdict v = judge_reuse(*s, generation_, now); v != reuse_verdict::reuse) {
        // Broken, returned with a statement still running, stale or too old: never reuse.
        discard_for(*s, v);
        dispatch();
        return;
    }
    // judge_reuse found it idle; only on_checkin can have started a statement.
    bool hook_started_statement = false;
    if (opts_.on_checkin) {
        // User code sees the connection as returned (not checked out) in stats().
        slots_.set_state(*s, slot_state::detached);
        opts_.on_checkin(c);
        hook_started_statement = !c.is_idle();
    }
    if (hook_started_statement ||
        (m == lease::mode::normal && (in_transaction || !opts_.reset_query.empty()))) {
        // A rollback or the reset query is due, or on_checkin started a
        // statement: the connection is reused once that work has finished.
        s->reset_query_due = m == lease::mode::normal && !opts_.reset_query.empty();
        start_reset(*s);
        return;
    }
    s->idle_since = now;
    make_available(*s, now);
    dispatch();
}

// ---------------------------------------------------------------- close

void pool_core::on_loop_closing() noexcept {
    // The loop is being destroyed; nothing on it can run later. A statement
    // still in flight holds its lease (in its callback), the lease holds this
    // core: closing the connection completes the callback with errc::closed,
    // which releases the lease, which frees the connection and, last, us.
    closing_hook_ = 0;
    core_ref keep(this);
    close();
    if (draining_) finish_drain(false, true);
    slots_.for_each([](conn_slot& s) {
        if (lent(s.state)) s.conn->close();
    });
}

void pool_core::close() noexcept {
    if (closed_) return;
    closed_ = true;
    timers_->cancel(backoff_timer_);
    timers_->cancel(sweep_timer_);
    timers_->cancel(leak_timer_);
    timers_->cancel(grow_timer_);
    backoff_timer_ = sweep_timer_ = leak_timer_ = grow_timer_ = 0;
    fail_all_waiters(
        error(errc::pool_closed, "the pool was closed while waiting for a connection"));
    // A provider that answers later must not find this pool, and its waiting
    // requests (each holding the core) must not keep the pool alive.
    if (const auto& provider = opts_.connection.password_provider) {
        for (const auto t : password_tickets_) provider->cancel(t);
    }
    password_tickets_.clear();
    // Leased connections close when their lease is dropped; every other one now.
    slots_.for_each([this](conn_slot& s) {
        switch (s.state) {
            case slot_state::idle:
            case slot_state::connecting:
            case slot_state::pinging:
            case slot_state::resetting:
                discard(s);
                break;
            default:
                break;
        }
    });
}

// ---------------------------------------------------------------- stats

std::chrono::milliseconds pool_core::longest_held() const {
    const conn_slot* oldest = nullptr;
    if (!slots_.leaked().empty()) {
        oldest = &slots_.leaked().front();
    } else if (!slots_.leased().empty()) {
        oldest = &slots_.leased().front();
    }
    if (oldest == nullptr) return milliseconds{0};
    return duration_cast<milliseconds>(timers_->now() - oldest->checked_out_at);
}

pool_stats pool_core::stats() const {
    pool_stats st;
    st.size = opts_.size;
    st.max_overflow = opts_.max_overflow;
    st.checked_out = slots_.lent_count();
    st.idle = slots_.idle().size();
    st.waiting = waiters_.size();
    st.connecting = slots_.count(slot_state::connecting);
    st.pending = slots_.count(slot_state::pinging) + slots_.count(slot_state::resetting);
    st.total = slots_.total();
    st.overflow = st.total > opts_.size ? st.total - opts_.size : 0;
    // A draining pool refuses acquires like a closed one, but is not closed yet.
    st.closed = closed_ && !draining_;
    st.draining = draining_;
    st.operation_time = operation_time_;
    st.acquires = acquires_;
    st.timeouts = timeouts_;
    st.rejected = rejected_;
    st.connects = connects_;
    st.connect_failures = connect_failures_;
    st.pings = pings_;
    st.ping_failures = ping_failures_;
    st.recycled = recycled_;
    st.invalidated = invalidated_;
    st.leaks_reported = leaks_reported_;
    st.closed_broken = closed_broken_;
    st.idle_closed = idle_closed_;
    st.overflow_closed = overflow_closed_;
    st.pipelined = pipelined_;
    st.pipelined_in_flight = pipelined_in_flight_;
    st.wait_time = wait_time_;
    st.create_time = create_time_;
    st.use_time = use_time_;
    st.peak_checked_out = peak_checked_out_;
    st.breaker = breaker_.state();
    st.breaker_opened = breaker_.times_opened();
    st.breaker_rejected = breaker_rejected_;
    if (breaker_.state() == breaker_state::open && backoff_timer_ != 0) {
        st.breaker_retry_in = std::chrono::ceil<milliseconds>(
            std::max(backoff_at_ - timers_->now(), timer_source::clock::duration::zero()));
    }
    st.uptime = duration_cast<milliseconds>(timers_->now() - created_at_);
    if (connect_time_ms_ >= 0) {
        st.connect_time = duration_cast<microseconds>(
            std::chrono::duration<double, std::milli>(connect_time_ms_));
    }
    st.longest_held = longest_held();
    if (!slots_.leaked().empty()) {
        st.longest_held_at = slots_.leaked().front().acquired_at;
    } else if (!slots_.leased().empty()) {
        st.longest_held_at = slots_.leased().front().acquired_at;
    }
    return st;
}

}  // namespace uvdb::detail
