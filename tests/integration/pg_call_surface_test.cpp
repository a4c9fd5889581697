// The call surface against a real PostgreSQL: a handler with values as
// parameters and the lease's awaitable forms, one deadline for a whole
// pool.query, a statement abandoned from another thread, and a throwing
// handler that leaves the pool usable.

#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <uvdb/coro.hpp>
#include <uvdb/pool.hpp>

#include "integration/pool_pg_support.hpp"
#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
namespace t = uvdb::test;

namespace {

uvdb::task<void> handler(uvdb::pool& db, std::vector<std::string>& trace) {
    auto sum = co_await db.query("SELECT $1::int + $2::int", 40, 2);
    trace.push_back(sum ? std::to_string(sum->value<int>()) : t::describe(sum.err()));

    auto l = co_await db.acquire();
    if (!l) {
        trace.push_back("acquire: " + t::describe(l.err()));
        co_return;
    }
    auto text = co_await l->query("SELECT $1::text || $2::text", "a", std::string("b"));
    trace.push_back(text ? text->value<std::string>() : t::describe(text.err()));
    auto script = co_await l->execute("SELECT 1; SELECT 2");
    trace.push_back(script ? std::to_string(script->size()) + " results"
                           : t::describe(script.err()));
    auto begun = co_await l->query("BEGIN");
    auto pinged = co_await l->ping(5s);
    auto reset = co_await l->reset();
    trace.push_back(begun && pinged && reset ? "ping, reset" : "ping/reset failed");
    trace.push_back((*l)->transaction_status() == uvdb::tx_status::idle ? "rolled back"
                                                                        : "still in a transaction");
}

}  // namespace

TEST_CASE("call surface: a handler's queries, the lease's forms", "[pg][pool][call]") {
    uvdb::event_loop loop;
    uvdb::pool db(loop, t::pg_driver(), t::pool_test_options(2, 0));
    std::vector<std::string> trace;
    bool done = false;
    uvdb::spawn(handler(db, trace), [&](std::exception_ptr) { done = true; });
    t::run_until(
        loop, [&] { return done; }, 30s, "the handler");
    CHECK(trace == std::vector<std::string>{"42", "ab", "2 results", "ping, reset", "rolled back"});
    CHECK(db.stats().checked_out == 0);
}

TEST_CASE("call surface: call_options::timeout bounds the statement", "[pg][pool][call]") {
    uvdb::event_loop loop;
    uvdb::pool db(loop, t::pg_driver(), t::pool_test_options(1, 0));
    std::optional<uvdb::result<uvdb::result_set>> slow;
    db.query(uvdb::call_options{200ms}, "SELECT pg_sleep(30)",
             [&](uvdb::result<uvdb::result_set> r) { slow.emplace(std::move(r)); });
    t::run_until(
        loop, [&] { return slow.has_value(); }, 20s, "the timed-out statement");
    REQUIRE_FALSE(slow->ok());
    INFO(t::describe(slow->err()));
    CHECK(slow->err().value() == uvdb::errc::timeout);

    std::optional<uvdb::result<uvdb::result_set>> next;
    db.query("SELECT 1", [&](uvdb::result<uvdb::result_set> r) { next.emplace(std::move(r)); });
    t::run_until(
        loop, [&] { return next.has_value(); }, 20s, "the next statement");
    CHECK(next->ok());
}

TEST_CASE("call surface: a stop from another thread cancels the statement", "[pg][pool][call]") {
    uvdb::event_loop loop;
    uvdb::pool db(loop, t::pg_driver(), t::pool_test_options(1, 0));
    std::stop_source stop;
    std::optional<uvdb::result<uvdb::result_set>> slow;
    db.query(uvdb::call_options{stop.get_token()}, "SELECT pg_sleep(30)",
             [&](uvdb::result<uvdb::result_set> r) { slow.emplace(std::move(r)); });
    // Whenever the stop arrives (waiting for the connection or running), the
    // call ends with errc::cancelled.
    std::thread other([&] {
        std::this_thread::sleep_for(100ms);
        stop.request_stop();
    });
    t::run_until(
        loop, [&] { return slow.has_value(); }, 20s, "the stopped statement");
    other.join();
    REQUIRE_FALSE(slow->ok());
    INFO(t::describe(slow->err()));
    CHECK(slow->err().value() == uvdb::errc::cancelled);

    std::optional<uvdb::result<uvdb::result_set>> next;
    db.query("SELECT $1::int", 5,
             [&](uvdb::result<uvdb::result_set> r) { next.emplace(std::move(r)); });
    t::run_until(
        loop, [&] { return next.has_value(); }, 20s, "the next statement");
    REQUIRE(next->ok());
    CHECK((*next)->value<int>() == 5);
}

TEST_CASE("call surface: a handler that throws leaves the pool usable", "[pg][pool][call]") {
    uvdb::event_loop loop;
    uvdb::pool db(loop, t::pg_driver(), t::pool_test_options(1, 0));
    auto throwing = [&]() -> uvdb::task<void> {
        auto r = co_await db.query("SELECT 1");
        if (r) throw std::runtime_error("handler failed");
    };
    std::exception_ptr escaped;
    bool done = false;
    uvdb::spawn(throwing(), [&](std::exception_ptr ep) {
        escaped = ep;
        done = true;
    });
    t::run_until(
        loop, [&] { return done; }, 20s, "the throwing handler");
    CHECK(escaped != nullptr);

    std::optional<uvdb::result<uvdb::result_set>> next;
    db.query("SELECT 2", [&](uvdb::result<uvdb::result_set> r) { next.emplace(std::move(r)); });
    t::run_until(
        loop, [&] { return next.has_value(); }, 20s, "the next statement");
    REQUIRE(next->ok());
    CHECK((*next)->value<int>() == 2);
}
