// Query deadlines and cancel(): the caller hears back in time, and the same
// connection answers the next statements correctly (a late cancel never
// reaches them).

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>
#include <vector>

#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

namespace {

using clock_type = std::chrono::steady_clock;

uvdb::query_options with_timeout(std::chrono::milliseconds d) {
    uvdb::query_options o;
    o.timeout = d;
    return o;
}

void expect_timeout(const uvdb::result<uvdb::result_set>& r) {
    REQUIRE_FALSE(r.ok());
    INFO(t::describe(r.err()));
    CHECK(r.err().value() == errc::timeout);
    CHECK(r.err().sqlstate() == "57014");  // the server confirmed the cancel: query_canceled
}

}  // namespace

TEST_CASE("query timeout: pg_sleep(30) with 500 ms, then the same connection answers",
          "[pg][timeout]") {
    uvdb::event_loop loop;
    const auto fds = t::open_fd_count();
    {
        auto conn = t::connect_or_fail(loop, t::test_options());
        const auto pid = conn->server_pid();

        const auto start = clock_type::now();
        auto r = t::query_sync(loop, *conn, "SELECT pg_sleep(30)", {}, with_timeout(500ms), 10s);
        const auto took = t::ms_since(start);
        std::printf("query timeout: pg_sleep(30) with a 500 ms timeout failed after %lld ms\n",
                    took);
        expect_timeout(r);
        CHECK(took >= 450);
        CHECK(took < 2000);
        CHECK_FALSE(r.err().is_fatal());
        REQUIRE_FALSE(conn->is_broken());

        CHECK(t::scalar<int>(loop, *conn, "SELECT 1") == 1);
        CHECK(t::scalar<int>(loop, *conn, "SELECT 2") == 2);
        // Long enough that a cancel arriving late would land in it.
        CHECK(t::scalar<int>(loop, *conn, "SELECT 3 FROM pg_sleep(0.5)") == 3);
        CHECK(conn->server_pid() == pid);
        CHECK(conn->transaction_status() == uvdb::tx_status::idle);
    }
    t::check_fds_return_to(loop, fds);
}

TEST_CASE("query timeout from connect_options, and a per-call override", "[pg][timeout]") {
    uvdb::event_loop loop;
    auto opts = t::test_options();
    opts.query_timeout = 300ms;
    auto conn = t::connect_or_fail(loop, opts);

    const auto start = clock_type::now();
    auto r = t::query_sync(loop, *conn, "SELECT pg_sleep(30)", {}, {}, 10s);
    expect_timeout(r);
    CHECK(t::ms_since(start) < 2000);

    // 0 = no deadline for this call, although the connection's default is 300 ms.
    auto slow =
        t::query_sync(loop, *conn, "SELECT 4 FROM pg_sleep(0.6)", {}, with_timeout(0ms), 10s);
    REQUIRE(slow.ok());
    CHECK(slow->value<int>() == 4);

    // A longer per-call deadline wins over the default.
    auto longer =
        t::query_sync(loop, *conn, "SELECT 5 FROM pg_sleep(0.5)", {}, with_timeout(5000ms), 10s);
    REQUIRE(longer.ok());
    CHECK(longer->value<int>() == 5);
}

TEST_CASE("timeouts in a row with queued statements behind them", "[pg][timeout]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    for (int round = 0; round < 3; ++round) {
        INFO("round " << round);
        auto slow = t::make_query_slot();
        auto next = t::make_query_slot();
        conn->query("SELECT pg_sleep(30)", {}, with_timeout(300ms), t::store_in(slow));
        // Queued behind the slow one: must run, and must not be cancelled.
        conn->query("SELECT $1::int * 2 FROM pg_sleep(0.3)", uvdb::make_params(round + 10),
                    t::store_in(next));
        t::run_until(
            loop, [&] { return slow->has_value() && next->has_value(); }, 10s,
            "the timed-out query and the one queued behind it");
        expect_timeout(**slow);
        REQUIRE(next->value().ok());
        CHECK(next->value()->value<int>() == (round + 10) * 2);
    }
    CHECK(t::scalar<int>(loop, *conn, "SELECT 1") == 1);
}

TEST_CASE("cancel() on a running pg_sleep completes it with cancelled", "[pg][timeout][cancel]") {
    uvdb::event_loop loop;
    const auto fds = t::open_fd_count();
    {
        auto conn = t::connect_or_fail(loop, t::test_options());
        auto got = t::make_query_slot();
        conn->query("SELECT pg_sleep(30)", t::store_in(got));
        t::run_for(loop, 300ms);
        REQUIRE_FALSE(got->has_value());
        CHECK_FALSE(conn->is_idle());

        const auto start = clock_type::now();
        conn->cancel();
        t::run_until(
            loop, [&] { return got->has_value(); }, 5s, "the cancelled query's callback");
        const auto took = t::ms_since(start);
        INFO("cancel took " << took << " ms");
        CHECK(took < 2000);
        REQUIRE_FALSE(got->value().ok());
        const uvdb::error& e = got->value().err();
        INFO(t::describe(e));
        CHECK(e.value() == errc::cancelled);
        CHECK(e.sqlstate() == "57014");
        CHECK_FALSE(e.is_fatal());

        CHECK(t::scalar<int>(loop, *conn, "SELECT 1") == 1);
        CHECK(t::scalar<int>(loop, *conn, "SELECT 2 FROM pg_sleep(0.3)") == 2);
    }
    t::check_fds_return_to(loop, fds);
}

TEST_CASE("cancel() with nothing running has no effect on later statements",
          "[pg][timeout][cancel]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    conn->cancel();
    t::run_for(loop, 50ms);
    CHECK(t::scalar<int>(loop, *conn, "SELECT 5 FROM pg_sleep(0.5)") == 5);

    // cancel() from inside a completion callback, before the next statement.
    auto second = t::make_query_slot();
    uvdb::connection* c = conn.get();
    conn->query("SELECT 1", [c, second](uvdb::result<uvdb::result_set>) {
        c->cancel();
        c->query("SELECT 6 FROM pg_sleep(0.5)", t::store_in(second));
    });
    t::run_until(
        loop, [&] { return second->has_value(); }, 5s, "the statement after a stray cancel");
    REQUIRE(second->value().ok());
    CHECK(second->value()->value<int>() == 6);
}
