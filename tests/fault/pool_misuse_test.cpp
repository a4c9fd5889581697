// What callers do to the pool: return a connection inside a transaction or
// mid-query or with session state, exhaust it, close it under load, and hold
// a lease forever. Rows 16, 17, 18, 19 and 22 of docs/FAULTS.md.

#include <spdlog/logger.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <thread>
#include <uvdb/log.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/timer.hpp>
#include <vector>

#include "fault/support/fault_check.hpp"
#include "fault/support/fault_pool.hpp"
#include "integration/pool_pg_support.hpp"
#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;
using clock_type = std::chrono::steady_clock;

namespace {

int server_port() { return std::stoi(t::env().port); }

uvdb::lease take(uvdb::result<uvdb::lease> r) {
    if (!r) t::fail_with("acquire", r.err());
    return std::move(r).value();
}

/// Captures what uvdb logs while in scope.
class log_capture {
  public:
    log_capture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(512)) {
        auto l = std::make_shared<spdlog::logger>("uvdb-fault-test", sink_);
        l->set_level(spdlog::level::debug);
        l->set_pattern("%l %v");
        uvdb::set_logger(std::move(l));
    }
    ~log_capture() { uvdb::set_logger(nullptr); }
    log_capture(const log_capture&) = delete;
    log_capture& operator=(const log_capture&) = delete;
    std::vector<std::string> lines_with(const std::string& needle) const {
        std::vector<std::string> out;
        for (auto& l : sink_->last_formatted()) {
            if (l.find(needle) != std::string::npos) out.push_back(l);
        }
        return out;
    }

  private:
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

}  // namespace

TEST_CASE(
    "F16: a connection returned inside a transaction, or an aborted one, is rolled back before "
    "reuse",
    "[fault][F16]") {
    t::fd_scope fds;
    {
        uvdb::event_loop loop;
        auto opts = t::fault_pool_options(1, 0);
        enum class how { open, aborted, open_released_without_reset, open_no_reset_on_return };
        how h = how::open;
        SECTION("open transaction") { h = how::open; }
        SECTION("aborted transaction") { h = how::aborted; }
        SECTION("open transaction, lease released without reset") {
            h = how::open_released_without_reset;
        }
        SECTION("open transaction, pool configured with reset_on_return off") {
            h = how::open_no_reset_on_return;
        }
        if (h == how::open_no_reset_on_return) opts.reset_on_return = false;
        uvdb::pool db(loop, t::pg_driver(), opts);

        {
            auto l = take(t::acquire_sync(loop, db, 5s));
            REQUIRE(t::query_sync(loop, *l, "BEGIN"));
            REQUIRE(t::query_sync(loop, *l, "CREATE TEMP TABLE f16_uncommitted (x int)"));
            if (h == how::aborted) {
                CHECK_FALSE(t::query_sync(loop, *l, "SELECT 1/0"));
                CHECK(l->transaction_status() == uvdb::tx_status::failed_transaction);
            } else {
                CHECK(l->transaction_status() == uvdb::tx_status::in_transaction);
            }
            if (h == how::open_released_without_reset) l.release_without_reset();
        }  // dropped without COMMIT or ROLLBACK
        t::run_for(loop, 20ms);

        auto l = take(t::acquire_sync(loop, db, 5s));
        CHECK(l->transaction_status() == uvdb::tx_status::idle);
        // The abandoned transaction had an xid (it created a table); a fresh
        // implicit transaction that only reads has none.
        auto fresh = t::query_sync(loop, *l, "SELECT txid_current_if_assigned() IS NULL");
        REQUIRE(fresh);
        CHECK(fresh->value<bool>());
        // The table created in the abandoned transaction was rolled back.
        auto gone =
            t::query_sync(loop, *l, "SELECT to_regclass('pg_temp.f16_uncommitted') IS NULL");
        REQUIRE(gone);
        CHECK(gone->value<bool>());
        l.release();
        t::check_after_fault(loop, db, opts.connection.application_name, {.port = server_port()});
    }
    fds.check();
}

