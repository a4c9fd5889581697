// The PostgreSQL driver's receive step (drivers/postgres/src/pg_receive.*)
// fed with PGresult objects made by hand (PQmakeEmptyPGresult with no
// connection, PQsetResultAttrs, PQsetvalue): every branch of "this result
// arrived for this command → what next" without a server or a socket.
//
// libpq offers no public way to set a result's error fields or command tag,
// so SQLSTATE-specific mapping (statement_error) and DISCARD ALL's cache drop
// stay covered by the [pg] suite against a real server.

#include "pg_receive.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

using namespace uvdb;
using namespace uvdb::postgres::detail;

namespace {

/// A result of `status` with no columns and no rows.
pg_result_ptr make(ExecStatusType status) {
    return pg_result_ptr(PQmakeEmptyPGresult(nullptr, status));
}

/// A TUPLES_OK result with one text column `name` and one row per value.
pg_result_ptr rows(const char* name, std::initializer_list<const char*> values) {
    pg_result_ptr r = make(PGRES_TUPLES_OK);
    PGresAttDesc col{};
    col.name = const_cast<char*>(name);  // libpq copies it
    col.typid = 25;                      // text
    col.typlen = -1;
    col.atttypmod = -1;
    REQUIRE(PQsetResultAttrs(r.get(), 1, &col) == 1);
    int row = 0;
    for (const char* v : values) {
        REQUIRE(PQsetvalue(r.get(), row++, 0, const_cast<char*>(v),
                           static_cast<int>(std::strlen(v))) == 1);
    }
    return r;
}

command query_command() {
    command c;
    c.kind = command_kind::query;
    c.sent = true;
    return c;
}

/// A cache miss sent in pipeline mode: Parse + Bind/Execute + one Sync.
command pipelined_query() {
    command c = query_command();
    c.stmt = "uvdb_s1";
    c.syncs_left = 1;
    c.part = 0;
    c.prefix = 1;
    c.parse_in_prefix = true;
    return c;
}

/// A pipelined statement with a timeout inside a transaction: the SET that
/// saves and sets statement_timeout, the caller's statement, the restore,
/// one Sync.
command timed_query() {
    command c = query_command();
    c.syncs_left = 1;
    c.prefix = 1;
    c.suffix = 1;
    c.server_timeout = true;
    c.timeout = std::chrono::milliseconds{50};
    return c;
}

const endpoint ep{"localhost", "127.0.0.1", "5432", "app", "appdb"};

}  // namespace

TEST_CASE("receive: a query's rows are kept until the null result says it is done", "[pg_unit]") {
    command c = query_command();
    receive_step s = receive(c, rows("n", {"1", "2"}), false, ep);
    CHECK(s.next == next_action::read_more);
    CHECK_FALSE(s.breaks_connection);
    CHECK_FALSE(c.failed);

    s = receive(c, nullptr, false, ep);
    CHECK(s.next == next_action::command_done);

    result<result_set> answer = query_answer(c);
    REQUIRE(answer);
    REQUIRE(answer->size() == 2);
    CHECK(answer->column_name(0) == "n");
    CHECK((*answer)[1].text(0) == "2");
    CHECK_FALSE(c.last);  // moved into the answer
}

TEST_CASE("receive: a query that returns nothing answers an empty result set", "[pg_unit]") {
    command c = query_command();
    CHECK(receive(c, nullptr, false, ep).next == next_action::command_done);
    result<result_set> answer = query_answer(c);
    REQUIRE(answer);
    CHECK(answer->size() == 0);
}

TEST_CASE("receive: when a statement yields several results, the last one is the query's answer",
          "[pg_unit]") {
    command c = query_command();
    receive(c, rows("a", {"first"}), false, ep);
    receive(c, rows("b", {"second"}), false, ep);
    REQUIRE(receive(c, nullptr, false, ep).next == next_action::command_done);
    result<result_set> answer = query_answer(c);
    REQUIRE(answer);
    CHECK(answer->column_name(0) == "b");
}

