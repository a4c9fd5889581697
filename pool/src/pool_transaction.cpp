// pool::transaction: BEGIN, the caller's body, then COMMIT, all on one
// lease. On failure the lease is simply given back: the pool's return policy
// (pool_core::checkin) rolls back what is left open before the connection is
// reused, or closes it, so no second copy of that decision lives here. Not a
// hot path: its state lives in one heap object passed from step to step.

#include <memory>
#include <utility>
#include <uvdb/pool.hpp>

#include "pool_core.hpp"
#include "transaction_state.hpp"

namespace uvdb {

namespace {

struct lease_tx_state {
    lease conn;
    pool::transaction_body body;
    pool::done_callback cb;
};
using tx_ptr = std::unique_ptr<lease_tx_state>;

/// Gives the connection back (or throws it away after a fatal error) and
/// reports `outcome`.
void finish(tx_ptr st, result<void> outcome, const error* fatal) {
    if (fatal != nullptr) {
        st->conn.invalidate(*fatal);
    } else {
        st->conn.release();
    }
    pool::done_callback cb = std::move(st->cb);
    st.reset();
    cb(std::move(outcome));
}

/// The body failed: the transaction is left open (or failed) on the lease,
/// and giving it back rolls it back.
void abandon(tx_ptr st, error cause) {
    const bool fatal = cause.is_fatal();
    finish(std::move(st), cause, fatal ? &cause : nullptr);
}

void commit(tx_ptr st) {
    connection& c = detail::pool_core::statements_of(st->conn);
    c.query("COMMIT", [st = std::move(st)](result<result_set> r) mutable {
        if (!r) {
            error e = std::move(r).err();
            if (e.is_fatal()) {
                finish(std::move(st), e, &e);
            } else {
                // reset on return rolls back whatever COMMIT left open.
                finish(std::move(st), std::move(e), nullptr);
            }
            return;
        }
        finish(std::move(st), {}, nullptr);
    });
}

void run_body(tx_ptr st) {
    lease_tx_state& s = *st;
    pool::transaction_body body = std::move(s.body);
    body(s.conn, [st = std::move(st)](result<void> r) mutable {
        if (!st) return;  // done called twice: ignore the second call
        tx_ptr mine = std::move(st);
        if (r) {
            commit(std::move(mine));
        } else {
            abandon(std::move(mine), std::move(r).err());
        }
    });
}

}  // namespace

void pool::transaction(transaction_body body, done_callback cb, std::source_location where) {
    auto st = std::make_unique<lease_tx_state>();
    st->body = std::move(body);
    st->cb = std::move(cb);
    acquire(
        [st = std::move(st)](result<lease> l) mutable {
            if (!l) {
                done_callback cb = std::move(st->cb);
                cb(std::move(l).err());
                return;
            }
            st->conn = std::move(l).value();
            connection& c = detail::pool_core::statements_of(st->conn);
            c.query("BEGIN", [st = std::move(st)](result<result_set> r) mutable {
                if (!r) {
                    error e = std::move(r).err();
                    const bool fatal = e.is_fatal();
                    finish(std::move(st), e, fatal ? &e : nullptr);
                    return;
                }
                run_body(std::move(st));
            });
        },
        where);
}

}  // namespace uvdb

// ---------------------------------------------------------------- begin

namespace uvdb::detail {

void begin_on(pool_core& core, const tx_options& opts, std::chrono::milliseconds timeout,
              std::source_location where, pool::begin_callback cb) {
    event_loop& loop = core.loop();
    core.acquire(
        [&loop, sql = begin_statement(opts), cb = std::move(cb)](result<lease> l) mutable {
            if (!l) return cb(std::move(l).err());
            lease conn = std::move(l).value();
            connection& c = detail::pool_core::statements_of(conn);
            c.query(sql, [&loop, conn = std::move(conn),
                          cb = std::move(cb)](result<result_set> r) mutable {
                if (!r) {
                    error e = std::move(r).err();
                    if (e.is_fatal()) {
                        conn.invalidate(e);
                    } else {
                        conn.release();
                    }
                    return cb(std::move(e));
                }
                cb(tx_state::open(std::move(conn), loop));
            });
        },
        timeout, where);
}

}  // namespace uvdb::detail

namespace uvdb {

void pool::begin(const tx_options& opts, const call_options& call, begin_callback cb,
                 std::source_location where) {
    using std::chrono::milliseconds;
    milliseconds wait = call.timeout;
    if (wait.count() < 0) wait = core_->options().timeout;
    if (wait.count() == 0) wait = milliseconds::max();  // call_options: 0 = no deadline
    detail::begin_on(*core_, opts, wait, where, std::move(cb));
}

}  // namespace uvdb
