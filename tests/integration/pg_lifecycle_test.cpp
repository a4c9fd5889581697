// A connection's life: reset() for the next user, statements queued in order,
// close() and destruction at awkward moments (inside a callback, mid-query),
// and no file descriptor left behind.

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>
#include <vector>

#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

namespace {

void expect_closed(const t::query_slot& s) {
    REQUIRE(s->has_value());
    REQUIRE_FALSE(s->value().ok());
    INFO(t::describe(s->value().err()));
    CHECK(s->value().err().value() == errc::closed);
}

}  // namespace

TEST_CASE("reset() rolls back an open transaction", "[pg][lifecycle][reset]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::query_sync(loop, *conn, "CREATE TEMP TABLE r (v int)").ok());
    REQUIRE(t::query_sync(loop, *conn, "BEGIN").ok());
    REQUIRE(t::query_sync(loop, *conn, "INSERT INTO r VALUES (1)").ok());
    CHECK(conn->transaction_status() == uvdb::tx_status::in_transaction);

    auto rr = t::reset_sync(loop, *conn);
    if (!rr) t::fail_with("reset", rr.err());
    CHECK(conn->transaction_status() == uvdb::tx_status::idle);
    CHECK(conn->is_ready());
    CHECK(t::scalar<std::int64_t>(loop, *conn, "SELECT count(*) FROM r") == 0);
    // The server agrees that the INSERT's transaction is gone: a fresh
    // implicit transaction has no transaction id yet.
    CHECK(t::scalar<bool>(loop, *conn, "SELECT pg_current_xact_id_if_assigned() IS NULL"));
    auto warn = t::query_sync(loop, *conn, "COMMIT");  // nothing to commit: a warning, not an error
    REQUIRE(warn.ok());
}

TEST_CASE("reset() makes a failed transaction usable again", "[pg][lifecycle][reset]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::query_sync(loop, *conn, "BEGIN").ok());
    REQUIRE_FALSE(t::query_sync(loop, *conn, "SELECT 1 / 0").ok());
    CHECK(conn->transaction_status() == uvdb::tx_status::failed_transaction);

    auto rr = t::reset_sync(loop, *conn);
    if (!rr) t::fail_with("reset", rr.err());
    CHECK(conn->transaction_status() == uvdb::tx_status::idle);
    CHECK(t::scalar<int>(loop, *conn, "SELECT 1") == 1);
}

TEST_CASE("reset() on an idle connection is harmless", "[pg][lifecycle][reset]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::reset_sync(loop, *conn).ok());
    REQUIRE(t::reset_sync(loop, *conn).ok());
    CHECK(conn->transaction_status() == uvdb::tx_status::idle);
    CHECK(t::scalar<int>(loop, *conn, "SELECT 1") == 1);
}

TEST_CASE("queued statements run in order", "[pg][lifecycle]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    std::vector<int> order;
    std::vector<t::query_slot> slots;
    // The first is the slowest: a driver that reorders would answer it last.
    const char* sqls[] = {"SELECT 1 FROM pg_sleep(0.2)", "SELECT 2",
                          "SELECT 3 FROM pg_sleep(0.05)"};
    for (int i = 0; i < 3; ++i) {
        auto s = t::make_query_slot();
        slots.push_back(s);
        conn->query(sqls[i], [s, i, &order](uvdb::result<uvdb::result_set> r) {
            order.push_back(i);
            s->emplace(std::move(r));
        });
    }
    CHECK(order.empty());  // never inline from query()
    CHECK_FALSE(conn->is_idle());
    t::run_until(
        loop, [&] { return order.size() == 3; }, 10s, "three queued statements");
    CHECK(order == std::vector<int>{0, 1, 2});
    for (int i = 0; i < 3; ++i) {
        REQUIRE(slots[i]->value().ok());
        CHECK(slots[i]->value()->value<int>() == i + 1);
    }
    CHECK(conn->is_idle());
}

TEST_CASE("statements issued before the connect completes are queued", "[pg][lifecycle]") {
    uvdb::event_loop loop;
    auto connected = std::make_shared<std::optional<uvdb::result<void>>>();
    auto conn = t::pg_driver()->connect(loop, t::test_options(), [connected](uvdb::result<void> r) {
        connected->emplace(std::move(r));
    });
    auto q = t::make_query_slot();
    conn->query("SELECT $1::text", uvdb::make_params("early"), t::store_in(q));
    t::run_until(
        loop, [&] { return q->has_value(); }, 30s, "a statement issued while connecting");
    REQUIRE(connected->has_value());
    REQUIRE(connected->value().ok());
    REQUIRE(q->value().ok());
    CHECK(q->value()->value<std::string>() == "early");
}

