// Faults done to the real server: restarts (fast and immediate), backends
// terminated while idle and mid-query, and the server refusing connections
// while it shuts down and starts up (57P03). Rows 1-4 and 8 of docs/FAULTS.md.

#include <libpq-fe.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <uvdb/pool.hpp>

#include "fault/support/fault_check.hpp"
#include "fault/support/fault_pool.hpp"
#include "integration/pool_pg_support.hpp"
#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

namespace {

int server_port() { return std::stoi(t::env().port); }

void require_pgctl() {
    if (t::env().pgctl.empty())
        FAIL("UVDB_TEST_PGCTL is not set: start the server with scripts/pg-test-server.sh");
}

/// The backend pids the pool holds now: leases every connection at once.
std::set<std::int64_t> pool_pids(uvdb::event_loop& loop, uvdb::pool& db, std::size_t n) {
    const auto pids = t::warm_up(loop, db, n);
    return {pids.begin(), pids.end()};
}

}  // namespace

TEST_CASE(
    "F1: server restarted (fast) under an idle pool: idle connections replaced, no caller sees an "
    "error",
    "[fault][F1]") {
    require_pgctl();
    t::fd_scope fds;
    {
        uvdb::event_loop loop;
        auto opts = t::fault_pool_options(3, 0);
        uvdb::pool db(loop, t::pg_driver(), opts);  // default pre-ping threshold (500 ms)
        const auto before = pool_pids(loop, db, 3);
        REQUIRE(db.stats().idle == 3);

        // The loop does not run: the restart happens while the pool sits idle.
        const auto began = std::chrono::steady_clock::now();
        REQUIRE(t::run_pg_ctl("restart -m fast -w") == 0);
        // The connections must have sat idle past the pre-ping threshold, and
        // the loop must turn once (as an application's loop does) so that its
        // cached clock knows how long they sat.
        const auto since = std::chrono::steady_clock::now() - began;
        t::run_for(
            loop,
            std::max(20ms, std::chrono::duration_cast<std::chrono::milliseconds>(600ms - since)));

        const auto failures = t::run_pool_queries(loop, db, 30, 3);
        INFO("first failure: " << (failures.empty() ? "" : failures.front()));
        CHECK(failures.empty());
        const auto after = pool_pids(loop, db, 3);
        for (auto pid : after) CHECK(before.count(pid) == 0);  // every one replaced
        t::check_after_fault(loop, db, opts.connection.application_name, {.port = server_port()});
    }
    fds.check();
}

TEST_CASE(
    "F2: server crash (immediate stop, start): every older connection replaced pool-wide, at most "
    "one caller fails",
    "[fault][F2]") {
    require_pgctl();
    t::fd_scope fds;
    {
        uvdb::event_loop loop;
        auto opts = t::fault_pool_options(5, 0);
        // No pre-ping: the crash is found by a failing statement, so what
        // happens to the other four shows whether invalidation is pool-wide.
        opts.pre_ping = false;
        uvdb::pool db(loop, t::pg_driver(), opts);
        const auto before = pool_pids(loop, db, 5);
        REQUIRE(before.size() == 5);

        REQUIRE(t::run_pg_ctl("stop -m immediate -w") == 0);
        REQUIRE(t::run_pg_ctl("start -w") == 0);

        // One at a time, so each caller would meet a dead connection if only
        // the failing one were replaced.
        int failed = 0;
        std::string first;
        for (int i = 0; i < 10; ++i) {
            auto r = t::pool_query_sync(loop, db, "SELECT 1");
            if (!r) {
                ++failed;
                if (first.empty()) first = t::describe(r.err());
                CHECK(r.err().server_gone());
            }
        }
        INFO("first failure: " << first);
        CHECK(failed <= 1);
        const auto after = pool_pids(loop, db, 5);
        for (auto pid : after) CHECK(before.count(pid) == 0);
        t::check_after_fault(loop, db, opts.connection.application_name, {.port = server_port()});
    }
    fds.check();
}

TEST_CASE("F3: backends terminated while idle are replaced silently", "[fault][F3]") {
    t::fd_scope fds;
    {
        uvdb::event_loop loop;
        auto opts = t::fault_pool_options(4, 0);
        uvdb::pool db(loop, t::pg_driver(), opts);
        const auto before = pool_pids(loop, db, 4);
        for (auto pid : before) t::terminate_backend(loop, pid);
        t::run_for(loop, 600ms);  // past the pre-ping threshold

        const auto failures = t::run_pool_queries(loop, db, 40, 4);
        INFO("first failure: " << (failures.empty() ? "" : failures.front()));
        CHECK(failures.empty());
        const auto after = pool_pids(loop, db, 4);
        for (auto pid : after) CHECK(before.count(pid) == 0);
        t::check_after_fault(loop, db, opts.connection.application_name, {.port = server_port()});
    }
    fds.check();
}