TEST_CASE("F17: a lease dropped with its query still running: the connection is destroyed",
          "[fault][F17]") {
    t::fd_scope fds;
    {
        uvdb::event_loop loop;
        auto opts = t::fault_pool_options(1, 0);
        uvdb::pool db(loop, t::pg_driver(), opts);
        std::int64_t pid = 0;
        auto slot = t::make_query_slot();
        const auto before = db.stats();
        {
            auto l = take(t::acquire_sync(loop, db, 5s));
            pid = l->server_pid();
            l->query("SELECT pg_sleep(1)", t::store_in(slot));
            t::run_for(loop, 100ms);
        }  // dropped mid-query
        t::run_until(
            loop, [&] { return slot->has_value(); }, 5s, "the dropped query's callback");
        REQUIRE_FALSE(**slot);  // it ends with an error, once (store_in catches a second call)
        INFO(t::describe((*slot)->err()));
        CHECK((*slot)->err().value() != errc::internal);
        CHECK(db.stats().closed_broken == before.closed_broken + 1);

        auto l = take(t::acquire_sync(loop, db, 5s));
        CHECK(l->server_pid() != pid);
        CHECK(l->is_idle());
        l.release();
        t::check_after_fault(loop, db, opts.connection.application_name, {.port = server_port()});
    }
    fds.check();
}

TEST_CASE(
    "F17: session state (SET, temp table, LISTEN) does not reach the next user when DISCARD ALL is "
    "configured",
    "[fault][F17]") {
    t::fd_scope fds;
    {
        uvdb::event_loop loop;
        auto opts = t::fault_pool_options(1, 0);
        // pool_options::reset_query is the way; a statement started by
        // on_checkin is also waited for before the connection is reused.
        const bool by_hook = GENERATE(false, true);
        INFO((by_hook ? "DISCARD ALL from on_checkin" : "reset_query = DISCARD ALL"));
        if (by_hook) {
            opts.on_checkin = [](uvdb::connection& c) {
                c.execute("DISCARD ALL", [](uvdb::result<std::vector<uvdb::result_set>>) {});
            };
        } else {
            opts.reset_query = "DISCARD ALL";
        }
        uvdb::pool db(loop, t::pg_driver(), opts);
        std::int64_t pid = 0;
        {
            auto l = take(t::acquire_sync(loop, db, 5s));
            pid = l->server_pid();
            auto r = t::execute_sync(
                loop, *l,
                "SET application_name = 'f17-changed'; SET statement_timeout = '4321ms'; "
                "CREATE TEMP TABLE f17_session (x int); LISTEN f17_channel");
            REQUIRE(r);
            // Prepared and cached by the driver; DISCARD ALL deallocates it.
            REQUIRE(t::query_sync(loop, *l, "SELECT 17"));
        }
        auto l = take(t::acquire_sync(loop, db, 5s));
        CHECK(l->server_pid() == pid);  // the same session, reused: only its state is gone
        CHECK(l->is_idle());            // the reset has finished before the hand-out
        auto again = t::query_sync(loop, *l, "SELECT 17");
        INFO("the statement cached before the reset: " << (again ? std::string("ok")
                                                                 : t::describe(again.err())));
        CHECK(again);
        auto r = t::query_sync(loop, *l,
                               "SELECT current_setting('statement_timeout') <> '4321ms', "
                               "to_regclass('pg_temp.f17_session') IS NULL, "
                               "NOT EXISTS (SELECT 1 FROM pg_listening_channels())");
        REQUIRE(r);
        CHECK(r->at(0).get<bool>(0));
        CHECK(r->at(0).get<bool>(1));
        CHECK(r->at(0).get<bool>(2));
        l.release();
        t::check_after_fault(loop, db, opts.connection.application_name, {.port = server_port()});
    }
    fds.check();
}

