// Less common situations a user runs into: data the text protocol cannot
// carry, server-side timeouts, the server closing an idle session, floods of
// notices, big results.

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>

#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

TEST_CASE("text with an embedded NUL is never silently cut short", "[pg][params][edge]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    const std::string with_nul("before\0after", 12);
    auto r = t::query_sync(loop, *conn, "SELECT $1::text", uvdb::make_params(with_nul));
    // PostgreSQL text cannot hold NUL: the driver refuses the value before
    // sending anything (and says to bind it as bytea) rather than letting it
    // arrive cut short.
    REQUIRE_FALSE(r.ok());
    INFO(t::describe(r.err()));
    CHECK(r.err().value() == errc::bad_input);
    CHECK_FALSE(r.err().is_fatal());
    CHECK(t::scalar<int>(loop, *conn, "SELECT 1") == 1);
}

TEST_CASE("invalid UTF-8 in a text parameter is the server's error, not fatal",
          "[pg][params][edge]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto r = t::query_sync(loop, *conn, "SELECT $1::text",
                           uvdb::make_params(std::string("\xff\xfe bad")));
    REQUIRE_FALSE(r.ok());
    INFO(t::describe(r.err()));
    CHECK(r.err().sqlstate() == "22021");
    CHECK_FALSE(r.err().is_fatal());
    CHECK(t::scalar<int>(loop, *conn, "SELECT 1") == 1);
}

TEST_CASE("unsigned 64-bit values beyond int64 are bound exactly", "[pg][params][edge]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    const auto big = std::numeric_limits<std::uint64_t>::max();
    CHECK(t::scalar<std::string>(loop, *conn, "SELECT $1::numeric::text", uvdb::make_params(big)) ==
          "18446744073709551615");
    CHECK(t::scalar<std::uint64_t>(loop, *conn, "SELECT $1::numeric", uvdb::make_params(big)) ==
          big);
    CHECK(t::scalar<std::uint32_t>(loop, *conn, "SELECT $1::int8",
                                   uvdb::make_params(std::uint32_t{4000000000u})) == 4000000000u);
}

TEST_CASE("statement_timeout on the server: 57014, not fatal, connection usable",
          "[pg][timeout][edge]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::query_sync(loop, *conn, "SET statement_timeout = 200").ok());
    auto r = t::query_sync(loop, *conn, "SELECT pg_sleep(5)", {}, {}, 10s);
    REQUIRE_FALSE(r.ok());
    INFO(t::describe(r.err()));
    CHECK(r.err().sqlstate() == "57014");
    CHECK_FALSE(r.err().is_fatal());
    CHECK(r.err().server_message().find("statement timeout") != std::string::npos);
    REQUIRE(t::query_sync(loop, *conn, "RESET statement_timeout").ok());
    CHECK(t::scalar<int>(loop, *conn, "SELECT 1") == 1);
}

TEST_CASE("the server closes an idle session (idle_session_timeout)", "[pg][terminate][edge]") {
    uvdb::event_loop loop;
    const auto fds = t::open_fd_count();
    {
        auto conn = t::connect_or_fail(loop, t::test_options());
        REQUIRE(t::query_sync(loop, *conn, "SET idle_session_timeout = 200").ok());
        t::run_for(loop, 700ms);
        auto r = t::query_sync(loop, *conn, "SELECT 1", {}, {}, 10s);
        REQUIRE_FALSE(r.ok());
        INFO(t::describe(r.err()));
        CHECK(r.err().value() == errc::connection_lost);
        CHECK(r.err().is_fatal());
        CHECK(conn->is_broken());
    }
    t::check_fds_return_to(loop, fds);
}

TEST_CASE("idle_in_transaction_session_timeout ends the session: fatal on the next statement",
          "[pg][terminate][edge]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::query_sync(loop, *conn, "SET idle_in_transaction_session_timeout = 200").ok());
    REQUIRE(t::query_sync(loop, *conn, "BEGIN").ok());
    t::run_for(loop, 700ms);
    auto r = t::query_sync(loop, *conn, "SELECT 1", {}, {}, 10s);
    REQUIRE_FALSE(r.ok());
    INFO(t::describe(r.err()));
    CHECK(r.err().is_fatal());
    CHECK(conn->is_broken());
    // reset() on a dead connection fails rather than pretending.
    auto rr = t::reset_sync(loop, *conn);
    CHECK_FALSE(rr.ok());
}

