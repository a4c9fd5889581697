// Pipelining in the PostgreSQL driver (docs/DRIVERS.md, "Pipelining"):
// statements issued on a connection without waiting go out at once, each in
// a Sync group of its own, and come back in order; one statement's error or
// timeout touches no other; timeouts are the server's statement_timeout for
// that statement alone and leave the session's setting as it was; what must
// run alone (scripts, BEGIN, SET, DDL) waits for the pipeline to drain.

#include <catch2/catch.hpp>
#include <string>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/param.hpp>
#include <vector>

#include "integration/support/test_env.hpp"
#include "support/loop_wait.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

namespace {

/// Issues `sql` (with `p`) and returns where its result will land.
t::query_slot issue(uvdb::connection& c, std::string_view sql, uvdb::params p = {},
                    std::chrono::milliseconds timeout = std::chrono::milliseconds{-1}) {
    auto slot = t::make_query_slot();
    uvdb::query_options o;
    o.timeout = timeout;
    c.query(sql, std::move(p), o, t::store_in(slot));
    return slot;
}

void wait_all(uvdb::event_loop& loop, const std::vector<t::query_slot>& slots) {
    t::wait_all(loop, slots, 30s, "every pipelined statement answered");
}

int int_of(const t::query_slot& s) {
    REQUIRE(s->has_value());
    const auto& r = **s;
    if (!r) t::fail_with("statement", r.err());
    return r->value<int>();
}

std::string show_timeout(uvdb::event_loop& loop, uvdb::connection& c) {
    return t::scalar<std::string>(loop, c, "SHOW statement_timeout");
}

}  // namespace

TEST_CASE("pipelined statements come back in order, each with its own outcome", "[pg][pipeline]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(conn->pipeline_depth() == uvdb::connect_options{}.pipeline_depth);
    std::vector<t::query_slot> slots;
    for (int i = 0; i < 200; ++i) {
        // Every seventh fails (division by zero); the ones after it must not care.
        slots.push_back(i % 7 == 3 ? issue(*conn, "SELECT 1 / ($1::int - $1::int)", {i})
                                   : issue(*conn, "SELECT $1::int", {i}));
    }
    CHECK(conn->pending() == 200);
    CHECK(conn->front_sent_at() != uvdb::event_loop::clock::time_point{});
    // What the pool asks before it pipelines onto a connection: no
    // transaction is open, even while statements are in flight.
    CHECK(conn->transaction_status() == uvdb::tx_status::idle);
    wait_all(loop, slots);
    for (int i = 0; i < 200; ++i) {
        INFO("statement " << i);
        const auto& r = **slots[static_cast<std::size_t>(i)];
        if (i % 7 == 3) {
            REQUIRE_FALSE(r.ok());
            CHECK(r.err().sqlstate() == "22012");
            CHECK_FALSE(r.err().is_fatal());
        } else {
            CHECK(int_of(slots[static_cast<std::size_t>(i)]) == i);
        }
    }
    CHECK(conn->pending() == 0);
    CHECK(conn->front_sent_at() == uvdb::event_loop::clock::time_point{});
    CHECK(conn->transaction_status() == uvdb::tx_status::idle);
}

TEST_CASE("a timeout on the 3rd of 10 pipelined statements fails only it", "[pg][pipeline]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    std::vector<t::query_slot> slots;
    for (int i = 0; i < 10; ++i) {
        slots.push_back(i == 2 ? issue(*conn, "SELECT pg_sleep(30)::text::int", {}, 100ms)
                               : issue(*conn, "SELECT $1::int", {i}));
    }
    wait_all(loop, slots);
    for (int i = 0; i < 10; ++i) {
        INFO("statement " << i);
        if (i != 2) CHECK(int_of(slots[static_cast<std::size_t>(i)]) == i);
    }
    const auto& r = **slots[2];
    REQUIRE_FALSE(r.ok());
    INFO(t::describe(r.err()));
    // The server ended it (57014), so the connection lives on.
    CHECK(r.err().value() == errc::timeout);
    CHECK(r.err().sqlstate() == "57014");
    CHECK_FALSE(r.err().is_fatal());
    CHECK(t::contains(r.err().message(), "100 ms"));
    // Nothing of its statement_timeout stays with the session.
    CHECK(show_timeout(loop, *conn) == "0");
    CHECK(t::scalar<int>(loop, *conn, "SELECT 7") == 7);
}

TEST_CASE("a statement without a timeout never fails because of another's", "[pg][pipeline]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto slow = issue(*conn, "SELECT pg_sleep(0.3)::text", {}, std::chrono::milliseconds{0});
    auto timed = issue(*conn, "SELECT pg_sleep(30)::text", {}, 50ms);
    auto after =
        issue(*conn, "SELECT count(*)::int FROM pg_sleep(0.3)", {}, std::chrono::milliseconds{0});
    wait_all(loop, {slow, timed, after});
    CHECK((*slow)->ok());
    REQUIRE_FALSE((*timed)->ok());
    CHECK((*timed)->err().value() == errc::timeout);
    CHECK(int_of(after) == 1);
}

