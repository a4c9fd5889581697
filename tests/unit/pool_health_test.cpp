// Keeping connections healthy: pre-ping, recycle (with jitter), idle
// timeout, reset on return, broken and busy connections, pool-wide
// invalidation.

#include <catch2/catch.hpp>
#include <set>
#include <uvdb/pool.hpp>

#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;

// ---------------------------------------------------------------- pre-ping

TEST_CASE("a connection idle past the threshold is pinged; one used a moment ago is not",
          "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    { lease l = h.acquire_now(); }  // fresh connections are never pinged
    CHECK(h.fake().pings == 0);
    h.advance(499ms);
    { lease l = h.acquire_now(); }
    CHECK(h.fake().pings == 0);
    h.advance(500ms);
    { lease l = h.acquire_now(); }
    CHECK(h.fake().pings == 1);
    CHECK(h.stats().pings == 1);
    { lease l = h.acquire_now(); }  // just used again
    CHECK(h.fake().pings == 1);
}

TEST_CASE("pre_ping_idle_threshold 0 pings at every checkout; pre_ping off never", "[unit][pool]") {
    {
        pool_harness h;
        auto o = test_pool_options(1, 0);
        o.pre_ping_idle_threshold = 0ms;
        h.make(o);
        { lease l = h.acquire_now(); }
        { lease l = h.acquire_now(); }
        { lease l = h.acquire_now(); }
        CHECK(h.fake().pings == 2);
    }
    {
        pool_harness h;
        auto o = test_pool_options(1, 0);
        o.pre_ping = false;
        h.make(o);
        { lease l = h.acquire_now(); }
        h.advance(60'000ms);
        { lease l = h.acquire_now(); }
        CHECK(h.fake().pings == 0);
    }
}

TEST_CASE("a failed ping replaces the connection without the caller seeing an error",
          "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(2, 0));
    std::int64_t old_pid = 0;
    {
        lease l = h.acquire_now();
        old_pid = l->server_pid();
    }
    h.fake().ping_fault = [](fake_connection&) {
        return std::optional<error>(error(errc::timeout, "ping timed out").with_fatal(true));
    };
    h.advance(1'000ms);
    lease l = h.acquire_now();
    CHECK(l->server_pid() != old_pid);
    auto st = h.stats();
    CHECK(st.ping_failures == 1);
    CHECK(st.connects == 2);
    CHECK(st.total == 1);
    CHECK(h.driver->live() == 1);
}

TEST_CASE("a ping that never answers cannot hang acquire", "[unit][pool]") {
    pool_harness h;
    auto o = test_pool_options(2, 0);
    o.ping_timeout = 2'000ms;
    h.make(o);
    { lease l = h.acquire_now(); }
    h.fake().ping_hangs = true;  // black-holed socket
    h.advance(1'000ms);
    auto p = h.acquire();
    h.advance(1'999ms);
    CHECK(p->calls == 0);
    h.advance(1ms);  // the ping's own deadline: replaced by a new connection
    CHECK(p->ok());
    REQUIRE(h.fake().ping_deadlines.size() == 1);
    CHECK(h.fake().ping_deadlines[0] == 2'000ms);
}

TEST_CASE("the ping deadline is capped by the caller's time left", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));  // ping_timeout 5 s
    { lease l = h.acquire_now(); }
    h.advance(1'000ms);
    auto p = h.acquire(1'500ms);
    h.settle();
    REQUIRE(h.fake().ping_deadlines.size() == 1);
    CHECK(h.fake().ping_deadlines[0] == 1'500ms);
}

// ---------------------------------------------------------------- recycle

TEST_CASE("a connection older than recycle is replaced at checkout", "[unit][pool]") {
    pool_harness h;
    auto o = test_pool_options(1, 0);
    o.recycle = 10'000ms;
    o.recycle_jitter = 0.0;
    h.make(o);
    std::int64_t pid = 0;
    {
        lease l = h.acquire_now();
        pid = l->server_pid();
    }
    h.advance(9'999ms);
    {
        lease l = h.acquire_now();
        CHECK(l->server_pid() == pid);
    }
    h.advance(1ms);
    {
        lease l = h.acquire_now();
        CHECK(l->server_pid() != pid);
    }
    CHECK(h.stats().recycled == 1);
    CHECK(h.driver->live() == 1);
}

TEST_CASE("a connection is never recycled while leased, but at checkin", "[unit][pool]") {
    pool_harness h;
    auto o = test_pool_options(1, 0);
    o.recycle = 10'000ms;
    o.recycle_jitter = 0.0;
    h.make(o);
    lease l = h.acquire_now();
    h.advance(20'000ms);
    CHECK(h.driver->live() == 1);
    CHECK(h.run(l, "SELECT 1").ok());
    l.release();
    h.settle();
    CHECK(h.stats().recycled == 1);
    CHECK(h.driver->live() == 0);
}

TEST_CASE("recycle jitter spreads lifetimes over the last fraction", "[unit][pool]") {
    pool_harness h;
    auto o = test_pool_options(20, 0);
    o.recycle = 10'000ms;
    o.recycle_jitter = 0.5;  // lifetimes between 5 s and 10 s
    o.pre_ping = false;
    h.make(o);
    auto cycle_all = [&] {
        std::vector<lease> all;
        for (int i = 0; i < 20; ++i) all.push_back(h.acquire_now());
    };
    cycle_all();  // opens 20 at once
    h.advance(4'999ms);
    cycle_all();
    CHECK(h.stats().recycled == 0);
    h.advance(2'500ms);  // 7.5 s: some, not all, are past their lifetime
    cycle_all();
    const auto mid = h.stats().recycled;
    CHECK(mid > 0);
    CHECK(mid < 20);
    h.advance(2'500ms);  // 10 s: every original one is past it
    {
        std::vector<lease> all;
        for (int i = 0; i < 20; ++i) all.push_back(h.acquire_now());
    }
    CHECK(h.stats().recycled == 20);
}

TEST_CASE("recycle 0 disables recycling", "[unit][pool]") {
    pool_harness h;
    auto o = test_pool_options(1, 0);
    o.recycle = 0ms;
    h.make(o);
    std::int64_t pid = 0;
    {
        lease l = h.acquire_now();
        pid = l->server_pid();
    }
    h.advance(std::chrono::hours(48));
    lease l = h.acquire_now();
    CHECK(l->server_pid() == pid);
}

// ---------------------------------------------------------------- idle timeout

TEST_CASE("idle connections above min_idle close after idle_timeout; the sweep stops after",
          "[unit][pool]") {
    pool_harness h;
    auto o = test_pool_options(3, 0);
    o.idle_timeout = 60'000ms;
    o.min_idle = 1;
    h.make(o);
    h.settle();
    CHECK(h.clock->scheduled() == 0);  // one idle = min_idle: nothing to sweep
    {
        std::vector<lease> all;
        for (int i = 0; i < 3; ++i) all.push_back(h.acquire_now());
    }
    h.settle();
    CHECK(h.stats().idle == 3);
    CHECK(h.clock->scheduled() == 1);  // the sweep
    h.advance(59'999ms);
    CHECK(h.stats().idle == 3);
    h.advance(1ms);
    auto st = h.stats();
    CHECK(st.idle == 1);
    CHECK(st.idle_closed == 2);
    CHECK(h.driver->live() == 1);
    CHECK(h.clock->scheduled() == 0);
}

// ---------------------------------------------------------------- reset on return

TEST_CASE("a connection returned inside a transaction is reset before reuse", "[unit][pool]") {
    pool_harness h;
    h.fake().reset_latency = 10ms;
    h.make(test_pool_options(1, 0));
    lease l = h.acquire_now();
    CHECK(h.run(l, "BEGIN").ok());
    CHECK(l->transaction_status() == tx_status::in_transaction);
    auto p = h.acquire();
    l.release();
    h.settle();
    CHECK(h.fake().resets == 1);
    CHECK(p->calls == 0);  // not handed out mid-reset
    CHECK(h.stats().pending == 1);
    h.advance(10ms);
    REQUIRE(p->ok());
    CHECK(p->take()->transaction_status() == tx_status::idle);
}

TEST_CASE("a connection with no transaction open is returned without a reset", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    {
        lease l = h.acquire_now();
        CHECK(h.run(l, "SELECT 1").ok());
    }
    h.settle();
    CHECK(h.fake().resets == 0);
    CHECK(h.stats().idle == 1);
}

// reset_on_return off and release_without_reset skip the reset round trip,
// but never hand the next caller a transaction (docs/FAULTS.md row 16): a
// connection that comes back inside one is reset anyway, or discarded when
// the pool is configured not to reset.
TEST_CASE("reset_on_return off and release_without_reset skip the reset", "[unit][pool]") {
    SECTION("option off: a connection outside a transaction is kept without a reset") {
        pool_harness h;
        auto o = test_pool_options(1, 0);
        o.reset_on_return = false;
        h.make(o);
        std::int64_t first = 0;
        {
            lease l = h.acquire_now();
            first = l->server_pid();
            CHECK(h.run(l, "SELECT 1").ok());
        }
        lease again = h.acquire_now();
        CHECK(h.fake().resets == 0);
        CHECK(again->server_pid() == first);
    }
    SECTION("option off: a connection inside a transaction is discarded, not reset") {
        pool_harness h;
        auto o = test_pool_options(1, 0);
        o.reset_on_return = false;
        h.make(o);
        std::int64_t first = 0;
        {
            lease l = h.acquire_now();
            first = l->server_pid();
            CHECK(h.run(l, "BEGIN").ok());
        }
        lease again = h.acquire_now();
        CHECK(h.fake().resets == 0);
        CHECK(again->server_pid() != first);
        CHECK(again->transaction_status() == tx_status::idle);
    }
    SECTION("per lease: no reset when no transaction is open") {
        pool_harness h;
        h.make(test_pool_options(1, 0));
        {
            lease l = h.acquire_now();
            CHECK(h.run(l, "SELECT 1").ok());
            l.release_without_reset();
            CHECK_FALSE(static_cast<bool>(l));
        }
        lease again = h.acquire_now();
        CHECK(h.fake().resets == 0);
    }
    SECTION("per lease: a transaction left open is reset all the same") {
        pool_harness h;
        h.make(test_pool_options(1, 0));
        {
            lease l = h.acquire_now();
            CHECK(h.run(l, "BEGIN").ok());
            l.release_without_reset();
            CHECK_FALSE(static_cast<bool>(l));
        }
        lease again = h.acquire_now();
        CHECK(h.fake().resets == 1);
        CHECK(again->transaction_status() == tx_status::idle);
    }
}

TEST_CASE("a failed reset destroys the connection", "[unit][pool]") {
    pool_harness h;
    h.fake().reset_fault = [](fake_connection&) { return std::optional<error>(lost_error()); };
    h.make(test_pool_options(1, 0));
    {
        lease l = h.acquire_now();
        CHECK(h.run(l, "BEGIN").ok());
    }
    h.settle();
    CHECK(h.stats().closed_broken == 1);
    CHECK(h.stats().total == 0);
    CHECK(h.driver->live() == 0);
}

TEST_CASE("a connection returned with a query running is destroyed", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    std::optional<result<result_set>> got;
    {
        lease l = h.acquire_now();
        l->query("SLEEP 1000", [&](result<result_set> r) { got.emplace(std::move(r)); });
    }
    h.settle();
    CHECK(h.stats().closed_broken == 1);
    CHECK(h.driver->live() == 0);
    REQUIRE(got.has_value());
    CHECK_FALSE(got->ok());
    CHECK(got->err().value() == errc::closed);
}

TEST_CASE("a broken connection is destroyed on return", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    {
        lease l = h.acquire_now();
        static_cast<fake_connection&>(*l).kill();
        CHECK_FALSE(h.run(l, "SELECT 1").ok());
        CHECK(l->is_broken());
    }
    h.settle();
    CHECK(h.stats().closed_broken == 1);
    CHECK(h.driver->live() == 0);
}

// ---------------------------------------------------------------- invalidation

TEST_CASE("lease.invalidate() discards only that connection", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(3, 0));
    {
        std::vector<lease> all;
        for (int i = 0; i < 3; ++i) all.push_back(h.acquire_now());
        all[0].invalidate();
    }
    h.settle();
    CHECK(h.stats().idle == 2);
    CHECK(h.stats().invalidated == 1);
    const auto connects = h.fake().connect_attempts;
    {
        lease a = h.acquire_now();
        lease b = h.acquire_now();
    }
    CHECK(h.fake().connect_attempts == connects);  // the other two are reused
}

TEST_CASE("a server-gone error replaces every older connection, without pinging them",
          "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(4, 0));
    std::set<std::int64_t> old_pids;
    lease survivor_lease;
    {
        std::vector<lease> all;
        for (int i = 0; i < 4; ++i) {
            all.push_back(h.acquire_now());
            old_pids.insert(all.back()->server_pid());
        }
        survivor_lease = std::move(all[3]);  // stays out across the invalidation
        all[1].release();
        all[2].release();
        h.advance(1'000ms);               // idle long enough to be pinged
        all[0].invalidate(lost_error());  // the server restarted
    }
    h.settle();
    CHECK(h.stats().idle == 2);  // marked, not yet closed
    const auto pings_before = h.fake().pings;
    std::vector<lease> fresh;
    for (int i = 0; i < 3; ++i) fresh.push_back(h.acquire_now());
    for (auto& l : fresh) CHECK(old_pids.count(l->server_pid()) == 0);
    CHECK(h.fake().pings == pings_before);  // replaced without a ping
    // The old connection still leased is closed when it comes back.
    survivor_lease.release();
    h.settle();
    CHECK(h.stats().invalidated == 4);
    fresh.clear();
    h.settle();
    CHECK(h.stats().idle == 3);
    CHECK(h.driver->live() == 3);
    // Connections opened after the restart are kept.
    const auto connects = h.fake().connect_attempts;
    { lease l = h.acquire_now(); }
    CHECK(h.fake().connect_attempts == connects);
}

TEST_CASE("a failed ping with server-gone invalidates the whole pool", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(3, 0));
    {
        std::vector<lease> all;
        for (int i = 0; i < 3; ++i) all.push_back(h.acquire_now());
    }
    h.driver->kill_all();  // every backend gone
    h.advance(1'000ms);
    lease l = h.acquire_now();
    auto st = h.stats();
    CHECK(st.pings == 1);  // only the first one was pinged
    CHECK(st.ping_failures == 1);
    CHECK(st.invalidated == 2);  // the two others replaced without a ping
    CHECK_FALSE(static_cast<fake_connection&>(*l).dead());
}

TEST_CASE("a fatal error in pool.query invalidates the connection and the older ones",
          "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(2, 0));
    {
        lease a = h.acquire_now();
        lease b = h.acquire_now();
    }
    h.settle();
    h.driver->kill_all();
    auto q = h.query("SELECT 1");
    h.settle();
    REQUIRE(q->calls == 1);
    CHECK_FALSE(q->ok());
    CHECK(q->got->err().value() == errc::connection_lost);
    CHECK(h.stats().invalidated == 1);
    auto q2 = h.query("SELECT 1");
    h.settle();
    CHECK(q2->ok());  // the other dead one was replaced, not used
    CHECK(h.stats().invalidated == 2);
}

TEST_CASE("a failed reset with server-gone invalidates the whole pool", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(3, 0));
    {
        std::vector<lease> all;
        for (int i = 0; i < 3; ++i) all.push_back(h.acquire_now());
        all[1].release();
        all[2].release();
        h.settle();
        CHECK(h.run(all[0], "BEGIN").ok());
        h.fake().reset_fault = [](fake_connection&) { return std::optional<error>(lost_error()); };
    }  // the reset on return fails: the server went away
    h.settle();
    CHECK(h.stats().closed_broken == 1);
    const auto connects = h.fake().connect_attempts;
    lease l = h.acquire_now();
    CHECK(h.fake().connect_attempts == connects + 1);  // the idle ones were not reused
    CHECK(h.stats().invalidated == 2);
}