TEST_CASE("receive: a script keeps every result but the empty statements", "[pg_unit]") {
    command c = query_command();
    c.kind = command_kind::execute;
    receive(c, rows("a", {"1"}), false, ep);
    receive(c, make(PGRES_EMPTY_QUERY), false, ep);
    receive(c, make(PGRES_COMMAND_OK), false, ep);
    REQUIRE(receive(c, nullptr, false, ep).next == next_action::command_done);
    result<std::vector<result_set>> answer = script_answer(c);
    REQUIRE(answer);
    CHECK(answer->size() == 2);
}

TEST_CASE("receive: the first error wins and drops what came before and after it", "[pg_unit]") {
    command c = query_command();
    c.kind = command_kind::execute;
    receive(c, rows("a", {"1"}), false, ep);
    receive_step s = receive(c, make(PGRES_FATAL_ERROR), false, ep);
    CHECK(s.next == next_action::read_more);
    CHECK_FALSE(s.breaks_connection);  // a statement's error leaves the connection usable
    REQUIRE(c.failed);
    CHECK(c.err.value() == errc::server_error);
    CHECK(c.results.empty());

    const error first = c.err;
    receive(c, rows("b", {"2"}), false, ep);
    s = receive(c, make(PGRES_FATAL_ERROR), true, ep);  // a later error changes nothing
    CHECK_FALSE(s.breaks_connection);
    CHECK(c.results.empty());
    CHECK(c.err.value() == first.value());
    CHECK(receive(c, nullptr, false, ep).next == next_action::command_done);
}

TEST_CASE("receive: an error while the connection went bad breaks the connection", "[pg_unit]") {
    command c = query_command();
    receive_step s = receive(c, make(PGRES_FATAL_ERROR), true, ep);
    CHECK(s.breaks_connection);
    REQUIRE(c.failed);
    CHECK(c.err.value() == errc::connection_lost);
    CHECK(c.err.is_fatal());
}

TEST_CASE("receive: a reply libpq could not understand breaks the connection", "[pg_unit]") {
    command c = query_command();
    receive_step s = receive(c, make(PGRES_BAD_RESPONSE), false, ep);
    CHECK(s.breaks_connection);
    CHECK(c.err.value() == errc::protocol_error);
    CHECK(c.err.is_fatal());
}

TEST_CASE("receive: COPY FROM STDIN is refused: the connection ends the copy and reads on",
          "[pg_unit]") {
    command c = query_command();
    receive_step s = receive(c, make(PGRES_COPY_IN), false, ep);
    CHECK(s.next == next_action::end_copy_in);
    CHECK_FALSE(s.breaks_connection);
    REQUIRE(c.failed);
    CHECK(c.err.value() == errc::bad_input);
}

TEST_CASE("receive: COPY TO STDOUT fails the statement and drains the copy", "[pg_unit]") {
    command c = query_command();
    receive_step s = receive(c, make(PGRES_COPY_OUT), false, ep);
    CHECK(s.next == next_action::read_more);
    CHECK(c.copy_out);
    REQUIRE(c.failed);
    CHECK(c.err.value() == errc::bad_input);
}

TEST_CASE("receive: replication COPY is a mode uvdb does not speak: the connection breaks",
          "[pg_unit]") {
    command c = query_command();
    receive_step s = receive(c, make(PGRES_COPY_BOTH), false, ep);
    CHECK(s.breaks_connection);
    CHECK(c.err.value() == errc::protocol_error);
}

TEST_CASE("receive: a prepared statement's pipeline — Parse, the caller's rows, Sync",
          "[pg_unit]") {
    command c = pipelined_query();
    CHECK(receive(c, make(PGRES_COMMAND_OK), false, ep).next ==
          next_action::read_more);                                         // Parse done
    CHECK_FALSE(c.last);                                                   // not the caller's
    CHECK(receive(c, nullptr, false, ep).next == next_action::read_more);  // end of the Parse
    CHECK(c.part == 1);
    CHECK(receive(c, rows("n", {"7"}), false, ep).next == next_action::read_more);
    CHECK(receive(c, nullptr, false, ep).next == next_action::read_more);
    CHECK(receive(c, make(PGRES_PIPELINE_SYNC), false, ep).next == next_action::leave_pipeline);
    CHECK(c.syncs_left == 0);
    CHECK_FALSE(c.failed);
    result<result_set> answer = query_answer(c);
    REQUIRE(answer);
    CHECK((*answer)[0].text(0) == "7");
}