TEST_CASE("a flood of notices does not stall the connection", "[pg][edge]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto r = t::execute_sync(
        loop, *conn,
        "DO $$ BEGIN FOR i IN 1..20000 LOOP RAISE NOTICE 'notice % with some padding "
        "text to fill the socket buffers', i; END LOOP; END $$",
        {}, 60s);
    if (!r) t::fail_with("notice flood", r.err());
    CHECK(t::scalar<int>(loop, *conn, "SELECT 1") == 1);
}

TEST_CASE("a result of 200,000 rows arrives whole", "[pg][results][large]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto r = t::query_sync(loop, *conn, "SELECT g, md5(g::text) FROM generate_series(1, 200000) g",
                           {}, {}, 60s);
    if (!r) t::fail_with("big select", r.err());
    REQUIRE(r->size() == 200000);
    CHECK(r->at(0).get<int>(0) == 1);
    CHECK(r->at(199999).get<int>(0) == 200000);
    CHECK(r->at(0).get<std::string>(1) == "c4ca4238a0b923820dcc509a6f75849b");
    CHECK(r->affected_rows() == 200000);
}

TEST_CASE("SQL given as a string_view that is not NUL-terminated is sent exactly", "[pg][edge]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    const std::string buffer = "SELECT 7 AS seven; garbage after the view";
    const std::string_view sql = std::string_view(buffer).substr(0, 17);  // "SELECT 7 AS seven"
    auto r = t::query_sync(loop, *conn, sql);
    if (!r) t::fail_with("query of a string_view", r.err());
    CHECK(r->value<int>() == 7);
    auto s = t::execute_sync(loop, *conn, std::string_view(buffer).substr(0, 18));  // with the ';'
    if (!s) t::fail_with("execute of a string_view", s.err());
    REQUIRE(s->size() == 1);
    CHECK((*s)[0].value<int>() == 7);
    // The same for a parameter given as a string_view.
    const std::string_view param = std::string_view(buffer).substr(7, 1);  // "7"
    CHECK(t::scalar<std::string>(loop, *conn, "SELECT $1::text", uvdb::make_params(param)) == "7");
}

TEST_CASE("COPY is refused as bad_input and leaves the connection consistent", "[pg][edge]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::query_sync(loop, *conn, "CREATE TEMP TABLE c (v int)").ok());
    for (const char* sql :
         {"COPY (SELECT g FROM generate_series(1, 100000) g) TO STDOUT", "COPY c FROM STDIN"}) {
        INFO(sql);
        auto r = t::query_sync(loop, *conn, sql, {}, {}, 10s);
        REQUIRE_FALSE(r.ok());
        INFO(t::describe(r.err()));
        CHECK(r.err().value() == errc::bad_input);
        // Whatever the driver chose, it must say so truly.
        CHECK(conn->is_broken() == r.err().is_fatal());
        if (conn->is_broken()) {
            conn = t::connect_or_fail(loop, t::test_options());
            REQUIRE(t::query_sync(loop, *conn, "CREATE TEMP TABLE c (v int)").ok());
        } else {
            CHECK(t::scalar<int>(loop, *conn, "SELECT 1") == 1);
            CHECK(conn->transaction_status() == uvdb::tx_status::idle);
        }
    }
    // Through execute() too.
    auto s = t::execute_sync(loop, *conn, "SELECT 1; COPY c FROM STDIN; SELECT 2", {}, 10s);
    REQUIRE_FALSE(s.ok());
    INFO(t::describe(s.err()));
    CHECK(s.err().value() == errc::bad_input);
    CHECK(conn->is_broken() == s.err().is_fatal());
    if (!conn->is_broken()) CHECK(t::scalar<int>(loop, *conn, "SELECT 3") == 3);
}