TEST_CASE("close() from inside a query callback: queued statements complete with closed",
          "[pg][lifecycle][close]") {
    uvdb::event_loop loop;
    const auto fds = t::open_fd_count();
    {
        auto conn = t::connect_or_fail(loop, t::test_options());
        uvdb::connection* c = conn.get();
        auto first = t::make_query_slot();
        auto second = t::make_query_slot();
        auto third = t::make_query_slot();
        int calls = 0;
        conn->query("SELECT 1", [c, first, &calls](uvdb::result<uvdb::result_set> r) {
            ++calls;
            first->emplace(std::move(r));
            c->close();
            c->close();  // idempotent
        });
        conn->query("SELECT 2", [second, &calls](uvdb::result<uvdb::result_set> r) {
            ++calls;
            second->emplace(std::move(r));
        });
        conn->query("SELECT 3", [third, &calls](uvdb::result<uvdb::result_set> r) {
            ++calls;
            third->emplace(std::move(r));
        });
        t::run_until(
            loop, [&] { return third->has_value(); }, 10s, "all three callbacks");
        REQUIRE(first->value().ok());
        CHECK(first->value()->value<int>() == 1);
        expect_closed(second);
        expect_closed(third);
        CHECK(conn->is_broken());
        CHECK_FALSE(conn->is_ready());

        // After close, a new statement fails with closed, and not inline.
        auto late = t::make_query_slot();
        conn->query("SELECT 4", t::store_in(late));
        CHECK_FALSE(late->has_value());
        t::run_until(
            loop, [&] { return late->has_value(); }, 5s, "a statement on a closed connection");
        expect_closed(late);
        t::run_for(loop, 20ms);
        CHECK(calls == 3);  // each callback exactly once
    }
    t::check_fds_return_to(loop, fds);
}

TEST_CASE("destroying a connection from inside its own callback", "[pg][lifecycle][close]") {
    uvdb::event_loop loop;
    const auto fds = t::open_fd_count();
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto first = t::make_query_slot();
    auto second = t::make_query_slot();
    conn->query("SELECT 1", [&conn, first](uvdb::result<uvdb::result_set> r) {
        first->emplace(std::move(r));
        conn.reset();
    });
    conn->query("SELECT 2", t::store_in(second));
    t::run_until(
        loop, [&] { return second->has_value(); }, 10s, "both callbacks");
    CHECK(conn == nullptr);
    REQUIRE(first->value().ok());
    expect_closed(second);
    t::check_fds_return_to(loop, fds);
}

TEST_CASE("destroying a connection while a query runs completes it with closed",
          "[pg][lifecycle][close]") {
    uvdb::event_loop loop;
    const auto fds = t::open_fd_count();
    auto conn = t::connect_or_fail(loop, t::test_options());
    const auto pid = conn->server_pid();
    auto running = t::make_query_slot();
    auto queued = t::make_query_slot();
    conn->query("SELECT pg_sleep(3)", t::store_in(running));
    conn->query("SELECT 1", t::store_in(queued));
    t::run_for(loop, 200ms);
    REQUIRE_FALSE(running->has_value());

    const auto start = std::chrono::steady_clock::now();
    conn.reset();
    t::run_until(
        loop, [&] { return running->has_value() && queued->has_value(); }, 5s,
        "the callbacks of a destroyed connection");
    CHECK(std::chrono::steady_clock::now() - start < 2s);
    expect_closed(running);
    expect_closed(queued);
    t::check_fds_return_to(loop, fds);

    // The server learns of it too: the session goes away (once pg_sleep ends
    // and the backend finds the socket closed).
    auto admin = t::connect_or_fail(loop, t::admin_options());
    bool gone = t::wait_until(
        loop,
        [&] {
            auto r = t::query_sync(loop, *admin,
                                   "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int",
                                   uvdb::make_params(pid));
            return r.ok() && r->value<std::int64_t>() == 0;
        },
        15s);
    CHECK(gone);
}

TEST_CASE("fd count returns to the start after connections open and close", "[pg][lifecycle]") {
    uvdb::event_loop loop;
    const auto fds = t::open_fd_count();
    for (int round = 0; round < 3; ++round) {
        std::vector<std::unique_ptr<uvdb::connection>> conns;
        for (int i = 0; i < 5; ++i) {
            conns.push_back(t::connect_or_fail(loop, t::test_options()));
            CHECK(t::scalar<int>(loop, *conns.back(), "SELECT 1") == 1);
        }
        CHECK(t::open_fd_count() >= fds + 5);
        conns[0]->close();
        conns.clear();  // the rest by destruction
        t::check_fds_return_to(loop, fds);
    }
}
