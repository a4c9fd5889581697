// The pool against real server faults: backends terminated while idle, a
// server restart under an idle pool, and the role's connection limit.

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <uvdb/pool.hpp>
#include <uvdb/timer.hpp>
#include <vector>

#include "integration/pool_pg_support.hpp"
#include "integration/support/test_env.hpp"
#include "support/role_connection_limit.hpp"

using namespace std::chrono_literals;
namespace t = uvdb::test;

namespace {

/// Runs `n` pool queries, `concurrency` at a time; returns the failures' texts.
std::vector<std::string> run_queries(uvdb::event_loop& loop, uvdb::pool& db, int n,
                                     int concurrency) {
    struct state {
        int started = 0;
        int finished = 0;
        std::vector<std::string> failures;
    };
    auto st = std::make_shared<state>();
    std::function<void()> start_one;
    start_one = [&db, st, n, &start_one] {
        if (st->started == n) return;
        const int k = st->started++;
        db.query("SELECT $1::int + 1", uvdb::make_params(k),
                 [st, k, &start_one](uvdb::result<uvdb::result_set> r) {
                     ++st->finished;
                     if (!r) {
                         st->failures.push_back(t::describe(r.err()));
                     } else if (r->value<int>() != k + 1) {
                         st->failures.push_back("wrong answer");
                     }
                     start_one();
                 });
    };
    for (int i = 0; i < concurrency; ++i) start_one();
    t::run_until(
        loop, [&] { return st->finished == n; }, 120s, "the queries");
    return st->failures;
}

/// Opens `n` connections (all leased at once), returns their backend pids,
/// and gives them back.
std::set<std::int64_t> warm_up(uvdb::event_loop& loop, uvdb::pool& db, int n) {
    std::vector<uvdb::lease> leases;
    int failed = 0;
    for (int i = 0; i < n; ++i) {
        db.acquire([&](uvdb::result<uvdb::lease> r) {
            if (r) {
                leases.push_back(std::move(r).value());
            } else {
                ++failed;
            }
        });
    }
    t::run_until(
        loop, [&] { return static_cast<int>(leases.size()) + failed == n; }, 60s, "warm-up");
    REQUIRE(failed == 0);
    std::set<std::int64_t> pids;
    for (auto& l : leases) pids.insert(l->server_pid());
    leases.clear();
    t::run_for(loop, 50ms);
    return pids;
}

}  // namespace

TEST_CASE("pool: every idle backend terminated, 100 queries still succeed (pre-ping)",
          "[pg][pool]") {
    uvdb::event_loop loop;
    auto opts = t::pool_test_options(5, 0);
    opts.pre_ping_idle_threshold = 0ms;  // ping at every checkout
    uvdb::pool db(loop, t::pg_driver(), opts);
    const auto pids = warm_up(loop, db, 5);
    REQUIRE(pids.size() == 5);
    REQUIRE(db.stats().idle == 5);
    for (auto pid : pids) t::terminate_backend(loop, pid);

    const auto failures = run_queries(loop, db, 100, 5);
    INFO("first failure: " << (failures.empty() ? "" : failures.front()));
    CHECK(failures.empty());
    const auto st = db.stats();
    CHECK(st.ping_failures + st.invalidated + st.closed_broken >=
          5);  // all five noticed and replaced
    CHECK(st.checked_out == 0);
    t::run_for(loop, 100ms);
    CHECK(t::count_app_connections(loop, opts.connection.application_name) ==
          static_cast<int>(db.stats().total));
}

TEST_CASE("pool: the server restarts under an idle pool, the next queries succeed", "[pg][pool]") {
    if (t::env().pgctl.empty()) FAIL("UVDB_TEST_PGCTL is not set (see scripts/pg-test-server.sh)");
    uvdb::event_loop loop;
    auto opts = t::pool_test_options(5, 0);
    uvdb::pool db(loop, t::pg_driver(), opts);  // default pre-ping threshold (500 ms)
    warm_up(loop, db, 5);
    REQUIRE(db.stats().idle == 5);

    // The loop is not running: the restart happens while the pool sits idle.
    const auto restart_began = std::chrono::steady_clock::now();
    REQUIRE(t::run_pg_ctl("restart -m fast -w") == 0);
    // The connections must have sat idle past the pre-ping threshold.
    const auto since = std::chrono::steady_clock::now() - restart_began;
    if (since < 600ms)
        t::run_for(loop, std::chrono::duration_cast<std::chrono::milliseconds>(600ms - since));

    const auto failures = run_queries(loop, db, 50, 5);
    INFO("first failure: " << (failures.empty() ? "" : failures.front()));
    CHECK(failures.empty());
    const auto st = db.stats();
    CHECK(st.checked_out == 0);
    // Noticed by one ping (or by the driver seeing the socket close); the
    // rest replaced without a ping each.
    CHECK(st.ping_failures <= 5);
    CHECK(st.connects >= 6);
}

