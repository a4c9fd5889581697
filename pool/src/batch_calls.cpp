// The entry points of a batch: on the pool (one connection for the whole
// batch), on a lease, and inside a transaction or savepoint. Each picks the
// connection and the wrap, and run_batch (batch_run.cpp) does the rest.

#include <algorithm>
#include <utility>
#include <uvdb/batch.hpp>
#include <uvdb/lease.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/transaction.hpp>

#include "batch_run.hpp"
#include "pool_core.hpp"
#include "transaction_state.hpp"

namespace uvdb {

namespace {

using std::chrono::milliseconds;

/// The error that broke the batch's connection, if one did: the lease is
/// then discarded instead of given back.
const error* fatal_error_of(const result<batch_results>& r) noexcept {
    if (!r) return r.error().is_fatal() ? &r.error() : nullptr;
    for (const auto& one : *r) {
        if (!one && one.error().is_fatal()) return &one.error();
    }
    return nullptr;
}

}  // namespace

// ---------------------------------------------------------------- pool

namespace {

/// pool.batch: `opts` null means the pool's defaults.
void pool_batch(pool& db, detail::pool_core& core, const call_options* opts, batch b,
                batch_callback cb, std::source_location where) {
    if (auto ok = b.check(); !ok) {
        // Refused before a connection is taken; from the loop, never inline.
        core.loop().defer([cb = std::move(cb), e = std::move(ok).err()]() mutable { cb(e); });
        return;
    }
    // call_options::timeout covers the whole call, as for pool.query: each
    // statement gets what the wait for a connection left.
    query_options statement;
    std::optional<detail::time_point> deadline;
    if (opts != nullptr && opts->timeout.count() > 0) {
        core.loop().update_time();
        deadline = core.timers().fresh_now() + opts->timeout;
    } else if (opts != nullptr && opts->timeout.count() == 0) {
        statement.timeout = milliseconds{0};
    }
    detail::core_ref keep(&core);
    auto on_lease = [keep = std::move(keep), b = std::move(b), cb = std::move(cb), statement,
                     deadline](result<lease> l) mutable {
        if (!l) return cb(std::move(l).err());
        if (deadline) {
            const auto left =
                std::chrono::ceil<milliseconds>(*deadline - keep->timers().fresh_now());
            statement.timeout = std::max(left, milliseconds{1});  // 0 would mean none
        }
        lease held = std::move(l).value();
        connection& c = detail::pool_core::statements_of(held);
        const detail::batch_wrap wrap = detail::wrap_for(b, c.transaction_status());
        detail::run_batch(
            c, keep->loop(), std::move(b), wrap, statement,
            [held = std::move(held), cb = std::move(cb)](result<batch_results> r) mutable {
                // The lease goes back first, as pool.query's does.
                if (const error* fatal = fatal_error_of(r)) {
                    held.invalidate(*fatal);
                } else {
                    held.release();
                }
                cb(std::move(r));
            });
    };
    if (opts != nullptr) {
        db.acquire(*opts, std::move(on_lease), where);
    } else {
        db.acquire(std::move(on_lease), where);
    }
}

}  // namespace

void pool::batch(uvdb::batch b, batch_callback cb, std::source_location where) {
    pool_batch(*this, *core_, nullptr, std::move(b), std::move(cb), where);
}

void pool::batch(const call_options& opts, uvdb::batch b, batch_callback cb,
                 std::source_location where) {
    pool_batch(*this, *core_, &opts, std::move(b), std::move(cb), where);
}

// ---------------------------------------------------------------- lease

void lease::batch(const query_options& opts, uvdb::batch b, batch_callback cb) {
    if (slot_ == nullptr) {
        // An empty lease has no loop to complete from: the caller's own call
        // stack is all there is (as for an empty transaction).
        cb(error(errc::bad_input, "batch on an empty lease (moved from or released)"));
        return;
    }
    connection& c = statements();
    const detail::batch_wrap wrap = detail::wrap_for(b, c.transaction_status());
    detail::run_batch(c, core_->loop(), std::move(b), wrap, opts, std::move(cb));
}

// ---------------------------------------------------------------- transaction

void tx_scope::batch(const query_options& opts, uvdb::batch b, batch_callback cb) {
    if (auto e = refuse("batch")) {
        if (!st_) return cb(std::move(*e));
        st_->loop->defer([cb = std::move(cb), e = std::move(*e)]() mutable { cb(std::move(e)); });
        return;
    }
    // Held until the batch has delivered: COMMIT and ROLLBACK are refused
    // meanwhile, and a transaction dropped meanwhile gives its connection
    // back only after the batch stopped using it.
    std::shared_ptr<void> hold = hold_for_io();
    const detail::batch_wrap wrap = b.mode() == batch_mode::independent
                                        ? detail::batch_wrap::none
                                        : detail::batch_wrap::savepoint;
    detail::run_batch(
        detail::pool_core::statements_of(st_->conn), *st_->loop, std::move(b), wrap, opts,
        [hold = std::move(hold), cb = std::move(cb)](result<batch_results> r) mutable {
            // Let go first: the caller may commit from inside
            // its callback (an awaiting coroutine resumes there).
            hold.reset();
            cb(std::move(r));
        });
}

}  // namespace uvdb
