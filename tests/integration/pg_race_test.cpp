// Races a user can cause by timing alone: a deadline or cancel() that meets
// the statement's own completion, and tearing a connection (or the whole
// loop) down while work for it runs on the threadpool. Every callback must
// come exactly once, a late cancel must never hit the next statement, and
// (under ASan) nothing may touch freed memory.

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>

#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

TEST_CASE("deadlines that meet the statement's completion never cancel the next statement",
          "[pg][timeout][race]") {
    uvdb::event_loop loop;
    const auto fds = t::open_fd_count();
    {
        auto conn = t::connect_or_fail(loop, t::test_options());
        int timeouts = 0;
        int completions = 0;
        for (int k = 0; k < 40; ++k) {
            INFO("round " << k);
            // Sleeps around the deadline, so either may win.
            uvdb::query_options o;
            o.timeout = 40ms;
            auto first = t::make_query_slot();
            auto next = t::make_query_slot();
            const double sleep_s = 0.030 + 0.0005 * k;  // 30 … 49.5 ms
            conn->query("SELECT 1 FROM pg_sleep($1::float8)", uvdb::make_params(sleep_s), o,
                        t::store_in(first));
            // Queued behind it: must always succeed, with its own answer.
            conn->query("SELECT $1::int FROM pg_sleep(0.06)", uvdb::make_params(k),
                        t::store_in(next));
            t::run_until(
                loop, [&] { return first->has_value() && next->has_value(); }, 10s,
                "both statements");
            if (first->value().ok()) {
                ++completions;
            } else {
                INFO(t::describe(first->value().err()));
                CHECK(first->value().err().value() == errc::timeout);
                ++timeouts;
            }
            if (!next->value().ok())
                FAIL("the statement after round "
                     << k << " failed: " << t::describe(next->value().err()));
            CHECK(next->value()->value<int>() == k);
            REQUIRE_FALSE(conn->is_broken());
        }
        std::printf("deadline race: %d timeouts, %d completions in 40 rounds\n", timeouts,
                    completions);
    }
    t::check_fds_return_to(loop, fds);
}

TEST_CASE("cancel() at every moment of a short statement never hits the next one",
          "[pg][cancel][race]") {
    uvdb::event_loop loop;
    const auto fds = t::open_fd_count();
    {
        auto conn = t::connect_or_fail(loop, t::test_options());
        for (int k = 0; k < 30; ++k) {
            INFO("round " << k);
            auto first = t::make_query_slot();
            auto next = t::make_query_slot();
            conn->query("SELECT 1 FROM pg_sleep(0.02)", t::store_in(first));
            conn->query("SELECT $1::int FROM pg_sleep(0.05)", uvdb::make_params(k),
                        t::store_in(next));
            t::run_for(loop, std::chrono::milliseconds(k));  // 0 … 29 ms into the first
            // Only while the first is still in flight from the caller's view:
            // once its callback ran, the second is "the statement in flight"
            // and cancelling it would be right.
            if (!first->has_value()) conn->cancel();
            t::run_until(
                loop, [&] { return first->has_value() && next->has_value(); }, 10s,
                "both statements");
            if (!first->value().ok()) {
                INFO(t::describe(first->value().err()));
                CHECK(first->value().err().value() == errc::cancelled);
            }
            if (!next->value().ok())
                FAIL("the statement after cancel() in round "
                     << k << " failed: " << t::describe(next->value().err()));
            CHECK(next->value()->value<int>() == k);
        }
    }
    t::check_fds_return_to(loop, fds);
}

TEST_CASE("destroying connections at every moment of their connect", "[pg][connect][race]") {
    uvdb::event_loop loop;
    const auto fds = t::open_fd_count();
    for (int delay = 0; delay < 40; delay += 2) {
        INFO("destroyed after " << delay << " ms");
        auto got = std::make_shared<int>(0);
        auto conn =
            t::pg_driver()->connect(loop, t::test_options(), [got](uvdb::result<void>) { ++*got; });
        t::run_for(loop, std::chrono::milliseconds(delay));
        conn.reset();
        t::run_until(
            loop, [&] { return *got > 0; }, 5s, "the connect callback");
        t::run_for(loop, 5ms);
        CHECK(*got == 1);
    }
    t::check_fds_return_to(loop, fds);
}

TEST_CASE("destroying the loop right after its connections, with threadpool work in flight",
          "[pg][race]") {
    const auto fds = t::fd_baseline();
    for (int round = 0; round < 10; ++round) {
        INFO("round " << round);
        auto loop = std::make_unique<uvdb::event_loop>();
        // One connection mid-connect (its PQconnectPoll may be on the threadpool) …
        auto connecting =
            t::pg_driver()->connect(*loop, t::test_options(), [](uvdb::result<void>) {});
        // … and one whose statement timed out, so a cancel request is under way.
        auto conn = t::connect_or_fail(*loop, t::test_options());
        uvdb::query_options o;
        o.timeout = 20ms;
        conn->query("SELECT pg_sleep(5)", {}, o, [](uvdb::result<uvdb::result_set>) {});
        t::run_for(*loop, std::chrono::milliseconds(20 + round));
        conn.reset();
        connecting.reset();
        loop.reset();
    }
    // Cancel requests and connect polls finish on the threadpool after their
    // loop is gone; their sockets must still be closed.
    t::check_fds_return_to(fds, 5s);
}

TEST_CASE("destroying the loop right after a connection it was still opening",
          "[pg][connect][race]") {
    const auto fds = t::fd_baseline();
    const auto opts = t::test_options();
    for (int delay = 0; delay < 30; ++delay) {
        INFO("destroyed after " << delay << " ms");
        auto loop = std::make_unique<uvdb::event_loop>();
        auto conn = t::pg_driver()->connect(*loop, opts, [](uvdb::result<void>) {});
        t::run_for(*loop,
                   std::chrono::milliseconds(delay));  // TLS and SCRAM steps run on the threadpool
        conn.reset();
        loop.reset();
    }
    // A libpq connection whose poll was on the threadpool when its loop went
    // away must still be finished: its socket closed.
    t::check_fds_return_to(fds, 5s);
}
