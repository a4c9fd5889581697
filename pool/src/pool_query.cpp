// pool::query: acquire + one statement + release, without allocating in
// steady state (operation records are reused; the SQL text is copied only
// when the statement has to wait for a connection).

#include <utility>

#include "pool_core.hpp"

namespace uvdb::detail {

query_op* pool_core::new_op() { return op_records_.get(); }

void pool_core::free_op(query_op* op) noexcept {
    op->sql.clear();  // keeps its capacity for the next one
    op->args.clear();
    op_records_.put(op);
}

void pool_core::query(std::string_view sql, params p, query_callback cb,
                      std::source_location where) {
    query_op* op = new_op();
    op->cb = std::move(cb);
    if (conn_slot* s = try_checkout(where)) {
        // A connection is ready: the driver takes the statement now, so the
        // caller's SQL text need not be copied.
        run_query(make_lease(s), sql, std::move(p), op);
        return;
    }
    op->sql.assign(sql);
    op->args = std::move(p);
    acquire(
        [this, op](result<lease> r) {
            if (!r) {
                query_callback done = std::move(op->cb);
                free_op(op);
                done(std::move(r).err());
                return;
            }
            run_query(std::move(r).value(), op->sql, std::move(op->args), op);
        },
        opts_.timeout, where);
}

void pool_core::run_query(lease l, std::string_view sql, params p, query_op* op) {
    connection& c = *l;
    c.query(sql, std::move(p), [l = std::move(l), op](result<result_set> r) mutable {
        pool_core* core = l.core_;
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

}  // namespace uvdb::detail
