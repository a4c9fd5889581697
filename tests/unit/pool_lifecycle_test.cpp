// Lifecycle: close, pool destroyed before its leases, lease API, leak
// warnings, pool.query and pool.transaction.

#include <catch2/catch.hpp>
#include <uvdb/pool.hpp>

#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;

TEST_CASE("close fails waiters (deferred), closes idle and connecting, spares leases",
          "[unit][pool]") {
    pool_harness h;
    auto o = test_pool_options(3, 0);
    h.make(o);
    lease held = h.acquire_now();
    { lease idle = h.acquire_now(); }
    h.fake().connect_latency = 100ms;
    lease held2 = h.acquire_now();  // the idle one
    auto waiting = h.acquire();     // opens a third connection (in flight)
    h.settle();
    CHECK(h.stats().connecting == 1);
    CHECK(h.driver->live() == 3);

    h.get().close();
    CHECK(waiting->calls == 0);    // not inline
    CHECK(h.driver->live() == 2);  // the connecting one is gone at once
    h.settle();
    REQUIRE(waiting->calls == 1);
    CHECK(waiting->failed_with(errc::pool_closed));
    CHECK(h.stats().closed);
    CHECK(held);
    CHECK(h.driver->live() == 2);  // leased connections stay until dropped

    auto late = h.acquire();
    h.settle();
    CHECK(late->failed_with(errc::pool_closed));
    h.get().close();  // idempotent

    held.release();
    h.settle();
    CHECK(h.driver->live() == 1);
    held2.release();
    h.settle();
    CHECK(h.driver->live() == 0);
    CHECK(h.stats().total == 0);
    h.advance(1'000ms);
    CHECK(h.clock->scheduled() == 0);
}

TEST_CASE("close closes idle connections", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(3, 0));
    {
        std::vector<lease> all;
        for (int i = 0; i < 3; ++i) all.push_back(h.acquire_now());
    }
    h.settle();
    CHECK(h.driver->live() == 3);
    h.get().close();
    CHECK(h.driver->live() == 0);
    CHECK(h.stats().idle == 0);
}

TEST_CASE("a lease may outlive its pool", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(2, 0));
    lease l = h.acquire_now();
    lease other = h.acquire_now();
    h.destroy_pool();
    h.settle();
    CHECK(h.driver->live() == 2);
    std::optional<result<result_set>> got;
    l->query("SELECT 1", [&](result<result_set> r) { got.emplace(std::move(r)); });
    h.settle();
    REQUIRE(got.has_value());
    CHECK(got->ok());
    l.release();
    h.settle();
    CHECK(h.driver->live() == 1);
    other = lease{};
    h.settle();
    CHECK(h.driver->live() == 0);
}

TEST_CASE("pool destroyed with callbacks pending delivers them", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    lease l = h.acquire_now();
    auto a = h.acquire();
    auto b = h.acquire();
    h.destroy_pool();
    h.settle();
    CHECK(a->failed_with(errc::pool_closed));
    CHECK(b->failed_with(errc::pool_closed));
}

