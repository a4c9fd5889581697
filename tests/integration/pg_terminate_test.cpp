// The server ends a session (pg_terminate_backend): while idle, the next
// statement fails as connection_lost; mid-query, that query fails the same
// way. Either way the connection reports itself broken.

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>

#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

namespace {

void expect_lost(const uvdb::error& e) {
    INFO(t::describe(e));
    CHECK(e.value() == errc::connection_lost);
    CHECK(e.is_fatal());
    CHECK(e.server_gone());
    // PostgreSQL 15 sends FATAL 57P01 (admin_shutdown) before it closes the
    // socket; the driver keeps that SQLSTATE even when libpq replaces the
    // result with its own "server closed the connection" text.
    CHECK(e.sqlstate() == "57P01");
}

}  // namespace

TEST_CASE("backend terminated while idle: the next query fails with connection_lost",
          "[pg][terminate]") {
    uvdb::event_loop loop;
    const auto fds = t::open_fd_count();
    {
        auto conn = t::connect_or_fail(loop, t::test_options());
        const auto pid = conn->server_pid();
        REQUIRE(pid > 0);
        t::terminate_backend(loop, pid);
        t::run_for(loop, 100ms);

        auto r = t::query_sync(loop, *conn, "SELECT 1", {}, {}, 10s);
        REQUIRE_FALSE(r.ok());
        expect_lost(r.err());
        CHECK(conn->is_broken());
        CHECK_FALSE(conn->is_ready());

        // Broken stays broken: later statements fail at once, never hang.
        auto again = t::query_sync(loop, *conn, "SELECT 2", {}, {}, 5s);
        REQUIRE_FALSE(again.ok());
        INFO(t::describe(again.err()));
        CHECK(again.err().is_fatal());
        CHECK(conn->is_broken());
    }
    t::check_fds_return_to(loop, fds);
}

TEST_CASE("backend terminated during pg_sleep(10): that query fails with connection_lost",
          "[pg][terminate]") {
    uvdb::event_loop loop;
    const auto fds = t::open_fd_count();
    {
        auto conn = t::connect_or_fail(loop, t::test_options());
        auto got = t::make_query_slot();
        auto queued = t::make_query_slot();
        conn->query("SELECT pg_sleep(10)", t::store_in(got));
        conn->query("SELECT 1", t::store_in(queued));
        t::run_for(loop, 300ms);
        REQUIRE_FALSE(got->has_value());

        const auto start = std::chrono::steady_clock::now();
        t::terminate_backend(loop, conn->server_pid());
        t::run_until(
            loop, [&] { return got->has_value() && queued->has_value(); }, 5s,
            "the terminated query and the one queued behind it");
        CHECK(std::chrono::steady_clock::now() - start < 5s);
        REQUIRE_FALSE(got->value().ok());
        expect_lost(got->value().err());
        CHECK(conn->is_broken());

        // The statement queued behind it was never sent: it fails too, fatally.
        REQUIRE_FALSE(queued->value().ok());
        INFO(t::describe(queued->value().err()));
        CHECK(queued->value().err().is_fatal());
    }
    t::check_fds_return_to(loop, fds);
}

TEST_CASE("ping: ok on a live connection, fatal after the backend is terminated",
          "[pg][terminate][ping]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto ok = t::ping_sync(loop, *conn, 2s);
    if (!ok) t::fail_with("ping", ok.err());
    CHECK(conn->is_ready());

    t::terminate_backend(loop, conn->server_pid());
    t::run_for(loop, 100ms);
    const auto start = std::chrono::steady_clock::now();
    auto dead = t::ping_sync(loop, *conn, 2s);
    CHECK(std::chrono::steady_clock::now() - start < 3s);
    REQUIRE_FALSE(dead.ok());
    INFO(t::describe(dead.err()));
    CHECK(dead.err().is_fatal());
    CHECK(dead.err().value() == errc::connection_lost);
    CHECK(conn->is_broken());
}
