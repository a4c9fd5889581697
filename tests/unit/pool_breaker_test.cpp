// The circuit breaker: opens after breaker_threshold retryable connect
// failures in a row, fails acquires that find no idle connection at once
// (no time passes on the manual clock), still serves idle connections,
// probes once per back-off step, closes on the first success, and ignores
// errors retrying cannot fix.

#include <catch2/catch.hpp>
#include <uvdb/pool.hpp>

#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;

namespace {

pool_options breaker_options(std::size_t threshold) {
    auto o = test_pool_options(2, 0);
    o.breaker_threshold = threshold;
    o.timeout = 60'000ms;
    o.max_connecting = 1;  // one connect at a time: failures counted one by one
    return o;
}

// Drives connects to fail until the breaker opens; returns the waiter that
// kept the pool connecting.
std::shared_ptr<acquire_probe> open_breaker(pool_harness& h) {
    auto p = h.acquire();
    for (int i = 0; i < 200 && h.stats().breaker == breaker_state::closed; ++i) h.advance(100ms);
    REQUIRE(h.stats().breaker == breaker_state::open);
    return p;
}

}  // namespace

TEST_CASE("the breaker opens after threshold retryable failures in a row",
          "[unit][pool][breaker]") {
    pool_harness h;
    h.fake().connect_fault = [](std::size_t) { return std::optional<error>(refused_error()); };
    h.make(breaker_options(3));
    auto waiting = h.acquire();
    h.settle();
    CHECK(h.stats().connect_failures == 1);
    CHECK(h.stats().breaker == breaker_state::closed);
    h.advance(100ms);  // back-off after the first failure: 50–100 ms
    CHECK(h.stats().connect_failures == 2);
    CHECK(h.stats().breaker == breaker_state::closed);
    CHECK(waiting->calls == 0);
    h.advance(200ms);  // after the second: 100–200 ms
    const auto st = h.stats();
    CHECK(st.connect_failures == 3);
    CHECK(st.breaker == breaker_state::open);
    CHECK(st.breaker_opened == 1);
    CHECK(st.breaker_retry_in > 0ms);
    CHECK(st.breaker_retry_in <= 400ms);
    // The caller already waiting fails with it, long before its 60 s.
    REQUIRE(waiting->calls == 1);
    CHECK(waiting->failed_with(errc::connect_failed));
    CHECK(h.logs.count("circuit breaker open after 3 failed connects") == 1);
}

TEST_CASE("an open breaker fails acquires at once with the last connect error",
          "[unit][pool][breaker]") {
    pool_harness h;
    h.fake().connect_fault = [](std::size_t) { return std::optional<error>(too_many_error()); };
    h.make(breaker_options(2));
    open_breaker(h);
    const auto attempts = h.fake().connect_attempts;
    const auto before = h.clock->now();
    auto p = h.acquire();
    h.settle();  // no timer fires: the clock does not move
    CHECK(h.clock->now() == before);
    REQUIRE(p->calls == 1);
    CHECK(p->failed_with(errc::too_many_connections));
    const std::string msg = p->err().message();
    INFO(msg);
    CHECK(msg.find("circuit breaker is open") != std::string::npos);
    CHECK(msg.find("next connect attempt is in") != std::string::npos);
    CHECK(msg.find("s3cret") == std::string::npos);
    CHECK(h.fake().connect_attempts == attempts);  // failing fast starts no connect
    CHECK(h.stats().breaker_rejected == 1);
    // pool::query takes the same path.
    auto q = h.query("SELECT 1");
    h.settle();
    CHECK(q->calls == 1);
    CHECK_FALSE(q->ok());
}

TEST_CASE("idle connections still serve while the breaker is open", "[unit][pool][breaker]") {
    pool_harness h;
    auto o = breaker_options(2);
    o.pre_ping = false;
    h.make(o);
    lease held = h.acquire_now();  // one healthy connection
    h.fake().connect_fault = [](std::size_t) { return std::optional<error>(refused_error()); };
    auto waiting = open_breaker(h);
    CHECK(waiting->failed_with(errc::connect_failed));
    held.release();
    h.settle();
    CHECK(h.stats().idle == 1);
    lease again = h.acquire_now();  // the idle one, breaker or not
    CHECK(h.stats().breaker == breaker_state::open);
    auto none = h.acquire();  // no idle one left: fails at once
    h.settle();
    CHECK(none->failed_with(errc::connect_failed));
}