TEST_CASE("pool: the role's connection limit gives clear errors, leaks nothing, and recovers",
          "[pg][pool]") {
    t::role_connection_limit role_limit(t::quote_ident(t::env().user), t::admin_exec);
    role_limit.set(2);

    uvdb::event_loop loop;
    auto opts = t::pool_test_options(5, 0);
    opts.timeout = 3'000ms;
    opts.breaker_threshold = 0;  // the callers time out (with the breaker they fail at once)
    uvdb::pool db(loop, t::pg_driver(), opts);

    std::vector<uvdb::lease> leases;
    std::vector<uvdb::error> errors;
    for (int i = 0; i < 5; ++i) {
        db.acquire([&](uvdb::result<uvdb::lease> r) {
            if (r) {
                leases.push_back(std::move(r).value());
            } else {
                errors.push_back(r.err());
            }
        });
    }
    t::run_until(
        loop, [&] { return leases.size() + errors.size() == 5; }, 30s, "five acquires");
    CHECK(leases.size() == 2);
    REQUIRE(errors.size() == 3);
    for (const auto& e : errors) {
        INFO(e.to_string());
        CHECK(e.value() == uvdb::errc::pool_timeout);
        CHECK(e.message().find("too_many_connections") != std::string::npos);
        CHECK(e.message().find(t::env().password) == std::string::npos);
    }
    REQUIRE(db.last_connect_error().has_value());
    CHECK(db.last_connect_error()->value() == uvdb::errc::too_many_connections);
    // Retries still in flight when the waiters gave up (slow connects, as
    // under TSan) finish, fail, and are not retried with nobody waiting.
    t::run_until(
        loop, [&] { return db.stats().connecting == 0; }, 30s, "in-flight connects to finish");
    auto st = db.stats();
    CHECK(st.checked_out == leases.size());
    CHECK(st.total <= 2);
    CHECK(st.connecting == 0);
    CHECK(st.connect_failures >= 1);
    CHECK(t::count_app_connections(loop, opts.connection.application_name) <= 2);

    role_limit.lift();
    leases.clear();
    // Full service: five callers holding leases at once.
    int ok = 0;
    int failed = 0;
    for (int i = 0; i < 5; ++i) {
        db.acquire(10'000ms, [&](uvdb::result<uvdb::lease> r) {
            if (r) {
                leases.push_back(std::move(r).value());
                ++ok;
            } else {
                ++failed;
            }
        });
    }
    t::run_until(
        loop, [&] { return ok + failed == 5; }, 30s, "five acquires after the limit was lifted");
    CHECK(ok == 5);
    st = db.stats();
    CHECK(st.checked_out == 5);
    CHECK(st.total == 5);
    leases.clear();
    t::run_for(loop, 50ms);
    CHECK(db.stats().idle == 5);
}

TEST_CASE("pool: a connection idle past the ping threshold is pinged even inside a slow callback",
          "[pg][pool]") {
    // The loop's clock is read once per iteration. A callback that blocked
    // for longer than the threshold must not make a connection that sat idle
    // all that time look fresh and skip its ping.
    uvdb::event_loop loop;
    auto opts = t::pool_test_options(1, 0);
    opts.pre_ping_idle_threshold = 800ms;
    uvdb::pool db(loop, t::pg_driver(), opts);
    REQUIRE(warm_up(loop, db, 1).size() == 1);  // returned a moment ago
    const auto pings_before = db.stats().pings;

    std::optional<uvdb::result<uvdb::result_set>> got;
    uvdb::timer slow(loop);
    slow.start(0ms, [&] {
        std::this_thread::sleep_for(1200ms);  // a callback that blocks the loop
        db.query("SELECT 41 + 1", {},
                 [&](uvdb::result<uvdb::result_set> r) { got.emplace(std::move(r)); });
    });
    t::run_until(
        loop, [&] { return got.has_value(); }, 30s, "the query");
    INFO((*got ? std::string("ok") : t::describe(got->err())));
    REQUIRE(*got);
    CHECK((*got)->value<int>() == 42);
    CHECK(db.stats().pings == pings_before + 1);

    // Used just now: the next checkout goes without a ping.
    got.reset();
    db.query("SELECT 1", {}, [&](uvdb::result<uvdb::result_set> r) { got.emplace(std::move(r)); });
    t::run_until(
        loop, [&] { return got.has_value(); }, 30s, "the second query");
    REQUIRE(*got);
    CHECK(db.stats().pings == pings_before + 1);
}