TEST_CASE("lease: move, release, held_for, acquired_at", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    auto probe = std::make_shared<acquire_probe>();
    const int line = __LINE__ + 1;
    h.get().acquire([probe](result<lease> r) { probe->got.emplace(std::move(r)); });
    h.settle();
    REQUIRE(probe->ok());
    lease a = probe->take();
    CHECK(a.acquired_at().line() == static_cast<std::uint_least32_t>(line));
    h.advance(2'500ms);
    CHECK(a.held_for() == 2'500ms);
    lease b = std::move(a);
    CHECK_FALSE(a);
    CHECK(b);
    CHECK(h.stats().checked_out == 1);
    b.release();
    b.release();  // idempotent
    CHECK_FALSE(b);
    CHECK(b.held_for() == 0ms);
    CHECK(h.stats().checked_out == 0);
    lease c = h.acquire_now();
    c = lease{};  // move-assigning an empty lease gives the connection back
    CHECK(h.stats().checked_out == 0);
}

TEST_CASE("a lease held past leak_threshold logs one warning naming where it was acquired",
          "[unit][pool]") {
    pool_harness h;
    auto o = test_pool_options(2, 0);
    o.leak_threshold = 30'000ms;
    h.make(o);
    auto probe = std::make_shared<acquire_probe>();
    const int line = __LINE__ + 1;
    h.get().acquire([probe](result<lease> r) { probe->got.emplace(std::move(r)); });
    h.settle();
    lease leaked = probe->take();
    {
        lease brief = h.acquire_now();
        h.advance(10'000ms);
    }  // returned in time: never reported
    h.advance(19'999ms);
    CHECK(h.logs.count("has been held") == 0);
    h.advance(1ms);
    CHECK(h.logs.count("has been held") == 1);
    const std::string where = "pool_lifecycle_test.cpp:" + std::to_string(line);
    CHECK(h.logs.text().find(where) != std::string::npos);
    CHECK(h.logs.text().find("[warning]") != std::string::npos);
    h.advance(120'000ms);
    CHECK(h.logs.count("has been held") == 1);  // once per lease
    CHECK(h.stats().leaks_reported == 1);
    CHECK(h.stats().longest_held == 150'000ms);
    leaked.release();
    h.settle();
    CHECK(h.clock->scheduled() == 0);
}

TEST_CASE("pool.query runs one statement and gives the connection back", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    auto q = h.query("SELECT 1");
    h.settle();
    REQUIRE(q->ok());
    CHECK(q->got->value().value<int>() == 1);
    CHECK(h.stats().checked_out == 0);
    CHECK(h.stats().idle == 1);

    auto bad = h.query("FAIL");  // a server error that leaves the connection usable
    h.settle();
    REQUIRE(bad->calls == 1);
    CHECK_FALSE(bad->ok());
    CHECK(h.stats().idle == 1);
    CHECK(h.stats().invalidated == 0);
}

TEST_CASE("pool.query copies the statement when it has to wait", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    lease held = h.acquire_now();
    auto q = std::make_shared<query_probe>();
    {
        std::string sql = "SELECT 'a statement long enough to live on the heap'";
        h.get().query(sql, make_params(1, "x"), [q](result<result_set> r) {
            ++q->calls;
            q->got.emplace(std::move(r));
        });
        sql.assign(sql.size(), 'X');  // the caller's buffer changes
    }
    h.settle();
    CHECK(q->calls == 0);
    held.release();
    h.settle();
    REQUIRE(q->ok());
    CHECK(h.fake().sql_log.back() == "SELECT 'a statement long enough to live on the heap'");
}

TEST_CASE("pool.query reports acquire errors", "[unit][pool]") {
    pool_harness h;
    auto o = test_pool_options(1, 0);
    o.timeout = 100ms;
    h.make(o);
    lease held = h.acquire_now();
    auto q = h.query("SELECT 1");
    h.advance(100ms);
    REQUIRE(q->calls == 1);
    CHECK(q->got->err().value() == errc::pool_timeout);
}

TEST_CASE("pool.transaction commits on success and rolls back on error", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    std::optional<result<void>> outcome;
    h.get().transaction(
        [](lease& l, pool::done_callback done) {
            l->query("INSERT 1", [done = std::move(done)](result<result_set> r) mutable {
                if (!r) return done(std::move(r).err());
                done(result<void>{});
            });
        },
        [&](result<void> r) { outcome.emplace(std::move(r)); });
    h.settle();
    REQUIRE(outcome.has_value());
    CHECK(outcome->ok());
    CHECK(h.fake().sql_log == std::vector<std::string>{"BEGIN", "INSERT 1", "COMMIT"});
    CHECK(h.stats().checked_out == 0);

    h.fake().sql_log.clear();
    outcome.reset();
    h.get().transaction(
        [](lease& l, pool::done_callback done) {
            l->query("FAIL", [done = std::move(done)](result<result_set> r) mutable {
                if (!r) return done(std::move(r).err());
                done(result<void>{});
            });
        },
        [&](result<void> r) { outcome.emplace(std::move(r)); });
    h.settle();
    REQUIRE(outcome.has_value());
    REQUIRE_FALSE(outcome->ok());
    CHECK(outcome->err().value() == errc::server_error);
    // The failed transaction is rolled back by the pool's reset on return
    // before the connection is reused.
    CHECK(h.fake().sql_log == std::vector<std::string>{"BEGIN", "FAIL"});
    CHECK(h.fake().resets == 1);
    CHECK(h.stats().idle == 1);
    lease again = h.acquire_now();
    CHECK(again->transaction_status() == tx_status::idle);
}
