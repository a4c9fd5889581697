// The call surface against the fake driver: one name per operation (awaitable
// without a callback, callback last), values as parameters, per-call options
// (a deadline for the whole call, a stop token that abandons a waiting
// acquire or cancels a running statement), lease forwarding, and exceptions
// that end their task without touching the pool.

#include <catch2/catch.hpp>
#include <stdexcept>
#include <stop_token>
#include <thread>
#include <uvdb/coro.hpp>

#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;

namespace {

/// Records what one callback received.
struct query_got {
    int calls = 0;
    std::optional<result<result_set>> r;
    auto callback() {
        return [this](result<result_set> x) {
            ++calls;
            r.emplace(std::move(x));
        };
    }
    bool failed_with(errc e) const { return r && !r->ok() && r->err().value() == e; }
};

struct acquire_got {
    int calls = 0;
    std::optional<result<lease>> r;
    auto callback() {
        return [this](result<lease> x) {
            ++calls;
            r.emplace(std::move(x));
        };
    }
    bool failed_with(errc e) const { return r && !r->ok() && r->err().value() == e; }
};

}  // namespace

TEST_CASE("pool.query: values as parameters, awaitable or callback last", "[unit][pool][call]") {
    pool_harness h;
    h.make();
    auto& f = h.fake();

    query_got cb;
    h.get().query("SELECT $1::int, $2::text, $3", 42, "x", std::nullopt, cb.callback());
    CHECK(cb.calls == 0);  // never inline
    h.settle();
    REQUIRE(cb.calls == 1);
    CHECK(cb.r->ok());

    // An explicit params list is the whole list, not one parameter.
    query_got listed;
    h.get().query("SELECT $1, $2", make_params(1, 2), listed.callback());
    h.settle();
    CHECK(listed.calls == 1);

    std::optional<result<result_set>> awaited;
    auto handler = [&]() -> task<void> { awaited.emplace(co_await h.get().query("SELECT $1", 7)); };
    spawn(handler());
    h.settle();
    REQUIRE(awaited);
    CHECK(awaited->ok());

    REQUIRE(f.param_counts.size() == 3);
    CHECK(f.param_counts[0] == 3);
    CHECK(f.param_counts[1] == 2);
    CHECK(f.param_counts[2] == 1);
    // Without call_options the statement keeps the connection's default timeout.
    CHECK(f.query_timeouts[0] == std::chrono::milliseconds{-1});
}

TEST_CASE("pool.query knows its caller through the SQL text", "[unit][pool][call]") {
    pool_harness h;
    h.make();
    query_got cb;
    const std::uint_least32_t line = std::source_location::current().line() + 1;
    h.get().query("SLEEP 50", 1, cb.callback());
    h.settle();
    REQUIRE(h.stats().checked_out == 1);
    CHECK(h.stats().longest_held_at.line() == line);
    h.advance(50ms);
    CHECK(cb.r->ok());
}

TEST_CASE("call_options::timeout is one deadline for the wait and the statement",
          "[unit][pool][call]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    auto& f = h.fake();
    lease held = h.acquire_now();

    query_got cb;
    h.get().query(call_options{100ms}, "SELECT 1", cb.callback());
    h.advance(40ms);
    CHECK(cb.calls == 0);
    held.release();
    h.settle();
    REQUIRE(cb.calls == 1);
    CHECK(cb.r->ok());
    REQUIRE(f.query_timeouts.size() == 1);
    CHECK(f.query_timeouts[0] == 60ms);  // what the wait left

    SECTION("the wait ends at the deadline") {
        lease again = h.acquire_now();
        query_got late;
        h.get().query(call_options{30ms}, "SELECT 1", late.callback());
        h.advance(30ms);
        CHECK(late.failed_with(errc::pool_timeout));
    }
    SECTION("0: no deadline, whatever the defaults") {
        query_got none;
        h.get().query(call_options{0ms}, "SELECT 1", none.callback());
        h.settle();
        CHECK(none.r->ok());
        CHECK(f.query_timeouts.back() == 0ms);
    }
}

TEST_CASE("a stopped acquire leaves the queue at once with errc::cancelled", "[unit][pool][call]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    lease held = h.acquire_now();

    std::stop_source stop;
    acquire_got got;
    h.get().acquire(call_options{stop.get_token()}, got.callback());
    h.settle();
    CHECK(h.stats().waiting == 1);

    SECTION("stop on the loop thread") { stop.request_stop(); }
    SECTION("stop from another thread") {
        std::thread other([&] { stop.request_stop(); });
        other.join();
    }
    CHECK(got.calls == 0);  // deferred, never inline
    h.settle();
    REQUIRE(got.calls == 1);
    CHECK(got.failed_with(errc::cancelled));
    CHECK(h.stats().waiting == 0);

    // The connection goes to nobody when returned, and the next acquire gets it.
    held.release();
    h.settle();
    CHECK(h.stats().idle == 1);
    CHECK(h.acquire_now());
}

