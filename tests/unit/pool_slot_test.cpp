// The pool slot's state machine, one test per transition. First the slot
// table alone (pool/src/pool_slot.hpp: the one function that changes a
// slot's state and keeps lists and counts right), then each transition the
// pool makes, driven through the pool with the fake driver and the manual
// clock, checking the state counts pool_stats reports before and after.

#include "../../pool/src/pool_slot.hpp"

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <uvdb/pool.hpp>
#include <vector>

#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;
using uvdb::detail::conn_slot;
using uvdb::detail::judge_reuse;
using uvdb::detail::reuse_verdict;
using uvdb::detail::slot_state;
using uvdb::detail::slot_table;

namespace {

// What pool_stats says about the slots' states.
struct states {
    std::size_t connecting = 0;
    std::size_t idle = 0;
    std::size_t pending = 0;  // pinging + resetting
    std::size_t checked_out = 0;
    std::size_t total = 0;
    bool operator==(const states&) const = default;
};

std::ostream& operator<<(std::ostream& os, const states& s) {
    return os << "{connecting " << s.connecting << ", idle " << s.idle << ", pending " << s.pending
              << ", checked_out " << s.checked_out << ", total " << s.total << "}";
}

// Between two calls no slot is detached, so every slot the pool counts is in
// exactly one of the reported states.
states states_of(pool_harness& h) {
    const pool_stats st = h.stats();
    CHECK(st.total == st.connecting + st.idle + st.pending + st.checked_out);
    return {st.connecting, st.idle, st.pending, st.checked_out, st.total};
}

pool_options no_idle_options(std::size_t size = 1) {
    auto o = test_pool_options(size, 0);
    o.min_idle = 0;
    return o;
}

// A pool of `size` with every connection opened and idle.
void open_idle(pool_harness& h, std::size_t size) {
    std::vector<lease> held;
    for (std::size_t i = 0; i < size; ++i) held.push_back(h.acquire_now());
    held.clear();
    h.settle();
    REQUIRE(states_of(h) == states{0, size, 0, 0, size});
}

}  // namespace

// ================================================================ slot_table alone

TEST_CASE("slot_table: open takes a free slot to connecting", "[unit][slot]") {
    slot_table t;
    conn_slot& s = t.open();
    CHECK(s.state == slot_state::connecting);
    CHECK(t.count(slot_state::connecting) == 1);
    CHECK(t.total() == 1);
    CHECK(t.consistent());
}

TEST_CASE("slot_table: set_state keeps every list and count right for each pair of states",
          "[unit][slot]") {
    const std::vector<slot_state> all{
        slot_state::detached, slot_state::connecting, slot_state::idle,     slot_state::pinging,
        slot_state::leased,   slot_state::leaked,     slot_state::resetting};
    for (slot_state from : all) {
        for (slot_state to : all) {
            slot_table t;
            conn_slot& other = t.open();  // a bystander that must stay where it is
            t.set_state(other, slot_state::idle);
            conn_slot& s = t.open();
            t.set_state(s, from);
            t.set_state(s, to);
            INFO("from " << static_cast<int>(from) << " to " << static_cast<int>(to));
            CHECK(s.state == to);
            CHECK(t.total() == 2);
            CHECK(t.count(to) == (to == slot_state::idle ? 2U : 1U));
            CHECK(t.idle().size() == t.count(slot_state::idle));
            CHECK(t.leased().size() == t.count(slot_state::leased));
            CHECK(t.leaked().size() == t.count(slot_state::leaked));
            CHECK(t.lent_count() == t.count(slot_state::leased) + t.count(slot_state::leaked));
            CHECK(t.consistent());
        }
    }
}

TEST_CASE("slot_table: to free bumps the epoch, uncounts the slot and reuses it", "[unit][slot]") {
    slot_table t;
    conn_slot& s = t.open();
    t.set_state(s, slot_state::idle);
    const auto epoch = s.epoch;
    t.set_state(s, slot_state::free);
    CHECK(s.epoch == epoch + 1);
    CHECK(t.total() == 0);
    CHECK(t.idle().empty());
    CHECK(t.consistent());
    conn_slot& again = t.open();
    CHECK(&again == &s);  // no new record
    CHECK(t.consistent());
}

