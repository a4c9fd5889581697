// overflow_linger: overflow connections stay open for a while after a burst
// instead of closing on return, so the next burst does not reconnect.

#include <catch2/catch.hpp>
#include <uvdb/pool.hpp>
#include <vector>

#include "unit/config_test_util.hpp"
#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;

namespace {
pool_options linger_options(std::chrono::milliseconds linger) {
    pool_options o = test_pool_options(2, 2);
    o.overflow_linger = linger;
    return o;
}
}  // namespace

TEST_CASE("overflow connections linger idle, then close once they sat idle that long",
          "[unit][pool]") {
    pool_harness h;
    h.make(linger_options(5'000ms));
    std::vector<lease> held;
    for (int i = 0; i < 4; ++i) held.push_back(h.acquire_now());
    held.clear();
    h.settle();
    auto st = h.stats();
    CHECK(st.total == 4);
    CHECK(st.idle == 4);  // kept: a burst coming back soon needs them
    CHECK(st.overflow == 2);
    CHECK(h.driver->live() == 4);

    h.advance(4'999ms);
    CHECK(h.stats().total == 4);
    h.advance(1ms);
    st = h.stats();
    CHECK(st.total == 2);  // down to size, not below
    CHECK(st.idle == 2);
    CHECK(st.overflow_closed == 2);
    CHECK(h.driver->live() == 2);
    CHECK(h.clock->scheduled() == 0);  // nothing left to sweep
}

TEST_CASE("a second burst inside overflow_linger opens no connection", "[unit][pool]") {
    pool_harness h;
    h.make(linger_options(5'000ms));
    {
        std::vector<lease> held;
        for (int i = 0; i < 4; ++i) held.push_back(h.acquire_now());
    }
    h.settle();
    const auto connects = h.stats().connects;
    h.advance(3'000ms);
    {
        std::vector<lease> held;
        for (int i = 0; i < 4; ++i) held.push_back(h.acquire_now());
        CHECK(h.stats().connects == connects);
    }
    h.settle();
    // Idle time counts from the last return: 3 s after the first burst's
    // deadline the connections are still there.
    h.advance(3'000ms);
    CHECK(h.stats().total == 4);
    h.advance(2'000ms);
    CHECK(h.stats().total == 2);
}

TEST_CASE("the oldest idle connections close first; the recently used stay", "[unit][pool]") {
    pool_harness h;
    h.make(linger_options(1'000ms));
    std::vector<lease> held;
    for (int i = 0; i < 4; ++i) held.push_back(h.acquire_now());
    const auto first_returned = held[3]->server_pid();
    held.pop_back();  // returned first: idle the longest... until used again below
    h.settle();
    h.advance(600ms);
    held.clear();
    h.settle();
    {
        lease again = h.acquire_now();  // LIFO: the last returned
        CHECK(again->server_pid() != first_returned);
    }
    h.advance(400ms);  // the first returned has now sat idle 1 s
    auto st = h.stats();
    CHECK(st.total == 3);
    CHECK(st.overflow_closed == 1);
    h.advance(600ms);
    CHECK(h.stats().total == 2);
    CHECK(h.stats().overflow_closed == 2);
}

TEST_CASE("overflow_linger 0 closes overflow connections on return (QueuePool)", "[unit][pool]") {
    pool_harness h;
    h.make(linger_options(0ms));
    std::vector<lease> held;
    for (int i = 0; i < 4; ++i) held.push_back(h.acquire_now());
    held.pop_back();
    h.settle();
    CHECK(h.stats().total == 3);
    CHECK(h.stats().idle == 0);
    CHECK(h.clock->scheduled() == 0);
}

TEST_CASE("linger and idle_timeout together: whichever is due first closes", "[unit][pool]") {
    pool_harness h;
    auto o = linger_options(2'000ms);
    o.idle_timeout = 10'000ms;
    h.make(o);
    {
        std::vector<lease> held;
        for (int i = 0; i < 4; ++i) held.push_back(h.acquire_now());
    }
    h.settle();
    h.advance(2'000ms);
    auto st = h.stats();
    CHECK(st.total == 2);
    CHECK(st.overflow_closed == 2);
    CHECK(st.idle_closed == 0);
    h.advance(8'000ms);
    st = h.stats();
    CHECK(st.total == 0);  // min_idle 0: idle_timeout closes the persistent ones too
    CHECK(st.idle_closed == 2);
}

TEST_CASE("a negative overflow_linger is refused with the option's name", "[unit][pool]") {
    auto o = test_pool_options();
    o.overflow_linger = -1ms;
    auto r = validate(o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().message() ==
          "invalid pool option: overflow_linger must not be negative (it is -1 ms)");
}

TEST_CASE("config: [pool] overflow_linger is read as a duration; a negative one is refused",
          "[unit][pool][config]") {
    auto r = config_test::load(config_test::url_only + "[pool]\noverflow_linger = \"2s\"\n");
    REQUIRE(r.ok());
    CHECK(r->pool.overflow_linger == 2'000ms);
    auto off = config_test::load(config_test::url_only + "[pool]\noverflow_linger = 0\n");
    REQUIRE(off.ok());
    CHECK(off->pool.overflow_linger == 0ms);
    CHECK(config_test::error_of_text(config_test::url_only + "[pool]\noverflow_linger = -1\n")
              .find("overflow_linger") != std::string::npos);
}