TEST_CASE(
    "F18: pool exhausted: acquire fails at its deadline, the waiter is removed, the next waiter is "
    "served",
    "[fault][F18]") {
    t::fd_scope fds;
    {
        uvdb::event_loop loop;
        auto opts = t::fault_pool_options(1, 0);
        uvdb::pool db(loop, t::pg_driver(), opts);
        std::optional<uvdb::lease> held(take(t::acquire_sync(loop, db, 5s)));

        std::optional<uvdb::result<uvdb::lease>> a;
        std::optional<uvdb::result<uvdb::lease>> b;
        double a_at = 0;
        double b_at = 0;
        loop.update_time();
        const auto began = clock_type::now();
        // A plain loop timer with the same deadline: the pool must fail the
        // waiter when the loop reaches the deadline, not later. (Measured
        // against it rather than the wall clock alone, so a loaded machine
        // that runs the whole loop late does not fail the test.)
        double reference_at = 0;
        uvdb::timer reference(loop);
        reference.start(300ms, [&] { reference_at = t::ms_between(began, clock_type::now()); });
        db.acquire(300ms, [&](uvdb::result<uvdb::lease> r) {
            a_at = t::ms_between(began, clock_type::now());
            a.emplace(std::move(r));
        });
        db.acquire(3s, [&](uvdb::result<uvdb::lease> r) {
            b_at = t::ms_between(began, clock_type::now());
            b.emplace(std::move(r));
        });
        t::run_until(
            loop, [&] { return a.has_value(); }, 5s, "the first waiter's timeout");
        REQUIRE_FALSE(*a);
        t::run_until(
            loop, [&] { return reference_at > 0; }, 5s, "the reference timer");
        INFO(t::describe(a->err())
             << " after " << a_at << " ms; a loop timer with the same deadline fired after "
             << reference_at << " ms");
        CHECK(a->err().value() == errc::pool_timeout);
        CHECK(a_at >= 295.0);                // not before its deadline
        CHECK(a_at - reference_at <= 50.0);  // and within 50 ms of it
        CHECK(reference_at - a_at <= 50.0);
        CHECK(db.stats().waiting == 1);  // the timed-out waiter is gone, the other still waits

        t::run_for(loop, 200ms);
        held.reset();  // the connection comes back after the first waiter gave up
        t::run_until(
            loop, [&] { return b.has_value(); }, 5s, "the second waiter");
        INFO("second waiter served after " << b_at << " ms");
        REQUIRE(*b);
        CHECK(b_at < 3000.0);
        CHECK(db.stats().waiting == 0);
        b.reset();
        t::check_after_fault(loop, db, opts.connection.application_name, {.port = server_port()});
    }
    fds.check();
}

TEST_CASE("F18: an acquire's deadline counts from the call, even when the loop's clock is stale",
          "[fault][F18]") {
    t::fd_scope fds;
    {
        uvdb::event_loop loop;
        auto opts = t::fault_pool_options(1, 0);
        uvdb::pool db(loop, t::pg_driver(), opts);
        std::optional<uvdb::lease> held(take(t::acquire_sync(loop, db, 5s)));
        // The thread is busy for 200 ms without turning the loop (a long
        // callback, blocking work): the loop's cached time falls behind.
        std::this_thread::sleep_for(200ms);
        std::optional<uvdb::result<uvdb::lease>> a;
        double a_at = 0;
        const auto called = clock_type::now();
        db.acquire(300ms, [&](uvdb::result<uvdb::lease> r) {
            a_at = t::ms_between(called, clock_type::now());
            a.emplace(std::move(r));
        });
        t::run_until(
            loop, [&] { return a.has_value(); }, 5s, "the waiter's timeout");
        REQUIRE_FALSE(*a);
        INFO(t::describe(a->err()) << " after " << a_at << " ms");
        CHECK(a->err().value() == errc::pool_timeout);
        CHECK(a_at >= 295.0);  // the full 300 ms, not 300 ms minus the time the loop's clock lagged
        held.reset();
        t::check_after_fault(loop, db, opts.connection.application_name, {.port = server_port()});
    }
    fds.check();
}

TEST_CASE(
    "F19: pool closed with callers waiting: they fail at once, close is idempotent, leases close "
    "their "
    "connection when dropped",
    "[fault][F19]") {
    t::fd_scope fds;
    {
        uvdb::event_loop loop;
        auto opts = t::fault_pool_options(2, 0);
        uvdb::pool db(loop, t::pg_driver(), opts);
        // Load: two connections busy, one of them mid-statement, three waiting.
        std::optional<uvdb::lease> l1(take(t::acquire_sync(loop, db, 5s)));
        std::optional<uvdb::lease> l2(take(t::acquire_sync(loop, db, 5s)));
        auto running = t::make_query_slot();
        (*l1)->query("SELECT pg_sleep(0.3), 5", t::store_in(running));
        std::vector<uvdb::result<uvdb::lease>> waiters;
        std::vector<double> answered;
        const auto began = clock_type::now();
        for (int i = 0; i < 3; ++i) {
            db.acquire(5s, [&](uvdb::result<uvdb::lease> r) {
                answered.push_back(t::ms_between(began, clock_type::now()));
                waiters.push_back(std::move(r));
            });
        }
        t::run_for(loop, 50ms);
        REQUIRE(db.stats().waiting == 3);

        const auto closed_at = clock_type::now();
        db.close();
        db.close();  // idempotent
        t::run_until(
            loop, [&] { return waiters.size() == 3; }, 2s, "the waiters' answers");
        for (std::size_t i = 0; i < waiters.size(); ++i) {
            REQUIRE_FALSE(waiters[i]);
            INFO(t::describe(waiters[i].err()));
            CHECK(waiters[i].err().value() == errc::pool_closed);
            CHECK(answered[i] - t::ms_between(began, closed_at) <
                  100.0);  // at once, not at their deadline
        }
        CHECK(db.closed());
        auto after = t::acquire_sync(loop, db, 1s);
        REQUIRE_FALSE(after);
        CHECK(after.err().value() == errc::pool_closed);

        // The statement on a lease still out finishes normally.
        t::run_until(
            loop, [&] { return running->has_value(); }, 5s, "the running statement");
        REQUIRE(**running);
        CHECK((**running)->at(0).get<int>(1) == 5);
        // Leases dropped after close close their connection.
        l1.reset();
        l2.reset();
        t::run_for(loop, 50ms);
        CHECK(db.stats().total == 0);
        t::check_after_fault(loop, db, opts.connection.application_name,
                             {.port = server_port(), .serves_queries = false});

        // A new pool with the same settings serves.
        uvdb::pool again(loop, t::pg_driver(), opts);
        t::check_after_fault(loop, again, opts.connection.application_name,
                             {.port = server_port()});
    }
    fds.check();
}

