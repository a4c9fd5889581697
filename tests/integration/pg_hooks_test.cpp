// Query hooks, statement durations and the slow-query log against the real
// server: the hooks see real rows, errors and durations; pg_sleep(0.2) is
// logged as slow with a 100 ms threshold, SELECT 1 is not. Durations are
// checked against a floor only.

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <uvdb/coro.hpp>
#include <uvdb/hooks.hpp>
#include <uvdb/pool.hpp>
#include <vector>

#include "integration/pool_pg_support.hpp"
#include "integration/support/test_env.hpp"
#include "unit/core_log_capture.hpp"

using namespace std::chrono_literals;
namespace t = uvdb::test;

namespace {

struct after_call {
    std::string sql;
    std::size_t params = 0;
    std::string conn;
    std::chrono::microseconds duration{0};
    std::uint64_t rows = 0;
    std::string sqlstate;  // empty: success
};

}  // namespace

TEST_CASE("pg hooks see real rows, errors and durations", "[pg][pool][hooks]") {
    uvdb::event_loop loop;
    auto opts = t::pool_test_options(2, 0);
    std::vector<after_call> afters;
    int befores = 0;
    opts.hooks = std::make_shared<uvdb::query_hooks>();
    opts.hooks->before = [&](const uvdb::statement_info&) { ++befores; };
    opts.hooks->after = [&](const uvdb::statement_info& i, const uvdb::statement_outcome& o) {
        after_call a;
        a.sql = std::string(i.sql);
        a.params = i.param_count;
        a.conn = i.conn != nullptr ? i.conn->describe() : "";
        a.duration = o.duration;
        a.rows = o.rows;
        if (o.err != nullptr) a.sqlstate = std::string(o.err->sqlstate());
        afters.push_back(std::move(a));
    };
    uvdb::pool db(loop, t::pg_driver(), opts);

    bool done = false;
    // Named: the coroutine refers to the lambda, which must outlive it.
    auto body = [&]() -> uvdb::task<void> {
        auto r = co_await db.query("SELECT generate_series(1, $1::int)", 5);
        CHECK(r.ok());
        auto bad = co_await db.query("SELECT * FROM no_such_table_for_hooks");
        CHECK_FALSE(bad.ok());
        auto slept = co_await db.query("SELECT pg_sleep(0.05)");
        CHECK(slept.ok());
        auto l = co_await db.acquire();
        REQUIRE(l.ok());
        auto s = co_await l->execute("SELECT 1; SELECT 2");
        CHECK(s.ok());
        done = true;
    };
    uvdb::spawn(body(), [](std::exception_ptr) {});
    t::run_until(
        loop, [&] { return done; }, 30s, "the statements");
    REQUIRE(afters.size() == 4);
    CHECK(befores == 4);
    CHECK(afters[0].rows == 5);
    CHECK(afters[0].params == 1);
    CHECK(afters[0].sqlstate.empty());
    CHECK(afters[0].conn.find(t::env().port) != std::string::npos);
    CHECK(afters[1].sqlstate == "42P01");
    CHECK(afters[1].rows == 0);
    CHECK(afters[2].duration >= 50ms);  // a floor only
    CHECK(afters[3].sql == "SELECT 1; SELECT 2");
    CHECK(afters[3].rows == 2);
    CHECK(db.stats().operation_time.total() == 4);
}

TEST_CASE("pg slow-query log: pg_sleep(0.2) over 100 ms is logged, SELECT 1 is not",
          "[pg][pool][hooks]") {
    uvdb_test::log_capture logs;
    uvdb::event_loop loop;
    auto opts = t::pool_test_options(1, 0);
    opts.slow_query_threshold = 100ms;
    uvdb::pool db(loop, t::pg_driver(), opts);

    bool done = false;
    // Named: the coroutine refers to the lambda, which must outlive it.
    auto body = [&]() -> uvdb::task<void> {
        auto one = co_await db.query("SELECT 1");
        CHECK(one.ok());
        auto slow = co_await db.query("SELECT pg_sleep($1)", 0.2);
        CHECK(slow.ok());
        done = true;
    };
    uvdb::spawn(body(), [](std::exception_ptr) {});
    t::run_until(
        loop, [&] { return done; }, 30s, "the statements");

    int slow_lines = 0;
    for (const auto& line : logs.lines()) {
        if (line.find("slow query") == std::string::npos) continue;
        ++slow_lines;
        INFO(line);
        CHECK(line.rfind("warning ", 0) == 0);
        CHECK(line.find("pg_hooks_test.cpp:") != std::string::npos);
        CHECK(line.find("SELECT pg_sleep($1)") != std::string::npos);
        CHECK(line.find("1 params (not shown") != std::string::npos);
        CHECK(line.find(t::env().password) == std::string::npos);
    }
    CHECK(slow_lines == 1);  // SELECT 1 was not
}
