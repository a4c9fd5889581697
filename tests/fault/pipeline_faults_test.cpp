// Faults with several statements in flight on one connection (pipelining,
// docs/DRIVERS.md): row 28 of docs/FAULTS.md.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/pool.hpp>
#include <vector>

#include "fault/support/fault_check.hpp"
#include "fault/support/fault_pool.hpp"
#include "integration/pool_pg_support.hpp"
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
        t::wait_all(loop, slots, 5s, "every statement's callback");
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

TEST_CASE(
    "F28: a slow statement at the front of a connection: 1,000 fast pool.query calls never wait "
    "behind it",
    "[fault][F28]") {
    uvdb::event_loop loop;
    auto opts = t::fault_pool_options(4, 0);
    opts.pipeline_depth = 16;
    uvdb::pool db(loop, t::pg_driver(), opts);
    t::warm_up(loop, db, 4);

    // The slow statement waits for an advisory lock the test holds: it ends
    // only when the test says so, whatever the machine's speed.
    const std::int64_t key = 0x75766462'0000 + ::getpid();
    auto admin = t::connect_or_fail(loop, t::admin_options());
    REQUIRE(
        t::query_sync(loop, *admin, "SELECT pg_advisory_lock($1)", uvdb::make_params(key)).ok());
    auto slow = t::make_query_slot();
    db.query("SELECT pg_advisory_lock($1)::text, pg_advisory_unlock($1)", uvdb::make_params(key),
             t::store_in(slow));
    t::run_until(
        loop,
        [&] {
            auto r = t::query_sync(loop, *admin,
                                   "SELECT count(*)::int FROM pg_stat_activity WHERE "
                                   "application_name = $1 AND wait_event_type = 'Lock'",
                                   uvdb::make_params(opts.connection.application_name));
            return r && r->value<int>() == 1;
        },
        10s, "the slow statement to wait for the lock");
    // Older than pipeline_max_front_age: nothing may join it any more.
    t::run_for(loop, opts.pipeline_max_front_age * 4);

    constexpr int n = 1000;
    std::vector<t::query_slot> fast;
    fast.reserve(n);
    for (int i = 0; i < n; ++i) {
        fast.push_back(t::make_query_slot());
        db.query("SELECT $1::int", uvdb::make_params(i), t::store_in(fast.back()));
    }
    t::run_until(
        loop,
        [&] {
            for (const auto& s : fast) {
                if (!s->has_value()) return false;
            }
            return true;
        },
        60s, "every fast statement, while the slow one still waits");
    CHECK_FALSE(slow->has_value());
    int wrong = 0;
    for (int i = 0; i < n; ++i) {
        const auto& r = **fast[static_cast<std::size_t>(i)];
        if (!r || r->value<int>() != i) ++wrong;
    }
    CHECK(wrong == 0);
    const uvdb::pool_stats st = db.stats();
    INFO("pipelined " << st.pipelined);
    CHECK(st.pipelined > 0);  // three connections carried 1,000 statements
    CHECK(st.total == 4);     // and no overflow was possible or needed

    REQUIRE(
        t::query_sync(loop, *admin, "SELECT pg_advisory_unlock($1)", uvdb::make_params(key)).ok());
    t::run_until(
        loop, [&] { return slow->has_value(); }, 10s, "the slow statement");
    CHECK((*slow)->ok());
    t::run_until(
        loop, [&] { return db.stats().checked_out == 0; }, 5s, "every connection back");
}

TEST_CASE("F28: a lease never gets a connection with pool.query statements in flight",
          "[fault][F28]") {
    uvdb::event_loop loop;
    auto opts = t::fault_pool_options(1, 0);
    opts.pipeline_depth = 8;
    uvdb::pool db(loop, t::pg_driver(), opts);
    t::warm_up(loop, db, 1);
    std::vector<t::query_slot> slots;
    for (int i = 0; i < 8; ++i) {
        slots.push_back(t::make_query_slot());
        db.query("SELECT $1::int FROM pg_sleep(0.01)", uvdb::make_params(i),
                 t::store_in(slots.back()));
    }
    auto l = t::acquire_sync(loop, db, 10s);
    REQUIRE(l);
    // By the time the lease has it, every pool.query on it was answered.
    for (const auto& s : slots) CHECK(s->has_value());
    CHECK((*l)->pending() == 0);
    CHECK((*l)->is_idle());
}

TEST_CASE(
    "F28: backend terminated under 50 pipelined pool.query calls: each gets its answer or "
    "the connection's error, the pool recovers",
    "[fault][F28]") {
    t::fd_scope fds;
    {
        uvdb::event_loop loop;
        auto opts = t::fault_pool_options(1, 0);
        opts.pipeline_depth = 64;
        uvdb::pool db(loop, t::pg_driver(), opts);
        t::warm_up(loop, db, 1);
        const std::int64_t key = 0x75766462'1000 + ::getpid();
        auto admin = t::connect_or_fail(loop, t::admin_options());
        REQUIRE(t::query_sync(loop, *admin, "SELECT pg_advisory_lock($1)", uvdb::make_params(key))
                    .ok());
        // Issued in one go: the loop's clock stands still meanwhile, so the
        // front is young for all of them and they share the one connection.
        std::vector<t::query_slot> slots;
        slots.push_back(t::make_query_slot());
        db.query("SELECT pg_advisory_lock($1)::text::int", uvdb::make_params(key),
                 t::store_in(slots.back()));
        for (int i = 1; i < 50; ++i) {
            slots.push_back(t::make_query_slot());
            db.query("SELECT $1::int", uvdb::make_params(i), t::store_in(slots.back()));
        }
        std::int64_t pid = 0;
        t::run_until(
            loop,
            [&] {
                auto r = t::query_sync(loop, *admin,
                                       "SELECT coalesce(max(pid), 0)::int8 FROM pg_stat_activity "
                                       "WHERE application_name = $1 AND wait_event_type = 'Lock'",
                                       uvdb::make_params(opts.connection.application_name));
                if (r) pid = r->value<std::int64_t>();
                return pid != 0;
            },
            10s, "the first statement to wait for the lock");
        INFO("pipelined " << db.stats().pipelined);
        t::terminate_backend(loop, pid);
        t::wait_all(loop, slots, 10s, "every caller's answer");
        int lost = 0;
        for (std::size_t i = 0; i < slots.size(); ++i) {
            INFO("statement " << i);
            const auto& r = **slots[i];
            if (r.ok()) {
                CHECK(i > 0);
                CHECK(r->value<int>() == static_cast<int>(i));
            } else {
                INFO(t::describe(r.err()));
                CHECK(r.err().value() == errc::connection_lost);
                CHECK(r.err().is_fatal());
                ++lost;
            }
        }
        CHECK_FALSE((*slots[0])->ok());
        std::printf("F28: %d of 50 pool.query callers got the terminated connection's error\n",
                    lost);
        REQUIRE(t::query_sync(loop, *admin, "SELECT pg_advisory_unlock($1)", uvdb::make_params(key))
                    .ok());
        admin.reset();
        t::check_after_fault(loop, db, opts.connection.application_name,
                             {.port = std::stoi(t::env().port)});
    }
    fds.check();
}
