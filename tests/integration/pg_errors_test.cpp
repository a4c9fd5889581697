// Errors the server reports for a statement: SQLSTATE, the server's own text,
// not fatal, and the connection answers the next query.

#include <catch2/catch.hpp>
#include <string>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>

#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

namespace {

void check_usable(uvdb::event_loop& loop, uvdb::connection& conn) {
    CHECK(conn.is_ready());
    CHECK_FALSE(conn.is_broken());
    CHECK(t::scalar<int>(loop, conn, "SELECT $1::int + 1", uvdb::make_params(41)) == 42);
}

}  // namespace

TEST_CASE("undefined table: SQLSTATE 42P01, server_error, not fatal", "[pg][errors]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto r = t::query_sync(loop, *conn, "SELECT * FROM uvdb_no_such_table");
    REQUIRE_FALSE(r.ok());
    const uvdb::error& e = r.err();
    INFO(t::describe(e));
    CHECK(e.value() == errc::server_error);
    CHECK(e.code() == errc::server_error);
    CHECK(e.sqlstate() == "42P01");
    CHECK(uvdb::sqlstate_name(e.sqlstate()) == "undefined_table");
    CHECK(t::contains(e.server_message(), "does not exist"));
    CHECK(t::contains(e.server_message(), "uvdb_no_such_table"));
    CHECK(t::contains(e.to_string(), "42P01"));
    CHECK_FALSE(e.is_fatal());
    CHECK_FALSE(e.server_gone());
    check_usable(loop, *conn);
}

TEST_CASE("unique violation: SQLSTATE 23505 with the server's detail", "[pg][errors]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::query_sync(loop, *conn, "CREATE TEMP TABLE u (id int PRIMARY KEY)").ok());
    REQUIRE(t::query_sync(loop, *conn, "INSERT INTO u VALUES ($1)", uvdb::make_params(1)).ok());
    auto r = t::query_sync(loop, *conn, "INSERT INTO u VALUES ($1)", uvdb::make_params(1));
    REQUIRE_FALSE(r.ok());
    const uvdb::error& e = r.err();
    INFO(t::describe(e) << " detail: " << e.detail());
    CHECK(e.value() == errc::server_error);
    CHECK(e.sqlstate() == "23505");
    CHECK(uvdb::sqlstate_name(e.sqlstate()) == "unique_violation");
    CHECK(t::contains(e.server_message(), "duplicate key"));
    CHECK(t::contains(e.detail(), "(id)=(1)"));
    CHECK_FALSE(e.is_fatal());
    CHECK_FALSE(e.retryable());
    CHECK(conn->transaction_status() == uvdb::tx_status::idle);
    check_usable(loop, *conn);
    CHECK(t::scalar<std::int64_t>(loop, *conn, "SELECT count(*) FROM u") == 1);
}

TEST_CASE("syntax errors, division by zero and RAISE keep the connection usable", "[pg][errors]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());

    auto syntax = t::query_sync(loop, *conn, "SELEC 1");
    REQUIRE_FALSE(syntax.ok());
    CHECK(syntax.err().sqlstate() == "42601");
    CHECK_FALSE(syntax.err().is_fatal());

    auto div = t::query_sync(loop, *conn, "SELECT 1 / $1::int", uvdb::make_params(0));
    REQUIRE_FALSE(div.ok());
    CHECK(div.err().sqlstate() == "22012");

    auto raised = t::execute_sync(loop, *conn,
                                  "DO $$ BEGIN RAISE EXCEPTION 'custom failure %', 7 "
                                  "USING HINT = 'try again', ERRCODE = 'P0001'; END $$");
    REQUIRE_FALSE(raised.ok());
    CHECK(raised.err().sqlstate() == "P0001");
    CHECK(raised.err().server_message() == "custom failure 7");
    CHECK(raised.err().hint() == "try again");

    check_usable(loop, *conn);
}

TEST_CASE("too few parameters for the statement is an error, not a crash", "[pg][errors]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto count = t::query_sync(loop, *conn, "SELECT $1::int + $2::int", uvdb::make_params(1));
    REQUIRE_FALSE(count.ok());
    INFO(t::describe(count.err()));
    // The server answers 08P01 ("bind message supplies 1 parameters…"); whether
    // the driver keeps the connection is its choice, but it must say so truly.
    CHECK(count.err().value() == errc::server_error);
    CHECK(count.err().sqlstate() == "08P01");
    CHECK(conn->is_broken() == count.err().is_fatal());
    if (!conn->is_broken()) check_usable(loop, *conn);
}

TEST_CASE("an error inside a transaction leaves it failed until rollback", "[pg][errors]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::query_sync(loop, *conn, "BEGIN").ok());
    CHECK(conn->transaction_status() == uvdb::tx_status::in_transaction);
    REQUIRE_FALSE(t::query_sync(loop, *conn, "SELECT 1 / 0").ok());
    CHECK(conn->transaction_status() == uvdb::tx_status::failed_transaction);
    auto blocked = t::query_sync(loop, *conn, "SELECT 1");
    REQUIRE_FALSE(blocked.ok());
    CHECK(blocked.err().sqlstate() == "25P02");
    CHECK_FALSE(blocked.err().is_fatal());
    REQUIRE(t::query_sync(loop, *conn, "ROLLBACK").ok());
    CHECK(conn->transaction_status() == uvdb::tx_status::idle);
    check_usable(loop, *conn);
}
