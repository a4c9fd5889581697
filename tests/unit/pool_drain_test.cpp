// pool::drain on the fake driver and the manual clock: refusals from the
// call on, leases finishing, the deadline closing what is left, the report.

#include <catch2/catch.hpp>
#include <optional>
#include <uvdb/hooks.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/task.hpp>
#include <vector>

#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;
using Catch::Matchers::Contains;

TEST_CASE("drain with nothing out reports at once and closes the pool", "[unit][pool][drain]") {
    pool_harness h;
    h.make();
    { lease l = h.acquire_now(); }
    h.settle();
    REQUIRE(h.stats().idle == 1);

    std::optional<drain_report> rep;
    h.get().drain(std::chrono::seconds{5}, [&](drain_report r) { rep = r; });
    CHECK_FALSE(rep);  // never inline
    h.settle();
    REQUIRE(rep);
    CHECK(rep->leases_at_start == 0);
    CHECK(rep->still_out == 0);
    CHECK_FALSE(rep->deadline_reached);
    CHECK(h.driver->live() == 0);  // the idle connection was closed
    CHECK(h.stats().closed);
    CHECK_FALSE(h.stats().draining);

    // A drain of a closed pool: an empty report.
    std::optional<drain_report> again;
    h.get().drain(std::chrono::seconds{5}, [&](drain_report r) { again = r; });
    h.settle();
    REQUIRE(again);
    CHECK(again->leases_at_start == 0);
}

TEST_CASE("drain refuses new work and waits for the leases out", "[unit][pool][drain]") {
    pool_harness h;
    h.make(test_pool_options(3, 0));
    lease a = h.acquire_now();
    lease b = h.acquire_now();
    { lease idle = h.acquire_now(); }
    h.settle();
    auto waiting_before = h.stats();
    REQUIRE(waiting_before.idle == 1);

    std::optional<drain_report> rep;
    int reports = 0;
    h.get().drain(std::chrono::seconds{10}, [&](drain_report r) {
        ++reports;
        rep = r;
    });
    h.settle();
    CHECK_FALSE(rep);
    auto st = h.stats();
    CHECK(st.draining);
    CHECK_FALSE(st.closed);
    CHECK(st.idle == 0);
    CHECK(st.checked_out == 2);
    CHECK(h.get().closed());

    // New acquires and queries fail at once, saying why.
    auto acq = h.acquire();
    auto q = h.query("SELECT 1");
    h.settle();
    REQUIRE(acq->failed_with(errc::pool_closed));
    CHECK_THAT(acq->err().message(), Contains("draining"));
    REQUIRE(q->got);
    REQUIRE_FALSE(q->ok());
    CHECK(q->got->err().value() == errc::pool_closed);
    CHECK_THAT(q->got->err().message(), Contains("draining"));
    CHECK_FALSE(h.get().try_acquire());

    // Leases out still work until given back.
    std::optional<result<result_set>> in_flight;
    a.query("SELECT 2", [&](result<result_set> r) { in_flight.emplace(std::move(r)); });
    h.settle();
    REQUIRE(in_flight);
    CHECK(in_flight->ok());

    a.release();
    h.settle();
    CHECK_FALSE(rep);
    CHECK(h.driver->live() == 1);  // a's connection closed on return
    b.release();
    h.settle();
    REQUIRE(rep);
    CHECK(reports == 1);
    CHECK(rep->leases_at_start == 2);
    CHECK(rep->finished == 2);
    CHECK(rep->still_out == 0);
    CHECK_FALSE(rep->deadline_reached);
    CHECK(h.driver->live() == 0);
    CHECK(h.stats().closed);
    CHECK_FALSE(h.stats().draining);
    CHECK(h.logs.count("pool: drained in") == 1);

    // The deadline's timer was cancelled: nothing more happens at it.
    h.advance(std::chrono::seconds{10});
    CHECK(reports == 1);
}

TEST_CASE("drain fails acquires that were already waiting", "[unit][pool][drain]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    lease a = h.acquire_now();
    auto waiting = h.acquire();
    h.settle();
    REQUIRE(h.stats().waiting == 1);
    std::optional<drain_report> rep;
    h.get().drain(std::chrono::seconds{1}, [&](drain_report r) { rep = r; });
    h.settle();
    REQUIRE(waiting->failed_with(errc::pool_closed));
    CHECK_THAT(waiting->err().message(), Contains("draining"));
    a.release();
    h.settle();
    REQUIRE(rep);
    CHECK(rep->finished == 1);
}

TEST_CASE("at the deadline, leases still out are cut off and reported", "[unit][pool][drain]") {
    pool_harness h;
    h.make(test_pool_options(2, 0));
    lease quick = h.acquire_now();
    lease stuck = h.acquire_now();
    std::optional<result<result_set>> slow;
    stuck.query("SLEEP 60000", [&](result<result_set> r) { slow.emplace(std::move(r)); });
    h.settle();

    std::optional<drain_report> rep;
    h.get().drain(std::chrono::milliseconds{500}, [&](drain_report r) { rep = r; });
    h.settle();
    quick.release();
    h.advance(std::chrono::milliseconds{499});
    CHECK_FALSE(rep);
    h.advance(std::chrono::milliseconds{1});
    REQUIRE(rep);
    CHECK(rep->leases_at_start == 2);
    CHECK(rep->finished == 1);
    CHECK(rep->still_out == 1);
    CHECK(rep->deadline_reached);
    CHECK(rep->took == std::chrono::milliseconds{500});
    // The statement still running failed when its connection was closed.
    REQUIRE(slow);
    REQUIRE_FALSE(slow->ok());
    CHECK(slow->err().value() == errc::closed);
    stuck.release();
    h.settle();
    CHECK(h.driver->live() == 0);
    CHECK(h.logs.count("1 still out at the deadline") == 1);
}

TEST_CASE("the drain outlives the pool object; the awaitable form", "[unit][pool][drain]") {
    pool_harness h;
    h.make();
    lease a = h.acquire_now();
    std::optional<drain_report> rep;
    h.get().drain(std::chrono::seconds{1}, [&](drain_report r) { rep = r; });
    h.destroy_pool();
    a.release();
    h.settle();
    REQUIRE(rep);
    CHECK(rep->finished == 1);

    pool_harness h2;
    h2.make();
    std::optional<result<drain_report>> awaited;
    auto run = [&]() -> task<void> {
        awaited.emplace(co_await h2.get().drain(std::chrono::seconds{1}));
    };
    spawn(run());
    h2.settle();
    REQUIRE(awaited);
    REQUIRE(awaited->ok());
    CHECK((*awaited)->leases_at_start == 0);
}
