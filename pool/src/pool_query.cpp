// pool::query: acquire + one statement + release, without allocating in
// steady state (operation records are reused; the SQL text is copied only
// when the statement has to wait for a connection).
//
// pool.query holds its connection without a lease: the slot lists the
// statements running on it (conn_slot::queries) and goes back to the pool
// when the last of them has been answered. With pipeline_depth > 1 several
// pool.query statements may share one connection (pipelining); the rule is
// in pick_shared() and docs/CONNECTION_POOLING.md ("Pipelining").

#include <algorithm>
#include <utility>

#include "pool_core.hpp"

namespace uvdb::detail {

namespace {
using std::chrono::milliseconds;
}  // namespace

query_op* pool_core::new_op() { return op_records_.get(); }

void pool_core::free_op(query_op* op) noexcept {
    op->stop.disarm();  // the caller holds a reference (the statement's callback)
    op->slot = nullptr;
    op->detached = false;
    op->sql.clear();  // keeps its capacity for the next one
    op->args.clear();
    if (op->has_deadline || op->statement.timeout.count() >= 0 || op->stop_token.stop_possible()) {
        op->statement = query_options{};
        op->has_deadline = false;
        op->stop_token = std::stop_token{};
    }
    op_records_.put(op);
}

conn_slot* pool_core::adopt(lease& l) noexcept {
    conn_slot* s = l.slot_;
    l.core_ = nullptr;
    l.slot_ = nullptr;
    l.conn_ = nullptr;
    release();  // the lease's reference; the caller holds another
    return s;
}

void pool_core::query(std::string_view sql, params p, query_callback cb, std::source_location where,
                      const call_options* co) {
    query_op* op = new_op();
    op->cb = std::move(cb);
    const std::stop_token* stop = nullptr;
    if (co != nullptr) {
        // One deadline for the whole call: the statement gets what the wait left.
        if (co->timeout.count() > 0) {
            loop_.update_time();
            op->has_deadline = true;
            op->deadline = timers_->fresh_now() + co->timeout;
        } else if (co->timeout.count() == 0) {
            op->statement.timeout = milliseconds{0};  // none, whatever the connection's default
        }
        if (co->stop.stop_possible()) stop = &co->stop;
    }
    if (stop == nullptr || !stop->stop_requested()) {
        // A connection takes it now, so the SQL text need not be copied.
        // Nobody may wait in the queue for sharing (a caller there goes
        // first: share_with_waiters).
        const bool share = share_depth_ > 1 && query_slots_ != 0 && waiters_.empty() && !closed_;
        // First a busy connection whose driver pipelines, with room and a
        // young front, even when another is idle: statements packed onto
        // fewer connections cost the server one wake-up per burst instead of
        // one per statement. Measured (docs/CONNECTION_POOLING.md,
        // "Pipelining"): conc_pooled 31,000 q/s spreading over idle
        // connections first, 43,000 packing, p99 10 → 6.5 ms.
        if (share) {
            if (conn_slot* s = pick_shared(timers_->now(), true)) {
                run_shared(*s, sql, std::move(p), op, stop, where);
                return;
            }
        }
        if (conn_slot* s = try_checkout(where)) {
            run_query(*s, sql, std::move(p), op, stop, where);
            return;
        }
        // None idle: a busy one even if its driver only queues.
        if (share) {
            if (conn_slot* s = pick_shared(timers_->now(), false)) {
                run_shared(*s, sql, std::move(p), op, stop, where);
                grow_for_sharing();
                return;
            }
        }
    }
    op->sql.assign(sql);
    op->args = std::move(p);
    if (stop != nullptr) op->stop_token = *stop;
    acquire(
        [this, op](result<lease> r) {
            if (!r) {
                query_callback done = std::move(op->cb);
                free_op(op);
                done(std::move(r).err());
                return;
            }
            lease l = std::move(r).value();
            conn_slot* s = adopt(l);
            // pool.query's call site is where the slot was acquired.
            run_query(*s, op->sql, std::move(op->args), op,
                      op->stop_token.stop_possible() ? &op->stop_token : nullptr, s->acquired_at);
            share_with_waiters();
        },
        acquire_timeout(co), where, stop, share_depth_ > 1 ? op : nullptr);
}

// Which connection takes a pool.query that found none idle. Only one that
// pool.query alone holds (never a lease's: leases and transactions stay
// exclusive), healthy, outside a transaction (a pool.query "BEGIN" ahead
// would swallow the next statements), out for less than share_span_ (it
// must come back now and then for pre-ping, recycle and leak accounting),
// not due for recycling, with fewer than pipeline_depth statements in
// flight, and whose oldest statement in flight was sent less than
// pipeline_max_front_age ago: a statement behind a slow one waits for all
// of it, so a connection whose front has run for a while is left alone
// (the caller waits for a connection instead, and may get an overflow one).
// Among those, the one with the fewest statements in flight (the shortest
// wait behind them), then the one whose front was sent first (it is the
// nearest to its answer). One pass over the slots out: a few dozen at most.
void pool_core::run_shared(conn_slot& s, std::string_view sql, params p, query_op* op,
                           const std::stop_token* stop, std::source_location where) {
    ++pipelined_;
    ++acquires_;
    wait_time_.record_immediate();
    run_query(s, sql, std::move(p), op, stop, where);
}

conn_slot* pool_core::pick_shared(time_point now, bool pipelining_only) noexcept {
    conn_slot* best = nullptr;
    std::size_t best_pending = 0;
    time_point best_front{};
    slots_.leased().for_each([&](conn_slot& s) {
        if (s.queries.empty() || s.query_fault || now - s.checked_out_at >= share_span_ ||
            now >= s.expires_at)
            return;
        const connection& c = *s.conn;
        if (pipelining_only && c.pipeline_depth() < 2) return;
        // The driver's count, or ours where it does not count (a driver that
        // does not pipeline queues them).
        const std::size_t pending = std::max(c.pending(), s.queries.size());
        if (pending >= share_depth_ || c.is_broken() || c.transaction_status() != tx_status::idle)
            return;
        // Likewise when the driver does not say when its front was sent: the
        // oldest pool.query statement on it was handed over no later.
        time_point front = c.front_sent_at();
        if (front == time_point{}) front = s.queries.front().sent_at;
        if (now - front >= max_front_age_) return;
        if (best == nullptr || pending < best_pending ||
            (pending == best_pending && front < best_front)) {
            best = &s;
            best_pending = pending;
            best_front = front;
        }
    });
    return best;
}

void pool_core::share_with_waiters() {
    if (share_depth_ < 2 || closed_ || query_slots_ == 0) return;
    const time_point now = timers_->now();
    // In queue order: a lease caller at the front stops it, since shared
    // connections must drain and come back for it.
    while (!waiters_.empty() && waiters_.front().query != nullptr) {
        conn_slot* s = pick_shared(now, false);
        if (s == nullptr) return;
        waiter& w = waiters_.front();
        waiters_.erase(w);
        timers_->cancel(w.timer);
        w.timer = 0;
        wait_time_.record(
            std::chrono::duration_cast<std::chrono::microseconds>(now - w.enqueued_at));
        query_op* op = w.query;
        const std::source_location where = w.where;
        w.cb = acquire_callback{};  // never called: the statement runs here
        free_waiter(&w);
        ++pipelined_;
        run_query(*s, op->sql, std::move(op->args), op,
                  op->stop_token.stop_possible() ? &op->stop_token : nullptr, where);
    }
}

void pool_core::grow_for_sharing() {
    if (slots_.total() >= opts_.size || slots_.count(slot_state::connecting) != 0 || in_backoff_ ||
        !breaker_.is_closed() || closed_)
        return;
    start_connect();
}

void pool_core::run_query(conn_slot& s, std::string_view sql, params p, query_op* op,
                          const std::stop_token* stop, std::source_location where) {
    connection& c = *s.conn;
    if (guard_statements_) [[unlikely]] {
        if (auto refused = pooler_refusal(c, sql)) {
            // From the loop, never inline. A connection taken for this
            // statement alone goes back unused.
            query_callback done = std::move(op->cb);
            free_op(op);
            loop_.defer([done = std::move(done), e = std::move(*refused)]() mutable { done(e); });
            if (s.queries.empty()) checkin(&s, lease::mode::normal, nullptr);
            return;
        }
    }
    if (op->has_deadline) {
        const auto left = std::chrono::ceil<milliseconds>(op->deadline - timers_->fresh_now());
        // At least 1 ms: 0 would mean "no timeout" to the driver.
        op->statement.timeout = std::max(left, milliseconds{1});
    }
    op->slot = &s;
    op->sent_at = timers_->now();
    const std::size_t n = s.queries.size() + 1;
    if (n == 1) {
        ++query_slots_;
    } else {
        pipelined_in_flight_ += n == 2 ? 2 : 1;
    }
    s.queries.push_back(*op);
    if (stop != nullptr) op->stop.arm(*stop, *this, &pool_core::on_query_stopped, op);
    trace_begin(op->trace, c, sql, &p, where, false);
    // Two pointers: fits unique_function's inline buffer. The reference keeps
    // the core alive until the statement is answered.
    c.query(sql, std::move(p), op->statement,
            [ref = core_ref(this), op](result<result_set> r) mutable {
                ref->on_query_done(op, std::move(r));
            });
}

void pool_core::on_query_done(query_op* op, result<result_set> r) {
    conn_slot& s = *op->slot;
    trace_end(op->trace, r ? nullptr : &r.err(), r ? statement_rows(*r) : 0);
    const std::size_t n = s.queries.size();
    if (n > 1) pipelined_in_flight_ -= n == 2 ? 2 : 1;
    s.queries.erase(*op);
    // Every statement on a connection that failed fatally gets its own error
    // from the driver; the connection is discarded once, after the last.
    if (!r && r.err().is_fatal() && !s.query_fault) s.query_fault = r.err();
    query_callback done = std::move(op->cb);  // empty when detached
    free_op(op);
    if (s.queries.empty()) {
        --query_slots_;
        if (s.query_fault) {
            const error cause = std::move(*s.query_fault);
            s.query_fault.reset();
            checkin(&s, lease::mode::invalidate, &cause);
        } else {
            checkin(&s, lease::mode::normal, nullptr);
        }
    } else if (!waiters_.empty()) {
        share_with_waiters();  // room on this connection now, its front newer
    }
    if (done) done(std::move(r));
}

void pool_core::on_query_stopped(pool_core& /*core*/, void* record, std::uint32_t ticket) {
    auto* op = static_cast<query_op*>(record);
    // Finished meanwhile (the record may even run another statement now).
    if (op->stop.ticket() != ticket || op->slot == nullptr || op->detached) return;
    conn_slot& s = *op->slot;
    if (&s.queries.front() == op) {
        // The driver's cancel() targets the statement at the front: this one.
        s.conn->cancel();
        return;
    }
    // Behind others: a cancel would stop the front statement, someone else's.
    // The caller is answered now; the statement's own answer is dropped.
    op->detached = true;
    query_callback done = std::move(op->cb);
    done(error(errc::cancelled,
               "the statement was abandoned (stop requested) while pipelined behind others on "
               "its connection; it may still run, its result is discarded"));
}

}  // namespace uvdb::detail