TEST_CASE("a timed statement leaves the session's statement_timeout as it was",
          "[pg][pipeline][timeout]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::query_sync(loop, *conn, "SET statement_timeout = '7s'").ok());
    REQUIRE(t::query_sync(loop, *conn, "SELECT 1", {}, {500ms}).ok());
    CHECK(show_timeout(loop, *conn) == "7s");

    SECTION("inside a transaction, where the group is part of the transaction") {
        REQUIRE(t::query_sync(loop, *conn, "BEGIN").ok());
        auto a = issue(*conn, "SELECT $1::int", {1}, 500ms);
        CHECK(conn->transaction_status() == uvdb::tx_status::in_transaction);
        auto b = issue(*conn, "SELECT current_setting('statement_timeout')", {},
                       std::chrono::milliseconds{0});
        wait_all(loop, {a, b});
        CHECK(int_of(a) == 1);
        REQUIRE((*b)->ok());
        CHECK((**b)->value<std::string>() == "7s");
        REQUIRE(t::query_sync(loop, *conn, "COMMIT").ok());
        CHECK(show_timeout(loop, *conn) == "7s");
    }
    SECTION("a timeout inside a transaction aborts it, as any error does; ROLLBACK restores") {
        REQUIRE(t::query_sync(loop, *conn, "BEGIN").ok());
        auto r = t::query_sync(loop, *conn, "SELECT pg_sleep(30)", {}, {50ms});
        REQUIRE_FALSE(r.ok());
        CHECK(r.err().value() == errc::timeout);
        CHECK(conn->transaction_status() == uvdb::tx_status::failed_transaction);
        REQUIRE(t::query_sync(loop, *conn, "ROLLBACK").ok());
        CHECK(show_timeout(loop, *conn) == "7s");
    }
}

