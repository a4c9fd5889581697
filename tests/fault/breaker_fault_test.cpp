// The circuit breaker against the real server (docs/OPERATIONS.md, "The circuit breaker"):
// server stopped → within the threshold acquires fail in well under 50 ms
// instead of waiting their timeout; server started → service resumes within
// the back-off cap.

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
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

namespace {

using steady = std::chrono::steady_clock;

/// Starts the server again if the test stopped it and ended early.
struct server_guard {
    bool stopped = false;
    ~server_guard() {
        if (stopped) (void)t::run_pg_ctl("start -w");
    }
};

}  // namespace

TEST_CASE("F-breaker: server stopped opens the breaker, acquires fail fast; started closes it",
          "[fault][breaker]") {
    if (t::env().pgctl.empty())
        FAIL("UVDB_TEST_PGCTL is not set: start the server with scripts/pg-test-server.sh");
    t::fd_scope fds;
    {
        uvdb::event_loop loop;
        auto opts = t::fault_pool_options(2, 0);  // back-off 20 ms doubling up to 400 ms
        opts.breaker_threshold = 3;
        opts.timeout = 5s;
        opts.pre_ping_idle_threshold = 0ms;  // a dead idle connection is found at checkout
        uvdb::pool db(loop, t::pg_driver(), opts);
        t::warm_up(loop, db, 1);

        server_guard guard;
        REQUIRE(t::run_pg_ctl("stop -m fast -w") == 0);
        guard.stopped = true;

        // Callers keep asking; connects fail; after 3 in a row the breaker opens.
        const auto stopped_at = steady::now();
        std::string first_breaker_error;
        while (steady::now() - stopped_at < 10s) {
            auto r = t::acquire_sync(loop, db, opts.timeout);
            REQUIRE_FALSE(r);
            if (r.err().message().find("circuit breaker is open") != std::string::npos) {
                first_breaker_error = r.err().message();
                break;
            }
        }
        INFO("stats: breaker " << uvdb::to_string(db.stats().breaker) << ", connect failures "
                               << db.stats().connect_failures);
        REQUIRE_FALSE(first_breaker_error.empty());
        CHECK(db.stats().breaker_opened == 1);

        // Open: each acquire fails at once, with the last connect error's code.
        std::vector<double> ms;
        for (int i = 0; i < 9; ++i) {
            const auto t0 = steady::now();
            auto r = t::acquire_sync(loop, db, opts.timeout);
            ms.push_back(t::ms_between(t0, steady::now()));
            REQUIRE_FALSE(r);
            CHECK(r.err().value() == errc::connect_failed);
        }
        std::sort(ms.begin(), ms.end());
        INFO("fast-fail median " << ms[ms.size() / 2] << " ms, max " << ms.back() << " ms");
        CHECK(ms[ms.size() / 2] < 50.0);
        // Printed for docs/OPERATIONS.md: what "at once" is on this machine.
        WARN("breaker fast-fail latency: median " << ms[ms.size() / 2] << " ms over " << ms.size()
                                                  << " acquires (pool timeout 5000 ms)");

        REQUIRE(t::run_pg_ctl("start -w") == 0);
        guard.stopped = false;
        const auto started_at = steady::now();
        // The next probe is at most one back-off cap (400 ms) away; allow
        // generously for the connect itself on a loaded machine.
        bool served = false;
        while (!served && steady::now() - started_at < 10s) {
            auto r = t::acquire_sync(loop, db, opts.timeout);
            served = static_cast<bool>(r);
            if (!served) t::run_for(loop, 10ms);
        }
        const double resumed_ms = t::ms_between(started_at, steady::now());
        WARN("service resumed " << resumed_ms << " ms after the server was started");
        REQUIRE(served);
        CHECK(resumed_ms < 400.0 + 3'000.0);
        CHECK(db.stats().breaker == uvdb::breaker_state::closed);
        t::check_after_fault(loop, db, opts.connection.application_name,
                             {.port = std::stoi(t::env().port)});
    }
    fds.check();
}