TEST_CASE("slot_table: lists keep the order slots entered them", "[unit][slot]") {
    slot_table t;
    conn_slot& a = t.open();
    conn_slot& b = t.open();
    conn_slot& c = t.open();
    t.set_state(b, slot_state::idle);
    t.set_state(a, slot_state::idle);
    t.set_state(c, slot_state::idle);
    CHECK(&t.idle().front() == &b);
    CHECK(&t.idle().back() == &c);
    t.set_state(a, slot_state::leased);
    t.set_state(b, slot_state::leased);
    CHECK(&t.leased().front() == &a);
    t.set_state(a, slot_state::leaked);
    CHECK(&t.leased().front() == &b);
    CHECK(&t.leaked().front() == &a);
    CHECK(t.consistent());
}

// ================================================================ reuse verdict

TEST_CASE("judge_reuse: stale, broken, role lost, expired, busy, else reuse", "[unit][slot]") {
    event_loop loop;
    fake_driver drv;
    connect_options co;
    co.url = "fake://x";
    std::optional<result<void>> connected;
    conn_slot s;
    s.conn = drv.connect(loop, co, [&](result<void> r) { connected.emplace(std::move(r)); });
    loop.run();
    REQUIRE(connected.has_value());
    REQUIRE(connected->ok());
    const auto now = detail::time_point{} + std::chrono::seconds(10);
    s.generation = 3;
    s.expires_at = now + 1ms;

    CHECK(judge_reuse(s, 3, now) == reuse_verdict::reuse);
    CHECK(judge_reuse(s, 4, now) == reuse_verdict::stale);
    CHECK(judge_reuse(s, 3, now + 1ms) == reuse_verdict::expired);
    CHECK(judge_reuse(s, 4, now + 1ms) == reuse_verdict::stale);  // the cheapest reason first

    std::optional<result<result_set>> got;
    s.conn->query("SELECT 1", [&](result<result_set> r) { got.emplace(std::move(r)); });
    CHECK(judge_reuse(s, 3, now) == reuse_verdict::busy);
    loop.run();
    CHECK(judge_reuse(s, 3, now) == reuse_verdict::reuse);

    // A server that no longer has the role the connection was opened for.
    static_cast<fake_connection&>(*s.conn).lose_role();
    CHECK(judge_reuse(s, 3, now) == reuse_verdict::role_lost);
    CHECK(judge_reuse(s, 4, now) == reuse_verdict::stale);
    // Past its recycle deadline too: the lost role still decides, so the
    // other connections to that server are retired with it.
    CHECK(judge_reuse(s, 3, now + 1ms) == reuse_verdict::role_lost);

    static_cast<fake_connection&>(*s.conn).kill();
    s.conn->query("SELECT 1", [&](result<result_set> r) { got.emplace(std::move(r)); });
    loop.run();
    CHECK(judge_reuse(s, 3, now) == reuse_verdict::broken);
    s.conn->close();
    loop.run();
}

// ================================================================ the pool's transitions

TEST_CASE("free -> connecting: a waiter with no idle connection starts a connect", "[unit][slot]") {
    pool_harness h;
    h.fake().connect_latency = 10ms;
    h.make(no_idle_options());
    CHECK(states_of(h) == states{0, 0, 0, 0, 0});
    auto p = h.acquire();
    h.settle();
    CHECK(states_of(h) == states{1, 0, 0, 0, 1});
    CHECK(p->calls == 0);
}

TEST_CASE("connecting -> leased: a new connection goes to the waiter it was opened for",
          "[unit][slot]") {
    pool_harness h;
    h.fake().connect_latency = 10ms;
    h.make(no_idle_options());
    auto p = h.acquire();
    h.settle();
    h.advance(10ms);
    REQUIRE(p->ok());
    CHECK(states_of(h) == states{0, 0, 0, 1, 1});
}

TEST_CASE("connecting -> idle: a connection opened for min_idle waits idle", "[unit][slot]") {
    pool_harness h;
    h.fake().connect_latency = 10ms;
    auto o = no_idle_options(2);
    o.min_idle = 1;
    h.make(o);
    h.settle();
    CHECK(states_of(h) == states{1, 0, 0, 0, 1});
    h.advance(10ms);
    CHECK(states_of(h) == states{0, 1, 0, 0, 1});
}

