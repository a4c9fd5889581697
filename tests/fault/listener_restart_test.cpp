// The server restarts under a listener: it reconnects (the server refuses
// connections while it restarts, so several attempts may fail and back off),
// LISTENs again, calls on_reconnect, and notifications flow again.

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <uvdb/listener.hpp>
#include <uvdb/pool.hpp>
#include <vector>

#include "fault/support/fault_check.hpp"
#include "integration/pool_pg_support.hpp"
#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
namespace t = uvdb::test;

TEST_CASE("listener: server restarted (fast): reconnects, re-LISTENs, delivers again",
          "[fault][listen]") {
    if (t::env().pgctl.empty())
        FAIL("UVDB_TEST_PGCTL is not set: start the server with scripts/pg-test-server.sh");
    t::fd_scope fds;
    {
        uvdb::event_loop loop;
        uvdb::listener_options o;
        o.connection = t::test_options();
        o.backoff_base = 50ms;
        o.backoff_cap = 1s;
        uvdb::listener l(loop, t::pg_driver(), o);
        int reconnected = 0;
        int lost = 0;
        l.on_reconnect([&] { ++reconnected; });
        l.on_lost([&](const uvdb::error&) { ++lost; });
        std::vector<std::string> got;
        std::optional<uvdb::result<void>> listened;
        l.listen(
            "uvdb_restart", [&](const uvdb::notification& n) { got.push_back(n.payload); },
            [&](uvdb::result<void> r) { listened = std::move(r); });
        t::run_until(
            loop, [&] { return listened.has_value(); }, 15s, "LISTEN");
        REQUIRE(listened->ok());

        REQUIRE(t::run_pg_ctl("restart -m fast -w") == 0);
        t::run_until(
            loop, [&] { return reconnected == 1; }, 30s, "the reconnect callback");
        CHECK(lost >= 1);
        CHECK(l.connected());

        uvdb::pool_options po;
        po.connection = t::test_options();
        po.size = 1;
        po.max_overflow = 0;
        uvdb::pool db(loop, t::pg_driver(), po);
        std::optional<uvdb::result<void>> sent;
        db.notify("uvdb_restart", "back", [&](uvdb::result<void> r) { sent = std::move(r); });
        t::run_until(
            loop, [&] { return got.size() == 1 && sent.has_value(); }, 15s, "the notification");
        REQUIRE(sent.has_value());
        CHECK(sent->ok());
        CHECK(got == std::vector<std::string>{"back"});
        l.close();
        db.close();
        t::run_for(loop, 50ms);
    }
    fds.check();
}
