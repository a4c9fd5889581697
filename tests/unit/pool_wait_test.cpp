// Waiting for a connection: deadlines, FIFO order, the timeout message,
// max_waiters, and hand-over after a waiter gave up.

#include <catch2/catch.hpp>
#include <uvdb/pool.hpp>

#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;

namespace {
bool contains(const std::string& text, std::string_view needle) {
    return text.find(needle) != std::string::npos;
}
}  // namespace

TEST_CASE("an acquire that finds no connection fails with pool_timeout at its deadline",
          "[unit][pool]") {
    pool_harness h;
    auto o = test_pool_options(1, 0);
    o.timeout = 300ms;
    h.make(o);
    lease held = h.acquire_now();
    auto p = h.acquire();
    h.advance(299ms);
    CHECK(p->calls == 0);
    CHECK(h.stats().waiting == 1);
    h.advance(1ms);
    REQUIRE(p->calls == 1);
    CHECK(p->failed_with(errc::pool_timeout));
    auto st = h.stats();
    CHECK(st.waiting == 0);
    CHECK(st.timeouts == 1);
    CHECK(st.checked_out == 1);
}

TEST_CASE("acquire with its own timeout", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));  // pool timeout 30 s
    lease held = h.acquire_now();
    auto p = h.acquire(50ms);
    h.advance(49ms);
    CHECK(p->calls == 0);
    h.advance(1ms);
    CHECK(p->failed_with(errc::pool_timeout));
}

