// The one place every statement run through a pool passes (pool.query, and
// lease.query / lease.execute through statement_gate, which transactions
// use): it is timed into pool_stats::operation_time, shown to the hooks and,
// when slow, logged. The plain path (no hooks, no slow-query log) reads the
// clock twice and tests one flag; nothing allocates in steady state (the
// records are reused). With pool_options::transaction_pooler on, the
// statement is first read for what cannot work behind a transaction pooler
// (transaction_pooler_guard.hpp); off, that costs one flag test.

#include <spdlog/logger.h>

#include <algorithm>
#include <exception>
#include <utility>
#include <uvdb/log.hpp>

#include "pool_core.hpp"
#include "statement_gate.hpp"

namespace uvdb::detail {

namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;

statement_info info_of(const stmt_trace& t) noexcept {
    statement_info i;
    i.sql = t.sql;
    i.param_count = t.param_count;
    i.script = t.script;
    i.conn = t.conn;
    i.where = t.where;
    return i;
}

void hook_threw(const char* which, const char* what) noexcept {
    try {
        logger().warn("pool: the query hook '{}' threw ({}); ignored, the statement goes on", which,
                      what);
    } catch (...) {  // logging must not throw out of a completion
    }
}

}  // namespace

std::uint64_t statement_rows(const result_set& r) noexcept {
    return std::max<std::uint64_t>(r.affected_rows(), r.size());
}

void pool_core::trace_begin(stmt_trace& t, const connection& c, std::string_view sql,
                            const params* p, std::source_location where, bool script) {
    t.start = timers_->precise_now();
    if (!observe_statements_) return;
    // Kept for after the statement: the caller's text may be gone by then.
    t.sql.assign(sql);
    t.param_count = p != nullptr ? p->size() : 0;
    t.where = where;
    t.conn = &c;
    t.script = script;
    if (opts_.slow_query_log_params && p != nullptr) t.args = *p;
    if (opts_.hooks && opts_.hooks->before) {
        try {
            opts_.hooks->before(info_of(t));
        } catch (const std::exception& e) {
            hook_threw("before", e.what());
        } catch (...) {
            hook_threw("before", "not a std::exception");
        }
    }
}

void pool_core::trace_end(stmt_trace& t, const error* err, std::uint64_t rows) noexcept {
    const auto took = timers_->precise_now() - t.start;
    operation_time_.record(duration_cast<microseconds>(took));
    if (!observe_statements_) return;
    statement_outcome out;
    out.duration = duration_cast<microseconds>(took);
    out.rows = err != nullptr ? 0 : rows;
    out.err = err;
    if (opts_.hooks && opts_.hooks->after) {
        try {
            opts_.hooks->after(info_of(t), out);
        } catch (const std::exception& e) {
            hook_threw("after", e.what());
        } catch (...) {
            hook_threw("after", "not a std::exception");
        }
    }
    if (slow_threshold_.count() > 0 && took >= slow_threshold_) {
        try {
            log_slow(t, out);
        } catch (...) {  // a failed log line never fails the statement
        }
    }
    t.conn = nullptr;
    if (opts_.slow_query_log_params) t.args = params{};
}

std::optional<error> pool_core::pooler_refusal(const connection& c, std::string_view sql) {
    const tx_status st = c.transaction_status();
    return pooler_guard_.check(
        sql, st == tx_status::in_transaction || st == tx_status::failed_transaction, opts_.name);
}

void pool_core::run_statement(conn_slot& s, std::string_view sql, params p,
                              const query_options& opts, query_callback cb) {
    if (guard_statements_) [[unlikely]] {
        if (auto refused = pooler_refusal(*s.conn, sql)) {
            // Completes from the loop, never inline, like every statement.
            loop_.defer([cb = std::move(cb), e = std::move(*refused)]() mutable { cb(e); });
            return;
        }
    }
    stmt_op* op = stmt_records_.get();
    op->query_cb = std::move(cb);
    connection& c = *s.conn;
    trace_begin(op->trace, c, sql, &p, s.acquired_at, false);
    // Two pointers: fits unique_function's inline buffer. The reference keeps
    // the records alive should the lease and the pool be gone by the reply.
    c.query(sql, std::move(p), opts, [ref = core_ref(this), op](result<result_set> r) mutable {
        ref->trace_end(op->trace, r ? nullptr : &r.err(), r ? statement_rows(*r) : 0);
        query_callback done = std::move(op->query_cb);
        ref->stmt_records_.put(op);
        done(std::move(r));
    });
}

void pool_core::run_script(conn_slot& s, std::string_view script, const query_options& opts,
                           unique_function<void(result<std::vector<result_set>>)> cb) {
    if (guard_statements_) [[unlikely]] {
        if (auto refused = pooler_refusal(*s.conn, script)) {
            loop_.defer([cb = std::move(cb), e = std::move(*refused)]() mutable { cb(e); });
            return;
        }
    }
    stmt_op* op = stmt_records_.get();
    op->script_cb = std::move(cb);
    connection& c = *s.conn;
    trace_begin(op->trace, c, script, nullptr, s.acquired_at, true);
    c.execute(script, opts, [ref = core_ref(this), op](result<std::vector<result_set>> r) mutable {
        std::uint64_t rows = 0;
        if (r) {
            for (const result_set& one : *r) rows += statement_rows(one);
        }
        ref->trace_end(op->trace, r ? nullptr : &r.err(), rows);
        auto done = std::move(op->script_cb);
        ref->stmt_records_.put(op);
        done(std::move(r));
    });
}

void pool_core::run_group(conn_slot& s, std::vector<connection::group_member> members,
                          const query_options& opts) {
    if (guard_statements_) [[unlikely]] {
        for (std::size_t i = 0; i < members.size(); ++i) {
            auto refused = pooler_refusal(*s.conn, members[i].sql);
            if (!refused) continue;
            // One member the pooler would break: nothing of the group runs.
            loop_.defer([members = std::move(members), i, e = std::move(*refused)]() mutable {
                for (std::size_t k = 0; k < members.size(); ++k) {
                    if (k == i) {
                        members[k].cb(e);
                    } else {
                        members[k].cb(detail::group_not_run(i, "was refused"));
                    }
                }
            });
            return;
        }
    }
    connection& c = *s.conn;
    for (auto& m : members) {
        stmt_op* op = stmt_records_.get();
        op->query_cb = std::move(m.cb);
        trace_begin(op->trace, c, m.sql, &m.args, s.acquired_at, false);
        m.cb = [ref = core_ref(this), op](result<result_set> r) mutable {
            ref->trace_end(op->trace, r ? nullptr : &r.err(), r ? statement_rows(*r) : 0);
            query_callback done = std::move(op->query_cb);
            ref->stmt_records_.put(op);
            done(std::move(r));
        };
    }
    c.query_group(std::move(members), opts);
}

// ---------------------------------------------------------------- statement_gate

connection& statement_gate::inner() const noexcept { return *slot_->conn; }

void statement_gate::query(std::string_view sql, params p, const query_options& opts,
                           query_callback cb) {
    core_->run_statement(*slot_, sql, std::move(p), opts, std::move(cb));
}

void statement_gate::query_group(std::vector<group_member> members, const query_options& opts) {
    core_->run_group(*slot_, std::move(members), opts);
}

void statement_gate::execute(std::string_view script, const query_options& opts,
                             script_callback cb) {
    core_->run_script(*slot_, script, opts, std::move(cb));
}

}  // namespace uvdb::detail