TEST_CASE("connecting -> free: a failed connect frees the slot", "[unit][slot]") {
    pool_harness h;
    h.fake().connect_script.push_back(refused_error());
    h.make(no_idle_options());
    auto p = h.acquire(1'000ms);
    h.settle();
    CHECK(h.stats().connect_failures == 1);
    CHECK(states_of(h) == states{0, 0, 0, 0, 0});  // the retry waits for the back-off
    CHECK(h.driver->live() == 0);
    CHECK(p->calls == 0);
}

TEST_CASE("idle -> leased: a fresh idle connection is checked out without a ping", "[unit][slot]") {
    pool_harness h;
    h.make(no_idle_options());
    open_idle(h, 1);
    auto l = h.get().try_acquire();
    REQUIRE(l.has_value());
    CHECK(states_of(h) == states{0, 0, 0, 1, 1});
    CHECK(h.fake().pings == 0);
}

TEST_CASE("idle -> pinging: an idle connection past the ping threshold is pinged first",
          "[unit][slot]") {
    pool_harness h;
    h.fake().ping_latency = 5ms;
    h.make(no_idle_options());
    open_idle(h, 1);
    h.advance(500ms);
    CHECK_FALSE(h.get().try_acquire().has_value());  // the fast path leaves pings to the slow one
    auto p = h.acquire();
    h.settle();
    CHECK(states_of(h) == states{0, 0, 1, 0, 1});
    CHECK(p->calls == 0);
}

TEST_CASE("pinging -> leased: a good ping hands the connection to the waiter", "[unit][slot]") {
    pool_harness h;
    h.fake().ping_latency = 5ms;
    h.make(no_idle_options());
    open_idle(h, 1);
    h.advance(500ms);
    auto p = h.acquire();
    h.advance(5ms);
    REQUIRE(p->ok());
    CHECK(states_of(h) == states{0, 0, 0, 1, 1});
    CHECK(h.stats().pings == 1);
}

TEST_CASE("pinging -> idle: a good ping with nobody left waiting makes the connection idle",
          "[unit][slot]") {
    pool_harness h;
    h.fake().ping_latency = 50ms;
    h.make(no_idle_options(2));
    open_idle(h, 2);
    h.advance(500ms);
    auto a = h.acquire(1'000ms);
    auto b = h.acquire(10ms);  // gives up before its ping answers
    h.settle();
    CHECK(states_of(h) == states{0, 0, 2, 0, 2});
    h.advance(10ms);
    CHECK(b->failed_with(errc::pool_timeout));
    h.advance(40ms);
    REQUIRE(a->ok());
    CHECK(states_of(h) == states{0, 1, 0, 1, 2});
}

TEST_CASE("pinging -> free: a failed ping frees the slot and a new connect serves the waiter",
          "[unit][slot]") {
    pool_harness h;
    h.fake().ping_fault = [](fake_connection&) { return std::optional<error>(lost_error()); };
    h.make(no_idle_options());
    open_idle(h, 1);
    h.fake().connect_latency = 10ms;
    h.advance(500ms);
    auto p = h.acquire();
    h.settle();
    CHECK(h.stats().ping_failures == 1);
    CHECK(states_of(h) == states{1, 0, 0, 0, 1});  // the old slot is free, a new one connects
    h.advance(10ms);
    CHECK(p->ok());
}

TEST_CASE("leased -> idle: a connection returned with nothing to reset is idle at once",
          "[unit][slot]") {
    pool_harness h;
    h.make(no_idle_options());
    lease l = h.acquire_now();
    CHECK(states_of(h) == states{0, 0, 0, 1, 1});
    l.release();
    CHECK(states_of(h) == states{0, 1, 0, 0, 1});
    CHECK(h.fake().resets == 0);
}

TEST_CASE("leased -> leased: a connection returned while someone waits goes to them",
          "[unit][slot]") {
    pool_harness h;
    h.make(no_idle_options());
    lease l = h.acquire_now();
    auto p = h.acquire();
    h.settle();
    CHECK(h.stats().waiting == 1);
    l.release();
    CHECK(states_of(h) == states{0, 0, 0, 1, 1});
    h.settle();
    CHECK(p->ok());
}

TEST_CASE("leased -> resetting: a connection returned inside a transaction is reset",
          "[unit][slot]") {
    pool_harness h;
    h.fake().reset_latency = 10ms;
    h.make(no_idle_options());
    lease l = h.acquire_now();
    REQUIRE(h.run(l, "BEGIN").ok());
    l.release();
    CHECK(states_of(h) == states{0, 0, 1, 0, 1});
    CHECK(h.fake().resets == 1);
}

TEST_CASE("leased -> resetting: the reset query runs on a normal return, not on one without reset",
          "[unit][slot]") {
    pool_harness h;
    auto o = no_idle_options();
    o.reset_query = "DISCARD ALL";
    h.make(o);
    {
        lease l = h.acquire_now();
        l.release();
        CHECK(states_of(h) == states{0, 0, 1, 0, 1});
    }
    h.settle();
    CHECK(h.fake().sql_log.back() == "DISCARD ALL");
    const auto statements = h.fake().sql_log.size();
    {
        lease l = h.acquire_now();
        l.release_without_reset();
        CHECK(states_of(h) == states{0, 1, 0, 0, 1});
    }
    h.settle();
    CHECK(h.fake().sql_log.size() == statements);
}

TEST_CASE("resetting -> idle: a reset connection with nobody waiting is idle", "[unit][slot]") {
    pool_harness h;
    h.fake().reset_latency = 10ms;
    h.make(no_idle_options());
    lease l = h.acquire_now();
    REQUIRE(h.run(l, "BEGIN").ok());
    l.release();
    h.advance(10ms);
    CHECK(states_of(h) == states{0, 1, 0, 0, 1});
}

TEST_CASE("resetting -> leased: a reset connection goes to the waiter", "[unit][slot]") {
    pool_harness h;
    h.fake().reset_latency = 10ms;
    h.make(no_idle_options());
    lease l = h.acquire_now();
    REQUIRE(h.run(l, "BEGIN").ok());
    auto p = h.acquire();
    l.release();
    h.settle();
    CHECK(p->calls == 0);
    h.advance(10ms);
    REQUIRE(p->ok());
    CHECK(states_of(h) == states{0, 0, 0, 1, 1});
    CHECK(p->take()->transaction_status() == tx_status::idle);
}

TEST_CASE("resetting -> free: a failed reset frees the slot", "[unit][slot]") {
    pool_harness h;
    h.fake().reset_fault = [](fake_connection&) { return std::optional<error>(lost_error()); };
    h.make(no_idle_options());
    lease l = h.acquire_now();
    REQUIRE(h.run(l, "BEGIN").ok());
    l.release();
    h.settle();
    CHECK(states_of(h) == states{0, 0, 0, 0, 0});
    CHECK(h.stats().closed_broken == 1);
    CHECK(h.driver->live() == 0);
}

TEST_CASE("leased -> leaked: a lease held past leak_threshold is reported once", "[unit][slot]") {
    pool_harness h;
    auto o = no_idle_options();
    o.leak_threshold = 100ms;
    h.make(o);
    lease l = h.acquire_now();
    h.advance(100ms);
    CHECK(h.stats().leaks_reported == 1);
    CHECK(states_of(h) == states{0, 0, 0, 1, 1});  // still checked out
    CHECK(h.get().longest_held() == 100ms);
    h.advance(100ms);
    CHECK(h.stats().leaks_reported == 1);
}

TEST_CASE("leaked -> idle: a leaked lease given back is reused like any other", "[unit][slot]") {
    pool_harness h;
    auto o = no_idle_options();
    o.leak_threshold = 100ms;
    h.make(o);
    lease l = h.acquire_now();
    h.advance(100ms);
    REQUIRE(h.stats().leaks_reported == 1);
    l.release();
    CHECK(states_of(h) == states{0, 1, 0, 0, 1});
    CHECK(h.get().longest_held() == 0ms);
}

TEST_CASE("leased -> free: invalidate discards the connection", "[unit][slot]") {
    pool_harness h;
    h.make(no_idle_options());
    lease l = h.acquire_now();
    l.invalidate();
    CHECK(states_of(h) == states{0, 0, 0, 0, 0});
    CHECK(h.stats().invalidated == 1);
}

TEST_CASE("leased -> free: a transaction left open in a pool that does not reset", "[unit][slot]") {
    pool_harness h;
    auto o = no_idle_options();
    o.reset_on_return = false;
    h.make(o);
    lease l = h.acquire_now();
    REQUIRE(h.run(l, "BEGIN").ok());
    l.release_without_reset();
    CHECK(states_of(h) == states{0, 0, 0, 0, 0});
    CHECK(h.fake().resets == 0);
}

TEST_CASE("leased -> free: the reuse verdict at checkin (busy, broken, expired)", "[unit][slot]") {
    pool_harness h;
    auto o = no_idle_options();
    o.recycle = 1'000ms;
    o.recycle_jitter = 0;
    h.make(o);
    SECTION("busy: returned with a statement running") {
        lease l = h.acquire_now();
        l->query("SELECT 1", [](result<result_set>) {});
        l.release();
        CHECK(states_of(h) == states{0, 0, 0, 0, 0});
        CHECK(h.stats().closed_broken == 1);
    }
    SECTION("broken") {
        lease l = h.acquire_now();
        static_cast<fake_connection&>(*l).kill();
        CHECK_FALSE(h.run(l, "SELECT 1").ok());
        REQUIRE(l->is_broken());
        l.release();
        CHECK(states_of(h) == states{0, 0, 0, 0, 0});
        CHECK(h.stats().closed_broken == 1);
    }
    SECTION("expired") {
        lease l = h.acquire_now();
        h.advance(1'000ms);
        l.release();
        CHECK(states_of(h) == states{0, 0, 0, 0, 0});
        CHECK(h.stats().recycled == 1);
    }
}

TEST_CASE("idle -> free: the reuse verdict at checkout (stale, expired)", "[unit][slot]") {
    pool_harness h;
    auto o = no_idle_options(2);
    o.recycle = 1'000ms;
    o.recycle_jitter = 0;
    h.make(o);
    SECTION("stale: opened before the server went away") {
        lease a = h.acquire_now();
        lease b = h.acquire_now();
        a.release();
        b.invalidate(lost_error());  // the server went away: idle a is of the old generation
        h.settle();
        CHECK(h.stats().invalidated == 1);
        CHECK(states_of(h) == states{0, 1, 0, 0, 1});  // judged at its next checkout
        h.fake().connect_latency = 10ms;
        CHECK_FALSE(h.get().try_acquire().has_value());
        auto p = h.acquire();
        h.settle();
        CHECK(h.stats().invalidated == 2);
        CHECK(h.stats().pings == 0);  // replaced without a ping
        CHECK(states_of(h) == states{1, 0, 0, 0, 1});
        h.advance(10ms);
        CHECK(p->ok());
    }
    SECTION("expired") {
        open_idle(h, 1);
        h.fake().connect_latency = 10ms;
        h.advance(1'000ms);
        CHECK_FALSE(h.get().try_acquire().has_value());
        auto p = h.acquire();
        h.settle();
        CHECK(h.stats().recycled == 1);
        CHECK(states_of(h) == states{1, 0, 0, 0, 1});
    }
}

TEST_CASE("idle -> free: an idle connection past idle_timeout is closed", "[unit][slot]") {
    pool_harness h;
    auto o = no_idle_options(2);
    o.idle_timeout = 1'000ms;
    h.make(o);
    open_idle(h, 2);
    h.advance(1'000ms);
    CHECK(states_of(h) == states{0, 0, 0, 0, 0});
    CHECK(h.stats().idle_closed == 2);
}

TEST_CASE("idle, connecting, pinging, resetting -> free on close; leased -> free when returned",
          "[unit][slot]") {
    pool_harness h;
    h.fake().ping_latency = 50ms;
    h.fake().reset_latency = 50ms;
    auto o = no_idle_options(4);
    o.pre_ping_idle_threshold = 100ms;
    h.make(o);
    open_idle(h, 3);
    h.fake().connect_latency = 50ms;
    auto held = h.get().try_acquire();
    auto resetting = h.get().try_acquire();
    REQUIRE(held.has_value());
    REQUIRE(resetting.has_value());
    REQUIRE(h.run(*resetting, "BEGIN").ok());
    h.advance(100ms);  // the third, idle, now needs a ping
    resetting->release();
    auto p1 = h.acquire();  // pings the idle one
    auto p2 = h.acquire();  // opens a new one
    h.settle();
    CHECK(states_of(h) == states{1, 0, 2, 1, 4});
    h.get().close();
    CHECK(states_of(h) == states{0, 0, 0, 1, 1});
    h.settle();
    CHECK(p1->failed_with(errc::pool_closed));
    CHECK(p2->failed_with(errc::pool_closed));
    held->release();
    CHECK(states_of(h) == states{0, 0, 0, 0, 0});
    h.settle();
    CHECK(h.driver->live() == 0);
}