TEST_CASE(
    "F19: the pool and then its loop destroyed with a pool.query in flight: the caller hears, "
    "nothing leaks",
    "[fault][F19]") {
    t::fd_scope fds;
    int calls = 0;
    std::optional<uvdb::error> failure;
    std::string app_name;
    const auto began = clock_type::now();
    {
        uvdb::event_loop loop;
        auto opts = t::fault_pool_options(1, 0);
        app_name = opts.connection.application_name;
        uvdb::pool db(loop, t::pg_driver(), opts);
        REQUIRE(t::pool_query_sync(loop, db, "SELECT 1"));
        db.query("SELECT pg_sleep(5)", {}, [&](uvdb::result<uvdb::result_set> r) {
            ++calls;
            if (!r) failure = r.err();
        });
        t::run_for(loop, 200ms);  // the statement is running on the server
        REQUIRE(calls == 0);
    }  // as a program leaving main: the pool goes first, then the loop
    const double took = t::ms_between(began, clock_type::now());
    INFO("leaving the scope took " << took << " ms");
    if (t::check_timing) CHECK(took < 3000.0);  // closed, not waited for: the statement takes 5 s
    CHECK(calls == 1);
    if (failure) INFO("the caller got: " << t::describe(*failure));
    CHECK(failure.has_value());
    fds.check();
    // The server ends the session too: the backend notices the closed socket
    // once its statement is over (PostgreSQL does not look while pg_sleep runs).
    uvdb::event_loop admin_loop;
    int left = -1;
    for (int i = 0; i < 120 && left != 0; ++i) {
        left = t::count_app_connections(admin_loop, app_name);
        if (left != 0) t::run_for(admin_loop, 100ms);
    }
    CHECK(left == 0);
}

TEST_CASE(
    "F22: a lease never returned: one warning after the threshold, naming where it was acquired",
    "[fault][F22]") {
    t::fd_scope fds;
    log_capture logs;
    {
        uvdb::event_loop loop;
        auto opts = t::fault_pool_options(1, 0);
        opts.leak_threshold = 200ms;
        uvdb::pool db(loop, t::pg_driver(), opts);
        std::optional<uvdb::lease> held;
        const unsigned acquire_line = __LINE__ + 1;  // the acquire call's first line
        db.acquire([&](uvdb::result<uvdb::lease> r) {
            if (r) held.emplace(std::move(r).value());
        });
        t::run_until(
            loop, [&] { return held.has_value(); }, 5s, "the lease");

        t::run_for(loop, 800ms);  // four thresholds
        const std::string where = "pool_misuse_test.cpp:" + std::to_string(acquire_line);
        const auto warnings = logs.lines_with("leak_threshold");
        INFO("warnings:\n"
             << [&] {
                    std::string all;
                    for (auto& w : warnings) all += w + "\n";
                    return all;
                }());
        REQUIRE(warnings.size() == 1);  // one warning, not one per check
        CHECK(t::contains(warnings.front(), "warn"));
        CHECK(t::contains(warnings.front(), where));
        CHECK_FALSE(t::contains(warnings.front(), t::env().password));
        CHECK(db.stats().leaks_reported == 1);
        CHECK(db.longest_held() >= 800ms);

        t::check_after_fault(loop, db, opts.connection.application_name,
                             {.live_leases = 1, .port = server_port(), .serves_queries = false});
        held.reset();
        t::check_after_fault(loop, db, opts.connection.application_name, {.port = server_port()});
    }
    fds.check();
}