TEST_CASE("receive: a failed Parse fails the statement and forgets its name", "[pg_unit]") {
    command c = pipelined_query();
    receive_step s = receive(c, make(PGRES_FATAL_ERROR), false, ep);
    CHECK(s.forget_statement);
    CHECK(s.next == next_action::read_more);
    REQUIRE(c.failed);
    receive(c, nullptr, false, ep);
    s = receive(c, make(PGRES_PIPELINE_ABORTED), false, ep);  // the Bind/Execute behind it
    CHECK_FALSE(s.forget_statement);
    CHECK(c.err.value() == errc::server_error);  // still the Parse's error
    receive(c, nullptr, false, ep);
    CHECK(receive(c, make(PGRES_PIPELINE_SYNC), false, ep).next == next_action::leave_pipeline);
}

TEST_CASE("receive: a DEALLOCATE behind the statement never touches its answer", "[pg_unit]") {
    command c = pipelined_query();
    c.syncs_left = 2;  // one DEALLOCATE + Sync behind the statement's Sync
    receive(c, make(PGRES_COMMAND_OK), false, ep);
    receive(c, nullptr, false, ep);
    receive(c, rows("n", {"1"}), false, ep);
    receive(c, nullptr, false, ep);
    CHECK(receive(c, make(PGRES_PIPELINE_SYNC), false, ep).next == next_action::read_more);
    receive_step s = receive(c, make(PGRES_FATAL_ERROR), false, ep);  // the name was gone already
    CHECK_FALSE(s.forget_statement);
    CHECK_FALSE(s.breaks_connection);
    CHECK_FALSE(c.failed);
    receive(c, nullptr, false, ep);
    CHECK(receive(c, make(PGRES_PIPELINE_SYNC), false, ep).next == next_action::leave_pipeline);
    CHECK(query_answer(c)->size() == 1);
}

TEST_CASE("receive: the connection ending inside a pipeline ends the command", "[pg_unit]") {
    command c = pipelined_query();
    receive(c, make(PGRES_COMMAND_OK), false, ep);
    CHECK(receive(c, nullptr, true, ep).next == next_action::connection_lost);
    CHECK(c.syncs_left == 0);
}

TEST_CASE("receive: an error from the statement in a pipeline is the caller's error", "[pg_unit]") {
    command c = pipelined_query();
    receive(c, make(PGRES_COMMAND_OK), false, ep);
    receive(c, nullptr, false, ep);
    receive_step s = receive(c, make(PGRES_FATAL_ERROR), false, ep);
    CHECK_FALSE(s.forget_statement);  // it was prepared; only running it failed
    CHECK(c.failed);
}

TEST_CASE("receive: a timed statement's SET and restore are not the caller's rows", "[pg_unit]") {
    command c = timed_query();
    receive(c, rows("set_config", {"50"}), false, ep);  // the SET
    receive(c, nullptr, false, ep);
    CHECK_FALSE(c.last);
    receive(c, rows("n", {"9"}), false, ep);  // the caller's statement
    receive(c, nullptr, false, ep);
    receive(c, rows("set_config", {"0"}), false, ep);  // the restore
    receive(c, nullptr, false, ep);
    CHECK(receive(c, make(PGRES_PIPELINE_SYNC), false, ep).next == next_action::leave_pipeline);
    CHECK_FALSE(c.failed);
    result<result_set> answer = query_answer(c);
    REQUIRE(answer);
    CHECK((*answer)[0].text(0) == "9");
}

TEST_CASE("receive: a failed restore undoes the statement's group: the caller's error",
          "[pg_unit]") {
    command c = timed_query();
    receive(c, rows("set_config", {"50"}), false, ep);
    receive(c, nullptr, false, ep);
    receive(c, rows("n", {"9"}), false, ep);
    receive(c, nullptr, false, ep);
    receive_step s = receive(c, make(PGRES_FATAL_ERROR), false, ep);
    CHECK_FALSE(s.forget_statement);
    CHECK(c.failed);
    receive(c, nullptr, false, ep);
    CHECK(receive(c, make(PGRES_PIPELINE_SYNC), false, ep).next == next_action::leave_pipeline);
}