TEST_CASE("the breaker probes once per back-off step and closes on success",
          "[unit][pool][breaker]") {
    pool_harness h;
    std::vector<detail::timer_source::time_point> attempts;
    bool down = true;
    h.fake().connect_fault = [&](std::size_t) {
        attempts.push_back(h.clock->now());
        return down ? std::optional<error>(refused_error()) : std::nullopt;
    };
    auto o = breaker_options(3);
    h.make(o);
    open_breaker(h);
    const std::size_t at_open = attempts.size();
    // Nobody waits (acquires fail fast), yet the pool keeps probing, one
    // connect at a time, the gaps following the back-off (capped at 5 s).
    h.advance(30'000ms);
    const std::size_t probes = attempts.size() - at_open;
    CHECK(probes >= 6);
    CHECK(probes <= 30'000 / 2'500 + 4);
    for (std::size_t i = at_open; i < attempts.size(); ++i) {
        const auto gap =
            std::chrono::duration_cast<std::chrono::milliseconds>(attempts[i] - attempts[i - 1]);
        CHECK(gap.count() >= 50);
        CHECK(gap.count() <= 5'001);
    }
    CHECK(h.stats().breaker == breaker_state::open);
    CHECK(h.stats().breaker_opened == 1);  // probes failing do not count as re-opening
    CHECK(h.stats().total == 0);
    down = false;
    h.advance(5'000ms);  // within the back-off cap
    CHECK(h.stats().breaker == breaker_state::closed);
    CHECK(h.logs.count("circuit breaker closed") == 1);
    lease l = h.acquire_now();
    CHECK(h.stats().checked_out == 1);
}

TEST_CASE("a half-open breaker reports the probe in its message", "[unit][pool][breaker]") {
    pool_harness h;
    h.fake().connect_fault = [](std::size_t) { return std::optional<error>(refused_error()); };
    h.make(breaker_options(2));
    open_breaker(h);
    h.fake().connect_latency = 1'000ms;  // the next probe stays in flight a while
    const auto retry = h.stats().breaker_retry_in;
    h.advance(retry);
    REQUIRE(h.stats().breaker == breaker_state::half_open);
    CHECK(h.stats().connecting == 1);
    auto p = h.acquire();
    h.settle();
    REQUIRE(p->calls == 1);
    CHECK(p->err().message().find("a probe connect is running now") != std::string::npos);
}

TEST_CASE("errors retrying cannot fix do not open the breaker", "[unit][pool][breaker]") {
    pool_harness h;
    h.fake().connect_fault = [](std::size_t) { return std::optional<error>(auth_error()); };
    h.make(breaker_options(2));
    for (int i = 0; i < 5; ++i) {
        auto p = h.acquire();
        h.advance(6'000ms);
        CHECK(p->failed_with(errc::auth_failed));
        CHECK(p->err().message().find("circuit breaker") == std::string::npos);
    }
    CHECK(h.stats().connect_failures >= 5);
    CHECK(h.stats().breaker == breaker_state::closed);
    CHECK(h.stats().breaker_opened == 0);
}

TEST_CASE("an auth failure between refused connects starts the count over",
          "[unit][pool][breaker]") {
    pool_harness h;
    h.fake().connect_fault = [](std::size_t n) {
        return std::optional<error>(n % 3 == 2 ? auth_error() : refused_error());
    };
    h.make(breaker_options(3));
    for (int i = 0; i < 6; ++i) {
        auto p = h.acquire(1'000ms);
        h.advance(6'000ms);
    }
    CHECK(h.stats().connect_failures >= 6);
    CHECK(h.stats().breaker == breaker_state::closed);
}

TEST_CASE("breaker_threshold 0 never opens", "[unit][pool][breaker]") {
    pool_harness h;
    h.fake().connect_fault = [](std::size_t) { return std::optional<error>(refused_error()); };
    h.make(breaker_options(0));
    auto p = h.acquire(10'000ms);
    h.advance(9'000ms);
    CHECK(p->calls == 0);
    CHECK(h.stats().connect_failures >= 5);
    CHECK(h.stats().breaker == breaker_state::closed);
    h.advance(1'000ms);
    CHECK(p->failed_with(errc::pool_timeout));
}