TEST_CASE("a token stopped before the call cancels it without waiting", "[unit][pool][call]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    h.settle();
    std::stop_source stop;
    stop.request_stop();

    acquire_got a;
    h.get().acquire(call_options{stop.get_token()}, a.callback());
    query_got q;
    h.get().query(call_options{stop.get_token()}, "SELECT 1", q.callback());
    CHECK(a.calls == 0);
    CHECK(q.calls == 0);
    h.settle();
    CHECK(a.failed_with(errc::cancelled));
    CHECK(q.failed_with(errc::cancelled));
    CHECK(h.fake().queries == 0);
}

TEST_CASE("stopping a pool.query: waiting, it leaves the queue; running, it is cancelled",
          "[unit][pool][call]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    std::stop_source stop;

    SECTION("running") {
        query_got q;
        h.get().query(call_options{stop.get_token()}, "SLEEP 1000", q.callback());
        h.settle();
        REQUIRE(h.fake().queries == 1);
        CHECK(q.calls == 0);
        stop.request_stop();
        h.settle();
        REQUIRE(q.calls == 1);
        CHECK(q.failed_with(errc::cancelled));
    }
    SECTION("waiting") {
        lease held = h.acquire_now();
        query_got q;
        h.get().query(call_options{stop.get_token()}, "SELECT 1", q.callback());
        h.settle();
        stop.request_stop();
        h.settle();
        CHECK(q.failed_with(errc::cancelled));
        CHECK(h.stats().waiting == 0);
    }
    SECTION("a stop after the statement finished changes nothing later") {
        query_got q;
        h.get().query(call_options{stop.get_token()}, "SELECT 1", q.callback());
        h.settle();
        CHECK(q.r->ok());
        stop.request_stop();
        query_got next;
        h.get().query("SLEEP 10", next.callback());
        h.advance(10ms);
        CHECK(next.r->ok());
    }
    // The connection stays usable either way.
    query_got after;
    h.get().query("SELECT 1", after.callback());
    h.settle();
    CHECK(after.r->ok());
    CHECK(h.stats().total == 1);
}

TEST_CASE("awaitable acquire: ready at once, waits, can be abandoned", "[unit][pool][call]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    h.settle();
    std::vector<std::string> trace;
    std::stop_source stop;
    auto handler = [&]() -> task<void> {
        auto l = co_await h.get().acquire();
        trace.push_back(l ? "acquired" : "failed");
        auto r = co_await l->query("SELECT $1::int", 1);  // the lease's forms
        trace.push_back(r ? "query ok" : "query failed");
        auto second = co_await h.get().acquire(call_options{stop.get_token()});
        trace.push_back(second ? "second"
                               : "second: " + std::string(to_string(second.err().value())));
    };
    spawn(handler());
    h.settle();
    CHECK(h.stats().waiting == 1);
    stop.request_stop();
    h.settle();
    CHECK(trace == std::vector<std::string>{"acquired", "query ok", "second: cancelled"});
    CHECK(h.stats().checked_out == 0);  // the task ended, its lease went back
}

TEST_CASE("lease and connection forms: query, execute, ping, reset", "[unit][pool][call]") {
    pool_harness h;
    h.make();
    std::vector<std::string> trace;
    lease kept;  // outlives the handler: the statement its callback waits for still runs
    auto handler = [&]() -> task<void> {
        auto got = co_await h.get().acquire();
        lease l = std::move(got).value();
        auto a = co_await l.query("SELECT $1, $2", 1, "two");
        auto b = co_await l.query(query_options{.timeout = 5ms}, "SELECT 1");
        auto c = co_await l.execute("SELECT 1; SELECT 2");
        auto d = co_await l.ping(1s);
        auto e = co_await l.reset();
        auto g = co_await l->query("SELECT 3");
        trace.push_back(a && b && c && d && e && g ? "ok" : "failed");
        l.query("SELECT $1", 4,
                [&](result<result_set> r) { trace.push_back(r ? "cb ok" : "cb failed"); });
        kept = std::move(l);
    };
    spawn(handler());
    h.settle();
    CHECK(trace == std::vector<std::string>{"ok", "cb ok"});
    auto& f = h.fake();
    REQUIRE(f.query_timeouts.size() == 4);
    CHECK(f.query_timeouts[1] == 5ms);
    CHECK(f.param_counts == std::vector<std::size_t>{2, 0, 0, 1});
}

TEST_CASE("a handler that throws after a query ends its task; the pool stays usable",
          "[unit][pool][call]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    std::exception_ptr escaped;
    auto handler = [&]() -> task<void> {
        auto l = co_await h.get().acquire();
        auto r = co_await l->query("SELECT 1");
        if (r) throw std::runtime_error("handler failed");
    };
    spawn(handler(), [&](std::exception_ptr ep) { escaped = ep; });
    h.settle();
    REQUIRE(escaped != nullptr);
    CHECK_THROWS_WITH(std::rethrow_exception(escaped), "handler failed");
    CHECK(h.stats().checked_out == 0);

    std::exception_ptr escaped_pooled;
    auto pooled = [&]() -> task<void> {
        auto r = co_await h.get().query("SELECT 1");
        if (r) throw std::runtime_error("after pool.query");
    };
    spawn(pooled(), [&](std::exception_ptr ep) { escaped_pooled = ep; });
    h.settle();
    CHECK(escaped_pooled != nullptr);

    query_got next;
    h.get().query("SELECT 1", next.callback());
    h.settle();
    CHECK(next.r->ok());
    CHECK(h.stats().total == 1);
}
