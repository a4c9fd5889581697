// Faults with several statements in flight on one connection (pipelining,
// docs/DRIVERS.md): row 28 of docs/FAULTS.md.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>
#include <vector>

#include "fault/support/fault_check.hpp"
#include "integration/support/test_env.hpp"
#include "support/loop_wait.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

TEST_CASE(
    "F28: backend terminated with 50 statements in flight: every one gets the connection's "
    "error, none hangs, none is sent again",
    "[fault][F28]") {
    t::fd_scope fds;
    {
        uvdb::event_loop loop;
        auto opts = t::test_options();
        opts.pipeline_depth = 64;
        opts.application_name = "uvdb_fault_f28";
        auto conn = t::connect_or_fail(loop, opts);
        const std::string seq = "uvdb_fault_f28_" + std::to_string(::getpid());
        REQUIRE(t::execute_sync(loop, *conn, "CREATE SEQUENCE " + seq).ok());
        // The first one sleeps, so the other 49 are surely in flight behind
        // it when the backend goes; nextval counts what the server started.
        std::vector<t::query_slot> slots;
        slots.push_back(t::make_query_slot());
        conn->query("SELECT nextval('" + seq + "'), pg_sleep(5)", {}, {},
                    t::store_in(slots.back()));
        for (int i = 1; i < 50; ++i) {
            slots.push_back(t::make_query_slot());
            conn->query("SELECT nextval('" + seq + "')", {}, {}, t::store_in(slots.back()));
        }
        CHECK(conn->pending() == 50);
        auto admin = t::connect_or_fail(loop, t::admin_options());
        t::run_until(
            loop,
            [&] {
                auto r = t::query_sync(loop, *admin,
                                       "SELECT count(*)::int FROM pg_stat_activity WHERE pid = $1 "
                                       "AND state = 'active' AND query LIKE '%pg_sleep%'",
                                       uvdb::make_params(conn->server_pid()));
                return r && r->value<int>() == 1;
            },
            5s, "the first statement to run on the server");
        admin.reset();
        t::terminate_backend(loop, conn->server_pid());
        t::run_until(
            loop,
            [&] {
                for (const auto& s : slots) {
                    if (!s->has_value()) return false;
                }
                return true;
            },
            5s, "every statement's callback");
        for (std::size_t i = 0; i < slots.size(); ++i) {
            INFO("statement " << i);
            const auto& r = **slots[i];
            REQUIRE_FALSE(r.ok());
            INFO(t::describe(r.err()));
            CHECK(r.err().value() == errc::connection_lost);
            CHECK(r.err().is_fatal());
        }
        CHECK(conn->is_broken());
        CHECK(conn->pending() == 0);
        // Later statements are refused at once, never sent.
        auto late = t::query_sync(loop, *conn, "SELECT 1");
        REQUIRE_FALSE(late.ok());
        CHECK(late.err().is_fatal());
        conn.reset();
        // Only the first statement ever started on the server; nothing was
        // sent again on another connection.
        auto other = t::connect_or_fail(loop, t::test_options());
        CHECK(t::scalar<std::int64_t>(loop, *other, "SELECT last_value FROM " + seq) == 1);
        REQUIRE(t::execute_sync(loop, *other, "DROP SEQUENCE " + seq).ok());
    }
    fds.check();
}
