// Conformance: uvdb::pool over the driver — concurrency, and a connection
// killed under the pool is replaced without leaking.

#include <uvdb/pool.hpp>

#include "support.hpp"

namespace uvdb::conformance::detail {
void anchor_pool_tests() {}
}  // namespace uvdb::conformance::detail

using namespace uvdb;
using namespace uvdb::conformance;
using namespace uvdb::conformance::detail;

namespace {

pool_options small_pool(const target& t) {
    pool_options o;
    o.connection = t.options();
    o.size = 3;
    o.max_overflow = 1;
    o.timeout = t.step_timeout;
    if (t.adjust_pool) t.adjust_pool(o);
    return o;
}

}  // namespace

TEST_CASE("conformance: the pool runs concurrent statements over the driver", "[conformance]") {
    const target& t = current_target();
    event_loop loop;
    {
        pool db(loop, t.driver, small_pool(t));
        constexpr int n = 40;
        int ok = 0;
        std::vector<std::string> errors;
        for (int i = 0; i < n; ++i) {
            db.query(
                t.echo_sql,
                make_params(std::int64_t{i}, 0.25, "p", bytes("\x01", 1),
                            std::optional<std::string>{}),
                [&, i](result<result_set> r) {
                    if (!r) {
                        errors.push_back(r.err().to_string());
                    } else if ((*r)[0].get<std::int64_t>(0) == i) {
                        ++ok;
                    } else {
                        errors.push_back("statement " + std::to_string(i) + " got another's row");
                    }
                });
        }
        run_until(
            loop, [&] { return ok + static_cast<int>(errors.size()) == n; }, t.step_timeout,
            "40 pooled statements");
        INFO((errors.empty() ? std::string() : errors.front()));
        CHECK(errors.empty());
        CHECK(ok == n);
        const pool_stats st = db.stats();
        CHECK(st.checked_out == 0);
        CHECK(st.total <= 4);  // size + max_overflow
        CHECK(st.total >= 1);

        // Leases: a transaction left open is rolled back on return.
        slot<lease> l;
        db.acquire(l.sink());
        run_until(
            loop, [&] { return l.done(); }, t.step_timeout, "acquire");
        INFO(describe(*l.value));
        REQUIRE(l.value->ok());
        {
            lease held = std::move(l.value->value());
            REQUIRE(query_now(loop, *held, t.begin_sql).ok());
            CHECK(held->transaction_status() == tx_status::in_transaction);
        }
        run_until(
            loop, [&] { return db.stats().checked_out == 0 && db.stats().pending == 0; },
            t.step_timeout, "the lease's return");
        db.close();
    }
    run_for(loop, 20ms);
}

TEST_CASE("conformance: the pool replaces a killed connection and leaks nothing", "[conformance]") {
    const target& t = current_target();
    if (!t.kill) {
        WARN("skipped: the target gives no kill hook");
        return;
    }
    event_loop loop;
    {
        pool_options o = small_pool(t);
        o.size = 1;
        o.max_overflow = 0;
        pool db(loop, t.driver, o);

        slot<lease> l;
        db.acquire(l.sink());
        run_until(
            loop, [&] { return l.done(); }, t.step_timeout, "acquire");
        INFO(describe(*l.value));
        REQUIRE(l.value->ok());
        {
            lease held = std::move(l.value->value());
            slot<void> k;
            t.kill(loop, *held, k.sink());
            run_until(
                loop, [&] { return k.done(); }, t.step_timeout, "the kill hook");
            REQUIRE(k.value->ok());
            auto r = query_now(loop, *held, t.trivial_sql);
            REQUIRE_FALSE(r.ok());
            CHECK(r.err().is_fatal());
        }  // returned broken: the pool must close it

        // The only slot is free again and a new connection serves the next caller.
        slot<result_set> q;
        db.query(t.trivial_sql, q.sink());
        run_until(
            loop, [&] { return q.done(); }, t.step_timeout, "a statement after the kill");
        INFO(describe(*q.value));
        REQUIRE(q.value->ok());
        CHECK(q.value->value().value<int>() == 1);
        const pool_stats st = db.stats();
        CHECK(st.checked_out == 0);
        CHECK(st.total == 1);
        CHECK(st.invalidated + st.closed_broken >= 1);
        CHECK(st.connects == 2);
        db.close();
    }
    run_for(loop, 20ms);
}