TEST_CASE(
    "F4: backend terminated mid-query: the caller gets connection_lost (57P01), no retry, "
    "connection destroyed",
    "[fault][F4]") {
    t::fd_scope fds;
    const std::string seq = "uvdb_fault_f4_" + std::to_string(::getpid());
    {
        uvdb::event_loop loop;
        auto opts = t::fault_pool_options(2, 0);
        uvdb::pool db(loop, t::pg_driver(), opts);
        // nextval() is not rolled back: the sequence counts how often the
        // statement started, so an automatic retry would show.
        auto made = t::pool_query_sync(loop, db, "CREATE SEQUENCE " + seq);
        if (!made) t::fail_with("CREATE SEQUENCE", made.err());

        auto slot = t::make_query_slot();
        db.query("SELECT nextval('" + seq + "'), pg_sleep(5)", t::store_in(slot));
        // Wait until the server runs it, then terminate that backend.
        auto admin = t::connect_or_fail(loop, t::admin_options());
        std::int64_t pid = 0;
        t::run_until(
            loop,
            [&] {
                auto r = t::query_sync(loop, *admin,
                                       "SELECT coalesce(max(pid), 0)::int8 FROM pg_stat_activity "
                                       "WHERE application_name = $1 "
                                       "AND state = 'active' AND query LIKE '%pg_sleep%'",
                                       uvdb::make_params(opts.connection.application_name));
                if (r) pid = r->value<std::int64_t>();
                return pid != 0;
            },
            5s, "the statement to run on the server");
        const uvdb::pool_stats st0 = db.stats();
        admin.reset();
        t::terminate_backend(loop, pid);
        t::run_until(
            loop, [&] { return slot->has_value(); }, 5s, "the terminated statement's callback");
        REQUIRE_FALSE(**slot);
        const auto& e = (*slot)->err();
        INFO(t::describe(e));
        CHECK(e.value() == errc::connection_lost);
        CHECK(e.is_fatal());
        // libpq 15 replaces the error result by its own text when the socket
        // closes right after the FATAL; the driver reads the SQLSTATE back
        // from libpq's verbose text (pg_error.cpp, connection_lost).
        CHECK(e.sqlstate() == "57P01");

        t::run_for(loop, 300ms);  // a retry, if any, would have started by now
        auto count = t::pool_query_sync(loop, db, "SELECT last_value::int8 FROM " + seq);
        REQUIRE(count);
        CHECK(count->value<std::int64_t>() == 1);
        const auto st = db.stats();
        CHECK(st.invalidated + st.closed_broken >
              st0.invalidated + st0.closed_broken);  // destroyed, not reused
        (void)t::pool_query_sync(loop, db, "DROP SEQUENCE " + seq);
        t::check_after_fault(loop, db, opts.connection.application_name, {.port = server_port()});
    }
    fds.check();
}

TEST_CASE(
    "F8: server shutting down and starting up (57P03): retryable, retried within the acquire "
    "deadline",
    "[fault][F8]") {
    require_pgctl();
    t::fd_scope fds;
    {
        uvdb::event_loop loop;
        auto opts = t::fault_pool_options(2, 0);
        opts.timeout = 15s;
        opts.breaker_threshold = 0;  // 57P03 retried within the deadline, the breaker off
        uvdb::pool db(loop, t::pg_driver(), opts);

        // A session that stays connected keeps a smart shutdown in progress:
        // meanwhile the server refuses new connections with 57P03. (Test
        // code, off the pool's loop: a blocking libpq connection is fine.)
        PGconn* holder = PQconnectdb(t::env().admin_url.c_str());
        REQUIRE(PQstatus(holder) == CONNECTION_OK);
        REQUIRE(t::run_pg_ctl("stop -m smart -W") == 0);

        std::optional<uvdb::result<uvdb::lease>> got;
        const auto began = std::chrono::steady_clock::now();
        db.acquire([&](uvdb::result<uvdb::lease> r) { got.emplace(std::move(r)); });
        const bool saw_57p03 = t::wait_until(
            loop,
            [&] {
                auto e = db.last_connect_error();
                return e && e->value() == errc::server_starting;
            },
            5s);
        std::optional<uvdb::error> refused = db.last_connect_error();
        INFO("last connect error: " << (refused ? t::describe(*refused) : "none"));
        CHECK(saw_57p03);
        if (refused) {
            CHECK(refused->sqlstate() == "57P03");
            CHECK(refused->retryable());
        }
        CHECK_FALSE(got.has_value());  // still waiting: 57P03 is retried, not returned

        // Let the shutdown finish, then start the server again, while the
        // pool's caller keeps waiting on the loop.
        std::atomic<bool> restarted{false};
        std::atomic<int> start_rc{-1};
        std::thread ops([&] {
            PQfinish(holder);
            (void)t::run_pg_ctl("stop -m fast -w");
            start_rc = t::run_pg_ctl("start -w");
            restarted = true;
        });
        t::run_until(
            loop, [&] { return got.has_value() && restarted.load(); }, 20s,
            "the acquire and the restart");
        ops.join();
        CHECK(start_rc.load() == 0);
        REQUIRE(got.has_value());
        INFO("acquire: " << (*got ? std::string("ok") : t::describe(got->err())));
        CHECK(*got);
        CHECK(std::chrono::steady_clock::now() - began < opts.timeout);
        CHECK(db.stats().connect_failures >= 1);
        got.reset();  // the lease goes back
        t::check_after_fault(loop, db, opts.connection.application_name, {.port = server_port()});
    }
    fds.check();
}
