// overflow_delay: beyond `size`, a caller first waits for a returned
// connection, for about as long as a connect takes, before the pool opens an
// overflow connection for it.

#include <catch2/catch.hpp>
#include <uvdb/pool.hpp>
#include <vector>

#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;

namespace {
// size 1 + overflow 2, the delay automatic.
pool_options auto_delay_options() {
    pool_options o = test_pool_options(1, 2);
    o.overflow_delay.reset();
    return o;
}

// Connects take 20 ms; the pool is made with `o` and its one base
// connection, opened at once, is checked out and returned to the test.
lease hold_base_connection(pool_harness& h, pool_options o) {
    h.fake().connect_latency = 20ms;
    h.make(std::move(o));
    auto first = h.acquire();
    h.advance(20ms);
    REQUIRE(first->ok());
    return first->take();
}

pool_options with_delay(std::chrono::milliseconds d) {
    pool_options o = auto_delay_options();
    o.overflow_delay = d;
    return o;
}
}  // namespace

TEST_CASE(
    "automatic overflow delay: a caller waits about one connect time before an overflow connect",
    "[unit][pool]") {
    pool_harness h;
    lease held = hold_base_connection(h, auto_delay_options());  // opened at once, took 20 ms
    CHECK(h.stats().connect_time == std::chrono::microseconds(20'000));

    auto waiting = h.acquire();
    h.advance(19ms);
    CHECK(h.stats().connecting == 0);  // still waiting for the held one
    CHECK(h.stats().connects == 1);
    h.advance(1ms);
    CHECK(h.stats().connecting == 1);  // waited one connect time: overflow opens
    h.advance(20ms);
    REQUIRE(waiting->ok());
    CHECK(h.stats().total == 2);
    CHECK(h.stats().overflow == 1);
}

TEST_CASE(
    "automatic overflow delay: a connection returned within the delay is reused, nothing is opened",
    "[unit][pool]") {
    pool_harness h;
    lease held = hold_base_connection(h, auto_delay_options());

    // Many callers, each holding its connection for 2 ms: all are served by
    // the one connection and no overflow connect starts.
    std::vector<std::shared_ptr<acquire_probe>> probes;
    for (int i = 0; i < 5; ++i) probes.push_back(h.acquire());
    for (int i = 0; i < 6; ++i) {
        h.advance(2ms);
        held.release();
        h.settle();
        if (i < 5) {
            REQUIRE(probes[static_cast<std::size_t>(i)]->ok());
            held = probes[static_cast<std::size_t>(i)]->take();
        }
    }
    const auto st = h.stats();
    CHECK(st.connects == 1);
    CHECK(st.total == 1);
    CHECK(st.timeouts == 0);
}

TEST_CASE("overflow_delay 0 opens an overflow connection at once, as QueuePool does",
          "[unit][pool]") {
    pool_harness h;
    lease held = hold_base_connection(h, with_delay(0ms));
    auto waiting = h.acquire();
    h.settle();
    CHECK(h.stats().connecting == 1);
    h.advance(20ms);
    CHECK(waiting->ok());
}

TEST_CASE("a fixed overflow_delay is used as given", "[unit][pool]") {
    pool_harness h;
    lease held = hold_base_connection(h, with_delay(50ms));
    auto waiting = h.acquire();
    h.advance(49ms);
    CHECK(h.stats().connecting == 0);
    h.advance(1ms);
    CHECK(h.stats().connecting == 1);
}

TEST_CASE("the overflow delay is at most half the waiting caller's timeout", "[unit][pool]") {
    pool_harness h;
    lease held = hold_base_connection(h, with_delay(10'000ms));
    auto waiting = h.acquire(100ms);
    h.advance(49ms);
    CHECK(h.stats().connecting == 0);
    h.advance(1ms);
    CHECK(h.stats().connecting == 1);
    h.advance(20ms);
    CHECK(waiting->ok());
}

TEST_CASE("connections up to size open at once, whatever the overflow delay", "[unit][pool]") {
    pool_harness h;
    h.fake().connect_latency = 20ms;
    auto o = test_pool_options(3, 2);
    o.overflow_delay = 10'000ms;
    h.make(o);
    std::vector<std::shared_ptr<acquire_probe>> probes;
    for (int i = 0; i < 3; ++i) probes.push_back(h.acquire());
    h.settle();
    CHECK(h.stats().connecting == 3);
    h.advance(20ms);
    for (auto& p : probes) CHECK(p->ok());
}

TEST_CASE("each waiter beyond the connects in flight ripens in turn", "[unit][pool]") {
    // Two callers wait 0 and 5 ms apart: the first overflow connect starts at
    // 20 ms, the second at 25 ms, one timer for the pool re-armed in between.
    pool_harness h;
    lease held = hold_base_connection(h, with_delay(20ms));
    auto a = h.acquire();
    h.advance(5ms);
    auto b = h.acquire();
    h.advance(15ms);
    CHECK(h.stats().connecting == 1);
    h.advance(4ms);
    CHECK(h.stats().connecting == 1);
    h.advance(1ms);
    CHECK(h.stats().connecting == 2);
    h.advance(20ms);
    CHECK(a->ok());
    CHECK(b->ok());
    CHECK(h.stats().total == 3);
}

TEST_CASE("the connect-time average follows slower connects", "[unit][pool]") {
    pool_harness h;
    lease a = hold_base_connection(h, test_pool_options(4, 0));
    h.fake().connect_latency = 100ms;
    auto b = h.acquire();  // a is still held: a second connect
    h.advance(100ms);
    REQUIRE(b->ok());
    // 20 + (100 − 20) / 4
    CHECK(h.stats().connect_time == std::chrono::microseconds(40'000));
}

TEST_CASE("overflow_delay is validated and shown in the start-up line", "[unit][pool]") {
    pool_options o = test_pool_options(1, 1);
    o.overflow_delay = -1ms;
    auto r = validate(o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().message().find("overflow_delay") != std::string::npos);
    o.overflow_delay = 250ms;
    CHECK(validate(o).ok());
    CHECK(engine_configured_line(o).find(" overflow_delay=0.25 ") != std::string::npos);
    o.overflow_delay.reset();
    CHECK(engine_configured_line(o).find(" overflow_delay=auto ") != std::string::npos);
}
