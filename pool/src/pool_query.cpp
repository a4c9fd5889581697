// pool::query: acquire + one statement + release, without allocating in
// steady state (operation records are reused; the SQL text is copied only
// when the statement has to wait for a connection).

#include <algorithm>
#include <utility>

#include "pool_core.hpp"

namespace uvdb::detail {

namespace {
using std::chrono::milliseconds;
}  // namespace

query_op* pool_core::new_op() { return op_records_.get(); }

void pool_core::free_op(query_op* op) noexcept {
    op->stop.disarm();  // the caller holds a reference (a lease or an acquire's delivery)
    op->running = nullptr;
    op->sql.clear();  // keeps its capacity for the next one
    op->args.clear();
    if (op->has_deadline || op->statement.timeout.count() >= 0 || op->stop_token.stop_possible()) {
        op->statement = query_options{};
        op->has_deadline = false;
        op->stop_token = std::stop_token{};
    }
    op_records_.put(op);
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
        if (conn_slot* s = try_checkout(where)) {
            // A connection is ready: the driver takes the statement now, so the
            // caller's SQL text need not be copied.
            run_query(make_lease(s), sql, std::move(p), op, stop);
            return;
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
            run_query(std::move(r).value(), op->sql, std::move(op->args), op,
                      op->stop_token.stop_possible() ? &op->stop_token : nullptr);
        },
        acquire_timeout(co), where, stop);
}

void pool_core::run_query(lease l, std::string_view sql, params p, query_op* op,
                          const std::stop_token* stop) {
    connection& c = *l;
    if (guard_statements_) [[unlikely]] {
        if (auto refused = pooler_refusal(c, sql)) {
            // From the loop, never inline. The lease goes back unused, last:
            // it may hold the last reference to this pool.
            query_callback done = std::move(op->cb);
            free_op(op);
            loop_.defer([done = std::move(done), e = std::move(*refused)]() mutable { done(e); });
            l.release();
            return;
        }
    }
    if (op->has_deadline) {
        const auto left = std::chrono::ceil<milliseconds>(op->deadline - timers_->fresh_now());
        // At least 1 ms: 0 would mean "no timeout" to the driver.
        op->statement.timeout = std::max(left, milliseconds{1});
    }
    op->running = &c;
    if (stop != nullptr) op->stop.arm(*stop, *this, &pool_core::on_query_stopped, op);
    // pool.query's call site is where its lease was acquired.
    trace_begin(op->trace, c, sql, &p, l.slot_->acquired_at, false);
    c.query(sql, std::move(p), op->statement, [l = std::move(l), op](result<result_set> r) mutable {
        pool_core* core = l.core_;
        core->trace_end(op->trace, r ? nullptr : &r.err(), r ? statement_rows(*r) : 0);
        query_callback done = std::move(op->cb);
        core->free_op(op);  // before the lease goes: it may hold the last reference
        if (!r && r.err().is_fatal()) {
            l.invalidate(r.err());
        } else {
            l.release();
        }
        done(std::move(r));
    });
}

void pool_core::on_query_stopped(pool_core& /*core*/, void* record, std::uint32_t ticket) {
    auto* op = static_cast<query_op*>(record);
    // Finished meanwhile (the record may even run another statement now).
    if (op->stop.ticket() != ticket || op->running == nullptr) return;
    op->running->cancel();
}

}  // namespace uvdb::detail