TEST_CASE("the server ends a timed statement at its deadline", "[pg][pipeline][timeout]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    const auto start = std::chrono::steady_clock::now();
    auto r = t::query_sync(loop, *conn, "SELECT pg_sleep(30)", {}, {20ms});
    REQUIRE_FALSE(r.ok());
    INFO(t::describe(r.err()));
    CHECK(r.err().value() == errc::timeout);
    // The server's cancel, not the loop's backstop (which closes the
    // connection a second later): the connection is still good.
    CHECK_FALSE(r.err().is_fatal());
    CHECK(t::ms_since(start) < 25'000);
    CHECK(t::scalar<int>(loop, *conn, "SELECT 3") == 3);
}

TEST_CASE("cancel with statements pipelined behind the front: only its caller stops waiting",
          "[pg][pipeline][cancel]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto front = issue(*conn, "SELECT pg_sleep(1)::text");
    auto behind = issue(*conn, "SELECT $1::int", {5});
    conn->cancel();
    t::run_until(
        loop, [&] { return front->has_value(); }, 10s, "the cancelled statement");
    REQUIRE_FALSE((*front)->ok());
    CHECK((*front)->err().value() == errc::cancelled);
    CHECK_FALSE((*front)->err().is_fatal());
    CHECK(t::contains((*front)->err().message(), "pipelined"));
    CHECK_FALSE(behind->has_value());  // answered only after the front really ended
    wait_all(loop, {behind});
    CHECK(int_of(behind) == 5);
    CHECK(t::scalar<int>(loop, *conn, "SELECT 4") == 4);
}

TEST_CASE("cancel of the only statement in flight still interrupts it on the server",
          "[pg][pipeline][cancel]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto front = issue(*conn, "SELECT pg_sleep(30)::text");
    t::run_for(loop, 50ms);
    conn->cancel();
    auto next = issue(*conn, "SELECT $1::int", {6});
    wait_all(loop, {front, next});
    REQUIRE_FALSE((*front)->ok());
    CHECK((*front)->err().value() == errc::cancelled);
    CHECK((*front)->err().sqlstate() == "57014");
    CHECK(int_of(next) == 6);
}

TEST_CASE("several Parses in flight: the statement cache stays right", "[pg][pipeline][cache]") {
    uvdb::event_loop loop;
    auto opts = t::test_options();
    opts.url += "&statement_cache_size=4";
    auto conn = t::connect_or_fail(loop, opts);
    std::vector<t::query_slot> slots;
    for (int i = 0; i < 60; ++i) {
        // Ten texts over a cache of four: misses, hits on Parses still in
        // flight, evictions and their DEALLOCATEs, all in one pipeline.
        const std::string sql = "SELECT $1::int + " + std::to_string(i % 10);
        slots.push_back(issue(*conn, sql, {i}));
    }
    // The same bad text several times at once: each caller sees the syntax
    // error, none a missing prepared statement.
    std::vector<t::query_slot> bad;
    for (int i = 0; i < 5; ++i) bad.push_back(issue(*conn, "SELEKT $1::int", {i}));
    wait_all(loop, slots);
    wait_all(loop, bad);
    for (int i = 0; i < 60; ++i) {
        INFO("statement " << i);
        CHECK(int_of(slots[static_cast<std::size_t>(i)]) == i + i % 10);
    }
    for (const auto& b : bad) {
        REQUIRE_FALSE((*b)->ok());
        CHECK((*b)->err().sqlstate() == "42601");
    }
    auto held = t::execute_sync(loop, *conn,
                                "SELECT count(*)::int FROM pg_prepared_statements WHERE name LIKE "
                                "'uvdb_s%'");
    REQUIRE(held.ok());
    CHECK(held->front().value<int>() <= 4);
}

TEST_CASE("scripts run alone, transaction control is pipelined, the order holds",
          "[pg][pipeline]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::execute_sync(loop, *conn, "CREATE TEMP TABLE pl (n int)").ok());
    auto i1 = issue(*conn, "INSERT INTO pl VALUES (1) RETURNING n");
    auto i2 = issue(*conn, "INSERT INTO pl VALUES (2) RETURNING n");
    bool script_done = false;
    conn->execute("INSERT INTO pl VALUES (3); INSERT INTO pl VALUES (4)", {},
                  [&](uvdb::result<std::vector<uvdb::result_set>> r) {
                      CHECK(r.ok());
                      script_done = true;
                  });
    auto begin = issue(*conn, "BEGIN");
    auto i5 = issue(*conn, "INSERT INTO pl VALUES (5) RETURNING n");
    auto rollback = issue(*conn, "ROLLBACK");
    auto sum = issue(*conn, "SELECT sum(n)::int FROM pl");
    wait_all(loop, {i1, i2, begin, i5, rollback, sum});
    CHECK(script_done);
    CHECK(int_of(i1) == 1);
    CHECK(int_of(i2) == 2);
    CHECK(int_of(i5) == 5);
    CHECK(int_of(sum) == 10);
    CHECK(conn->transaction_status() == uvdb::tx_status::idle);
}

TEST_CASE("pipeline_depth 1: one statement at a time, as before", "[pg][pipeline]") {
    uvdb::event_loop loop;
    auto opts = t::test_options();
    opts.pipeline_depth = 1;
    auto conn = t::connect_or_fail(loop, opts);
    CHECK(conn->pipeline_depth() == 1);
    std::vector<t::query_slot> slots;
    for (int i = 0; i < 20; ++i) slots.push_back(issue(*conn, "SELECT $1::int", {i}, 5s));
    CHECK(conn->pending() == 20);
    wait_all(loop, slots);
    for (int i = 0; i < 20; ++i) CHECK(int_of(slots[static_cast<std::size_t>(i)]) == i);
}

TEST_CASE("BEGIN, statements and COMMIT issued together: one transaction", "[pg][pipeline]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::execute_sync(loop, *conn, "CREATE TEMP TABLE tx (n int)").ok());
    REQUIRE(t::query_sync(loop, *conn, "SET statement_timeout = '9s'").ok());
    std::vector<t::query_slot> slots;
    slots.push_back(issue(*conn, "BEGIN"));
    // Inside the block: the statement's own timeout is saved and restored.
    slots.push_back(issue(*conn, "INSERT INTO tx VALUES (1) RETURNING n", {}, 500ms));
    CHECK(conn->transaction_status() == uvdb::tx_status::in_transaction);
    slots.push_back(issue(*conn, "SELECT current_setting('statement_timeout')"));
    slots.push_back(issue(*conn, "INSERT INTO tx VALUES (1 / ($1::int - $1::int))", {3}));
    slots.push_back(issue(*conn, "INSERT INTO tx VALUES (2) RETURNING n"));
    slots.push_back(issue(*conn, "COMMIT"));
    CHECK(conn->transaction_status() == uvdb::tx_status::idle);
    slots.push_back(issue(*conn, "SELECT count(*)::int FROM tx"));
    wait_all(loop, slots);
    CHECK((*slots[0])->ok());
    CHECK(int_of(slots[1]) == 1);
    REQUIRE((*slots[2])->ok());
    CHECK((**slots[2])->value<std::string>() == "9s");
    REQUIRE_FALSE((*slots[3])->ok());
    CHECK((*slots[3])->err().sqlstate() == "22012");
    REQUIRE_FALSE((*slots[4])->ok());
    CHECK((*slots[4])->err().sqlstate() == "25P02");  // the transaction was aborted
    // COMMIT of an aborted transaction rolls it back: nothing was kept.
    CHECK(int_of(slots[6]) == 0);
    CHECK(show_timeout(loop, *conn) == "9s");
    CHECK(conn->transaction_status() == uvdb::tx_status::idle);
}
