// The server ends the session in the middle of a COPY FROM STDIN
// (pg_terminate_backend from another connection): the writer gets
// connection_lost, and the pool replaces the connection.

#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <uvdb/coro.hpp>
#include <uvdb/pool.hpp>

#include "integration/pool_pg_support.hpp"
#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

namespace {

/// Runs a script as the test user on a connection of its own.
void exec(const std::string& script) {
    uvdb::event_loop own;
    auto c = t::connect_or_fail(own, t::test_options());
    auto r = t::execute_sync(own, *c, script);
    INFO(script);
    REQUIRE(r.ok());
}

}  // namespace

TEST_CASE("fault: backend terminated mid-COPY-in: the writer gets connection_lost",
          "[fault][copy]") {
    uvdb::event_loop loop;
    const std::string table = "copy_in_fault";
    exec("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table + " (i int)");
    uvdb::pool db(loop, t::pg_driver(), t::pool_test_options(1, 0));
    std::optional<uvdb::error> failure;
    bool done = false;
    // Named: a coroutine lambda's captures live in the lambda, not its frame.
    auto body = [&]() -> uvdb::task<void> {
        auto l = co_await db.acquire();
        if (!l) co_return;
        const std::int64_t pid = (*l)->server_pid();
        auto w = co_await l->copy_in("COPY " + table + " FROM STDIN");
        if (!w) co_return;
        (void)co_await w->write("1\n2\n");
        if (!t::admin_exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")")) co_return;
        // Write on until the loss shows (libpq drops what it cannot send and
        // reports it when it reads), then finish.
        const std::string piece(64 * 1024, '\n');
        for (int i = 0; i < 1000 && !failure; ++i) {
            auto r = co_await w->write(piece);
            if (!r) failure = r.err();
        }
        if (!failure) {
            auto n = co_await w->finish();
            if (!n) failure = n.err();
        }
    };
    uvdb::spawn(body(), [&](std::exception_ptr) { done = true; });
    t::run_until(
        loop, [&] { return done; }, 30s, "the COPY");
    REQUIRE(failure);
    INFO(t::describe(*failure));
    CHECK(failure->value() == errc::connection_lost);
    CHECK(failure->is_fatal());

    // The pool recovers: a new connection runs the next statement.
    std::optional<uvdb::result<uvdb::result_set>> r;
    db.query("SELECT count(*)::int8 FROM " + table,
             [&](uvdb::result<uvdb::result_set> x) { r.emplace(std::move(x)); });
    t::run_until(
        loop, [&] { return r.has_value(); }, 20s, "the next statement");
    REQUIRE(r->ok());
    CHECK((*r)->value<std::int64_t>() == 0);
    exec("DROP TABLE " + table);
}
