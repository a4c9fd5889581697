// pool_options::reset_query (e.g. DISCARD ALL) and returns that need work
// before reuse: the rollback, the reset query, a statement on_checkin left
// running. The next caller gets the connection only once all of it is done.

#include <catch2/catch.hpp>
#include <string>
#include <uvdb/pool.hpp>

#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;
using namespace std::chrono_literals;

namespace {

pool_options discard_all_options() {
    auto o = test_pool_options(1, 0);
    o.reset_query = "DISCARD ALL";
    return o;
}

}  // namespace

TEST_CASE("reset_query runs on every return, after the rollback, before the next caller",
          "[unit][pool]") {
    pool_harness h;
    h.make(discard_all_options());
    std::int64_t pid = 0;
    {
        lease l = h.acquire_now();
        pid = l->server_pid();
        CHECK(h.run(l, "SELECT 1").ok());
    }
    h.settle();
    REQUIRE(h.fake().sql_log.size() == 2);
    CHECK(h.fake().sql_log[1] == "DISCARD ALL");
    CHECK(h.fake().resets == 0);  // no transaction: no rollback
    {
        lease l = h.acquire_now();
        CHECK(l->server_pid() == pid);  // the same connection, reused
        CHECK(h.run(l, "BEGIN").ok());
    }
    h.settle();
    CHECK(h.fake().resets == 1);  // rolled back first (DISCARD ALL cannot run in a transaction)
    CHECK(h.fake().sql_log.back() == "DISCARD ALL");
    CHECK(h.stats().idle == 1);
    CHECK(h.stats().closed_broken == 0);
}

TEST_CASE("reset_query: a waiting caller is served only when the reset query has finished",
          "[unit][pool]") {
    pool_harness h;
    h.make(discard_all_options());
    h.fake().query_latency = 10ms;
    lease held = h.acquire_now();
    auto waiting = h.acquire();
    h.settle();
    CHECK_FALSE(waiting->got);
    held = lease();  // returned: DISCARD ALL starts, 10 ms
    h.advance(9ms);
    CHECK_FALSE(waiting->got);
    CHECK(h.stats().pending == 1);
    h.advance(1ms);
    REQUIRE(waiting->ok());
    lease next = waiting->take();
    CHECK(next->is_idle());
    CHECK(h.fake().sql_log.back() == "DISCARD ALL");
}

TEST_CASE(
    "reset_query fails or times out: the connection is closed, the next caller gets a new one",
    "[unit][pool]") {
    pool_harness h;
    auto o = discard_all_options();
    o.ping_timeout = 50ms;
    const bool times_out = GENERATE(false, true);
    INFO((times_out ? "times out" : "fails"));
    if (times_out) {
        o.reset_query = "SLEEP 1000";
    } else {
        h.fake().query_fault = [](fake_connection&, std::string_view sql) -> std::optional<error> {
            if (sql == "DISCARD ALL")
                return error(errc::server_error, "permission denied (fake)").with_sqlstate("42501");
            return std::nullopt;
        };
    }
    h.make(o);
    std::int64_t pid = 0;
    {
        lease l = h.acquire_now();
        pid = l->server_pid();
    }
    h.advance(50ms);
    CHECK(h.stats().closed_broken == 1);
    CHECK(h.stats().total == 0);
    lease next = h.acquire_now();
    CHECK(next->server_pid() != pid);
    next = lease();
    h.advance(50ms);
    CHECK(h.stats().closed_broken == 2);
    // Every return now closes its connection: the log says why, once.
    CHECK(h.logs.count("check pool_options::reset_query") == 1);
    CHECK(h.logs.count(times_out ? "closed instead: timeout: statement timed out"
                                 : "closed instead: server_error: permission denied") == 1);
}

TEST_CASE("reset_query is skipped by release_without_reset and by invalidate", "[unit][pool]") {
    pool_harness h;
    h.make(discard_all_options());
    {
        lease l = h.acquire_now();
        l.release_without_reset();
    }
    {
        lease l = h.acquire_now();
        l.invalidate();
    }
    h.settle();
    for (const auto& sql : h.fake().sql_log) CHECK(sql != "DISCARD ALL");
    CHECK(h.stats().invalidated == 1);
}

TEST_CASE("on_checkin starting a statement: the connection is reused once it has finished",
          "[unit][pool]") {
    pool_harness h;
    auto o = test_pool_options(1, 0);
    o.on_checkin = [](connection& c) {
        c.execute("SLEEP 30", {}, [](result<std::vector<result_set>>) {});
    };
    h.make(o);
    lease held = h.acquire_now();
    auto waiting = h.acquire();
    held = lease();
    h.advance(29ms);
    CHECK_FALSE(waiting->got);
    h.advance(1ms);
    REQUIRE(waiting->ok());
    lease next = waiting->take();
    CHECK(next->is_idle());  // not busy with the hook's statement
    CHECK(h.stats().closed_broken == 0);
}