TEST_CASE("the timeout message says the pool is full and who holds connections", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(20, 40));
    std::vector<std::shared_ptr<acquire_probe>> held;
    // The first lease is taken here, so the message must name this file.
    for (int i = 0; i < 60; ++i) {
        auto probe = std::make_shared<acquire_probe>();
        h.get().acquire([probe](result<lease> r) {
            ++probe->calls;
            probe->got.emplace(std::move(r));
        });
        held.push_back(probe);
    }
    h.settle();
    for (auto& p : held) REQUIRE(p->ok());
    h.advance(11'000ms);
    std::vector<std::shared_ptr<acquire_probe>> waiting;
    for (int i = 0; i < 112; ++i) waiting.push_back(h.acquire());
    h.advance(30'000ms);
    REQUIRE(waiting.front()->failed_with(errc::pool_timeout));
    const std::string msg = waiting.front()->err().message();
    INFO(msg);
    CHECK(contains(
        msg,
        "pool limit of size 20 overflow 40 reached, connection timed out after 30 s "
        "(checked out 60, idle 0, waiting 112, connecting 0); raise size or max_overflow, "
        "or look for leases held too long: longest held 41 s, acquired at pool_wait_test.cpp:"));
    CHECK_FALSE(contains(msg, "s3cret"));
}

TEST_CASE("waiters are served first come, first served", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    lease held = h.acquire_now();
    auto a = h.acquire();
    auto b = h.acquire();
    auto c = h.acquire();
    h.settle();
    held.release();
    h.settle();
    CHECK(a->ok());
    CHECK(b->calls == 0);
    CHECK(c->calls == 0);
    a->take().release();
    h.settle();
    CHECK(b->ok());
    CHECK(c->calls == 0);
    b->take().release();
    h.settle();
    CHECK(c->ok());
}

TEST_CASE("a new acquire does not overtake waiters", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    lease held = h.acquire_now();
    auto first = h.acquire();
    h.settle();
    held.release();  // hands the connection to `first`, delivered later
    auto second = h.acquire();
    h.settle();
    CHECK(first->ok());
    CHECK(second->calls == 0);
}

TEST_CASE("a connection that comes back after a waiter timed out goes to the next one",
          "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    lease held = h.acquire_now();
    auto impatient = h.acquire(100ms);
    auto patient = h.acquire(1'000ms);
    h.advance(100ms);
    CHECK(impatient->failed_with(errc::pool_timeout));
    CHECK(h.stats().waiting == 1);  // removed from the queue
    held.release();
    h.settle();
    CHECK(patient->ok());
    CHECK(impatient->calls == 1);  // not called a second time
}

TEST_CASE("a connect that completes after its waiter timed out is kept or closed, never leaked",
          "[unit][pool]") {
    pool_harness h;
    h.fake().connect_latency = 500ms;
    auto o = test_pool_options(1, 1);
    o.timeout = 100ms;
    h.make(o);
    auto a = h.acquire();
    auto b = h.acquire();
    h.settle();
    CHECK(h.stats().connecting == 2);
    h.advance(100ms);
    CHECK(a->failed_with(errc::pool_timeout));
    CHECK(b->failed_with(errc::pool_timeout));
    CHECK(h.stats().connecting == 2);  // still on their way
    h.advance(400ms);
    auto st = h.stats();
    CHECK(st.connecting == 0);
    CHECK(st.total == 1);  // the overflow one was closed on arrival
    CHECK(st.idle == 1);
    CHECK(st.overflow == 0);
    CHECK(h.driver->live() == 1);
}

TEST_CASE("beyond max_waiters acquire fails at once with pool_full", "[unit][pool]") {
    pool_harness h;
    auto o = test_pool_options(1, 0);
    o.max_waiters = 2;
    h.make(o);
    lease held = h.acquire_now();
    auto a = h.acquire();
    auto b = h.acquire();
    auto c = h.acquire();
    h.settle();  // no time passes
    CHECK(a->calls == 0);
    CHECK(b->calls == 0);
    REQUIRE(c->calls == 1);
    CHECK(c->failed_with(errc::pool_full));
    CHECK(contains(c->err().message(), "max_waiters 2"));
    CHECK(h.stats().rejected == 1);
    held.release();
    h.settle();
    CHECK(a->ok());
}

TEST_CASE("the timeout message says so when the pool was not full but connects failed",
          "[unit][pool]") {
    pool_harness h;
    h.fake().connect_fault = [](std::size_t) { return std::optional<error>(too_many_error()); };
    auto o = test_pool_options(5, 0);
    o.timeout = 2'000ms;
    o.breaker_threshold = 0;  // the timeout message, not the breaker's (pool_breaker_test)
    h.make(o);
    auto p = h.acquire();
    h.advance(2'000ms);
    REQUIRE(p->failed_with(errc::pool_timeout));
    const std::string msg = p->err().message();
    INFO(msg);
    CHECK(contains(msg, "opening new connections keeps failing"));
    CHECK(contains(msg, "too_many_connections"));
    CHECK(contains(msg, "53300"));
    CHECK_FALSE(contains(msg, "pool limit"));
    REQUIRE(h.get().last_connect_error().has_value());
    CHECK(h.get().last_connect_error()->value() == errc::too_many_connections);
}

TEST_CASE("the timeout message names the connect error when the limit is filled by failing retries",
          "[unit][pool]") {
    // Two connections are held; the third slot keeps failing (a role's
    // connection limit) and, with slow connects, is mid-retry at the
    // deadline. The limit is "reached" only because of that retry: the
    // cause to report is the connect error.
    pool_harness h;
    h.fake().connect_fault = [](std::size_t attempt) {
        return attempt >= 2 ? std::optional<error>(too_many_error()) : std::nullopt;
    };
    auto o = test_pool_options(3, 0);
    o.timeout = 5'000ms;
    o.connect_backoff_base = 10ms;
    o.connect_backoff_cap = 10ms;
    o.breaker_threshold = 0;  // the timeout message, not the breaker's (pool_breaker_test)
    h.make(o);
    lease a = h.acquire_now();
    lease b = h.acquire_now();
    h.fake().connect_latency = 400ms;
    auto p = h.acquire();
    // Attempts take 400 ms plus <= 10 ms of backoff: at 4,800 ms the
    // twelfth retry is in flight.
    h.advance(4'800ms);
    REQUIRE(h.stats().connecting == 1);
    h.advance(200ms);
    REQUIRE(p->failed_with(errc::pool_timeout));
    const std::string msg = p->err().message();
    INFO(msg);
    CHECK(contains(msg, "opening new connections keeps failing"));
    CHECK(contains(msg, "too_many_connections"));
    CHECK_FALSE(contains(msg, "pool limit"));
}

TEST_CASE("many waiters timing out leave the queue consistent", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    lease held = h.acquire_now();
    std::vector<std::shared_ptr<acquire_probe>> probes;
    // Deadlines 1..1000 ms in a shuffled order; every third one waits long.
    for (int i = 0; i < 1000; ++i) {
        const auto t = std::chrono::milliseconds(1 + (i * 389) % 1000);
        probes.push_back(h.acquire(i % 3 == 0 ? 60'000ms : t));
    }
    h.advance(1'000ms);
    std::size_t timed_out = 0;
    for (auto& p : probes) timed_out += p->calls;
    CHECK(timed_out == 666);
    CHECK(h.stats().waiting == 334);
    held.release();
    h.settle();
    // The connection went to the oldest remaining waiter: probe 0.
    CHECK(probes[0]->ok());
    for (std::size_t i = 1; i < probes.size(); ++i) {
        if (i % 3 == 0) CHECK(probes[i]->calls == 0);
    }
}

TEST_CASE("a timeout of milliseconds::max() waits without overflowing the clock", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    lease held = h.acquire_now();
    auto p = h.acquire(std::chrono::milliseconds::max());
    h.advance(std::chrono::hours(24 * 365));
    CHECK(p->calls == 0);
    held.release();
    h.settle();
    CHECK(p->ok());
}
