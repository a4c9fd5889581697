// Opening connections: back-off, the cap on concurrent connects, failing
// fast on errors retrying cannot fix, no leaked counts, min_idle, on_connect.

#include <catch2/catch.hpp>
#include <uvdb/pool.hpp>

#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;

TEST_CASE("failed connects are retried with jittered exponential back-off", "[unit][pool]") {
    pool_harness h;
    std::vector<detail::timer_source::time_point> attempts;
    h.fake().connect_fault = [&](std::size_t) {
        attempts.push_back(h.clock->now());
        return std::optional<error>(refused_error());
    };
    auto o = test_pool_options(1, 0);
    o.timeout = 60'000ms;
    o.breaker_threshold = 0;  // the caller keeps waiting (pool_breaker_test: with the breaker)
    h.make(o);
    auto p = h.acquire();
    h.advance(30'000ms);
    REQUIRE(attempts.size() >= 8);
    for (std::size_t i = 1; i < attempts.size(); ++i) {
        const auto gap =
            std::chrono::duration_cast<std::chrono::milliseconds>(attempts[i] - attempts[i - 1]);
        const double full =
            std::min(5'000.0, 100.0 * static_cast<double>(1u << std::min<std::size_t>(i - 1, 20)));
        INFO("gap " << i << " = " << gap.count() << " ms, full back-off " << full << " ms");
        CHECK(static_cast<double>(gap.count()) >= full / 2);
        CHECK(static_cast<double>(gap.count()) <= full + 1);
    }
    // Jitter: the gaps at the cap are not all equal.
    const auto n = attempts.size();
    CHECK(attempts[n - 1] - attempts[n - 2] != attempts[n - 2] - attempts[n - 3]);
    CHECK(p->calls == 0);  // still waiting within its 60 s
    const auto st = h.stats();
    CHECK(st.connect_failures == attempts.size());
    CHECK(st.total == 0);
    CHECK(h.driver->live() == 0);
}

TEST_CASE("at most max_connecting connects run at once", "[unit][pool]") {
    pool_harness h;
    h.fake().connect_latency = 100ms;
    auto o = test_pool_options(10, 0);
    o.max_connecting = 3;
    h.make(o);
    std::vector<std::shared_ptr<acquire_probe>> probes;
    for (int i = 0; i < 8; ++i) probes.push_back(h.acquire());
    h.settle();
    CHECK(h.stats().connecting == 3);
    CHECK(h.fake().connect_attempts == 3);
    h.advance(100ms);
    CHECK(h.stats().checked_out == 3);
    CHECK(h.stats().connecting == 3);
    h.advance(200ms);
    CHECK(h.stats().checked_out == 8);
    CHECK(h.fake().connect_attempts == 8);
}

TEST_CASE("an error retrying cannot fix fails the waiters at once", "[unit][pool]") {
    pool_harness h;
    h.fake().connect_fault = [](std::size_t) { return std::optional<error>(auth_error()); };
    h.make(test_pool_options(5, 0));
    std::vector<std::shared_ptr<acquire_probe>> probes;
    for (int i = 0; i < 5; ++i) probes.push_back(h.acquire());
    h.settle();  // no time passes
    for (auto& p : probes) {
        REQUIRE(p->calls == 1);
        CHECK(p->failed_with(errc::auth_failed));
        CHECK(p->err().message().find("password authentication failed") != std::string::npos);
        CHECK(p->err().message().find("s3cret") == std::string::npos);
    }
    // One attempt per connect slot at most, not one per waiter per back-off step.
    CHECK(h.fake().connect_attempts <= 4);
    const auto attempts = h.fake().connect_attempts;
    h.advance(10'000ms);
    CHECK(h.fake().connect_attempts == attempts);  // nobody waits: nobody retries
    CHECK(h.driver->live() == 0);
}

TEST_CASE("a released connection still reaches a waiter while connects fail", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(3, 0));
    lease held = h.acquire_now();
    h.fake().connect_fault = [](std::size_t) { return std::optional<error>(too_many_error()); };
    auto p = h.acquire();
    h.advance(1'000ms);
    CHECK(p->calls == 0);
    CHECK(h.stats().connect_failures >= 1);
    held.release();
    h.settle();
    CHECK(p->ok());
}

TEST_CASE("failed connects leak no overflow count", "[unit][pool]") {
    pool_harness h;
    auto o = test_pool_options(1, 1);
    o.timeout = 1'000ms;
    o.breaker_threshold = 0;  // every round times out (the breaker would fail them at once)
    h.make(o);
    h.fake().connect_fault = [](std::size_t) { return std::optional<error>(refused_error()); };
    for (int round = 0; round < 5; ++round) {
        auto a = h.acquire();
        auto b = h.acquire();
        h.advance(1'000ms);
        CHECK(a->failed_with(errc::pool_timeout));
        CHECK(b->failed_with(errc::pool_timeout));
        const auto st = h.stats();
        CHECK(st.total == 0);
        CHECK(st.connecting == 0);
        CHECK(st.overflow == 0);
    }
    h.fake().connect_fault = nullptr;
    h.advance(10'000ms);  // past any back-off
    lease a = h.acquire_now();
    lease b = h.acquire_now();  // the overflow slot is still available
    CHECK(h.stats().total == 2);
    CHECK(h.stats().overflow == 1);
    CHECK(h.driver->live() == 2);
}

TEST_CASE("connects in flight count toward the limit", "[unit][pool]") {
    pool_harness h;
    h.fake().connect_latency = 100ms;
    h.fake().connect_script = {refused_error(), std::nullopt, std::nullopt};
    auto o = test_pool_options(1, 1);
    h.make(o);
    auto a = h.acquire();
    auto b = h.acquire();
    auto c = h.acquire();
    h.settle();
    CHECK(h.stats().connecting == 2);
    CHECK(h.stats().total == 2);
    h.advance(100ms);  // the first fails, the second succeeds
    auto st = h.stats();
    CHECK(st.total <= 2);
    CHECK(h.driver->live() == st.total);
    h.advance(1'000ms);
    st = h.stats();
    CHECK(st.checked_out == 2);
    CHECK(st.total == 2);
    CHECK(st.waiting == 1);
}

TEST_CASE("min_idle connections are opened at start and refilled when lost", "[unit][pool]") {
    pool_harness h;
    auto o = test_pool_options(4, 2);
    o.min_idle = 2;
    h.make(o);
    h.settle();
    CHECK(h.stats().idle == 2);
    CHECK(h.driver->live() == 2);
    {
        lease l = h.acquire_now();
        CHECK(h.stats().idle == 2);  // one taken, one opened to keep two idle
        l.invalidate();
    }
    h.settle();
    CHECK(h.stats().idle == 2);
    CHECK(h.stats().total == 2);
    h.driver->kill_all();
    {
        lease l = h.acquire_now();
        auto q = std::make_shared<query_probe>();
        l->query("SELECT 1", [q](result<result_set> r) {
            ++q->calls;
            q->got.emplace(std::move(r));
        });
        h.settle();
        REQUIRE(q->calls == 1);
        CHECK_FALSE(q->ok());
    }  // broken: closed on return
    h.settle();
    CHECK(h.stats().idle >= 2);
}

TEST_CASE("on_connect runs before a connection is used; its failure counts as a failed connect",
          "[unit][pool]") {
    pool_harness h;
    int hook_calls = 0;
    bool fail_hook = true;
    auto o = test_pool_options(2, 0);
    o.on_connect = [&](connection& c, connection::done_callback done) {
        ++hook_calls;
        c.query("SET search_path TO app",
                [&, done = std::move(done)](result<result_set> r) mutable {
                    if (!r) return done(std::move(r).err());
                    if (fail_hook)
                        return done(error(errc::server_error, "schema app does not exist"));
                    done(result<void>{});
                });
    };
    h.make(o);
    auto p = h.acquire();
    h.settle();
    CHECK(hook_calls == 1);
    CHECK(p->calls == 1);  // a server_error is not retryable: fail fast
    CHECK_FALSE(p->ok());
    CHECK(h.stats().connect_failures == 1);
    CHECK(h.driver->live() == 0);
    REQUIRE(h.get().last_connect_error().has_value());
    CHECK(h.get().last_connect_error()->message().find("on_connect") != std::string::npos);

    fail_hook = false;
    h.advance(1'000ms);
    lease l = h.acquire_now();
    CHECK(hook_calls == 2);
    REQUIRE(h.fake().sql_log.size() >= 2);
    CHECK(h.fake().sql_log.back() == "SET search_path TO app");
}

TEST_CASE("on_checkout and on_checkin see each hand-out and return", "[unit][pool]") {
    pool_harness h;
    int out = 0;
    int in = 0;
    auto o = test_pool_options(2, 0);
    o.on_checkout = [&](connection&) { ++out; };
    o.on_checkin = [&](connection&) { ++in; };
    h.make(o);
    {
        lease a = h.acquire_now();
        CHECK(out == 1);
        CHECK(in == 0);
    }
    h.settle();
    CHECK(in == 1);
    auto l = h.get().try_acquire();
    CHECK(out == 2);
}
