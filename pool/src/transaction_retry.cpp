// pool::transaction(opts, body, retry, cb): BEGIN, the body, COMMIT; the
// whole run again after a conflict (40001, 40P01), with a jittered back-off
// on the pool's timer (the loop never sleeps), up to retry.max_attempts.
// The coroutine form (detail/transaction_run.hpp) is a body on top of this.
//
// A failed attempt's transaction is dropped: the reset on return rolls it
// back (the same single place that decides what a returned connection
// needs), and the next attempt takes whichever connection the pool gives.

#include <memory>
#include <random>
#include <string>
#include <utility>
#include <uvdb/intrusive_ref.hpp>
#include <uvdb/pool.hpp>

#include "pool_core.hpp"
#include "transaction_state.hpp"

namespace uvdb {

namespace {

struct retry_run {
    detail::core_ref core;  // keeps the clock alive through a back-off
    tx_options opts;
    retry_policy policy;
    pool::tx_body body;
    pool::done_callback cb;
    std::source_location where;
    unsigned attempt = 0;
    bool body_done = false;  // this attempt's `done` was called
    std::optional<uvdb::transaction> tx;
};
using run_ptr = std::shared_ptr<retry_run>;

unsigned max_attempts(const retry_policy& p) { return p.max_attempts == 0 ? 1 : p.max_attempts; }

void finish(const run_ptr& r, result<void> outcome) {
    r->tx.reset();
    pool::done_callback cb = std::move(r->cb);
    cb(std::move(outcome));
}

void start_attempt(const run_ptr& r);

/// An attempt ended with `e`: run again after a pause when it lost a
/// conflict and attempts are left, otherwise report.
void attempt_failed(const run_ptr& r, error e) {
    r->tx.reset();  // dropped: the reset on return rolls it back
    const unsigned limit = max_attempts(r->policy);
    if (is_transaction_conflict(e) && r->attempt < limit) {
        detail::pool_core& core = *r->core;
        const double unit = std::uniform_real_distribution<double>(0.0, 1.0)(core.rng());
        const auto pause = retry_backoff(r->policy, r->attempt, unit);
        core.timers().schedule(core.now() + pause, [r] { start_attempt(r); });
        return;
    }
    if (r->attempt > 1 || (is_transaction_conflict(e) && limit == 1)) {
        std::string text = e.message().empty()
                               ? uvdb_category().message(static_cast<int>(e.value()))
                               : e.message();
        text += is_transaction_conflict(e) ? "; gave up after " : "; failed on attempt ";
        text += std::to_string(r->attempt) + " of " + std::to_string(limit);
        if (is_transaction_conflict(e)) text += " (retry_policy.max_attempts)";
        e.with_message(std::move(text));
    }
    finish(r, std::move(e));
}

void body_finished(const run_ptr& r, result<void> out) {
    if (!out) return attempt_failed(r, std::move(out).err());
    r->tx->commit([r](result<void> c) {
        if (!c) return attempt_failed(r, std::move(c).err());
        finish(r, {});
    });
}

void start_attempt(const run_ptr& r) {
    ++r->attempt;
    r->body_done = false;
    detail::begin_on(*r->core, r->opts, r->core->options().timeout, r->where,
                     [r](result<uvdb::transaction> t) {
                         if (!t) return attempt_failed(r, std::move(t).err());
                         r->tx.emplace(std::move(t).value());
                         r->body(*r->tx, [r, attempt = r->attempt](result<void> out) {
                             // A second call, or one from an attempt already given up, is ignored.
                             if (r->body_done || r->attempt != attempt || !r->tx) return;
                             r->body_done = true;
                             body_finished(r, std::move(out));
                         });
                     });
}

}  // namespace

void pool::transaction(const tx_options& opts, tx_body body, retry_policy retry, done_callback cb,
                       std::source_location where) {
    auto r = std::make_shared<retry_run>();
    r->core = detail::core_ref(core_);
    r->opts = opts;
    r->policy = retry;
    r->body = std::move(body);
    r->cb = std::move(cb);
    r->where = where;
    start_attempt(r);
}

}  // namespace uvdb
