// [sqlite] Parameters and result values: binding forms, declared types,
// affected rows, statements and scripts.

#include <cstdint>
#include <limits>

#include "sqlite_test_util.hpp"

using namespace uvdb;
using namespace uvdb::sqlite_test;

TEST_CASE("sqlite: declared column types map to portable kinds", "[sqlite]") {
    event_loop loop;
    auto c = connect_ok(loop, "sqlite::memory:");
    must(loop, *c,
         "CREATE TABLE ty (b BOOLEAN, i INTEGER, r REAL, t TEXT, bl BLOB, n NUMERIC, v "
         "VARCHAR(20))");
    const std::byte raw[] = {std::byte{0}, std::byte{0xff}};
    auto ins = must(loop, *c, "INSERT INTO ty VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    make_params(true, std::int64_t{5}, 2.5, "x", bytes(raw, 2), 1.5, "y"));
    CHECK(ins.affected_rows() == 1);
    CHECK(ins.command_tag() == "INSERT 0 1");

    auto rs = must(loop, *c, "SELECT b, i, r, t, bl, n, v FROM ty");
    REQUIRE(rs.size() == 1);
    CHECK(rs.column_kind_of(0) == column_kind::boolean);
    CHECK(rs.column_kind_of(1) == column_kind::int64);
    CHECK(rs.column_kind_of(2) == column_kind::float64);
    CHECK(rs.column_kind_of(3) == column_kind::text);
    CHECK(rs.column_kind_of(4) == column_kind::binary);
    CHECK(rs.column_kind_of(5) == column_kind::numeric);
    CHECK(rs.column_kind_of(6) == column_kind::text);
    CHECK(rs.column_type_name(6) == "VARCHAR(20)");
    CHECK(rs.column_type_id(1) == uvdb::sqlite::type_id::integer);
    CHECK(rs[0].get<bool>("b") == true);
    CHECK(rs[0].get<int>("i") == 5);
    CHECK(rs[0].get<double>("r") == 2.5);
    CHECK(rs[0].get<std::string>("t") == "x");
    CHECK(rs[0].get<bytes>("bl") == bytes(raw, 2));
    CHECK(rs[0].text(4) == "\\x00ff");  // PostgreSQL's hex form
    CHECK(rs[0].get<double>("n") == 1.5);
}

TEST_CASE("sqlite: expressions take the kind of their value; NULL-only columns are other",
          "[sqlite]") {
    event_loop loop;
    auto c = connect_ok(loop, "sqlite::memory:");
    auto rs = must(loop, *c, "SELECT 1, 1.0, 'a', x'01', NULL");
    CHECK(rs.column_kind_of(0) == column_kind::int64);
    CHECK(rs.column_kind_of(1) == column_kind::float64);
    CHECK(rs.column_kind_of(2) == column_kind::text);
    CHECK(rs.column_kind_of(3) == column_kind::binary);
    CHECK(rs.column_kind_of(4) == column_kind::other);
    CHECK(rs.column_type_name(4) == "null");
    CHECK(rs[0].text(1) == "1");  // shortest form that reads back as the same double
}

TEST_CASE("sqlite: integer and floating extremes round trip exactly", "[sqlite]") {
    event_loop loop;
    auto c = connect_ok(loop, "sqlite::memory:");
    const std::int64_t lo = std::numeric_limits<std::int64_t>::min();
    const std::int64_t hi = std::numeric_limits<std::int64_t>::max();
    const double tiny = std::numeric_limits<double>::denorm_min();
    const double third = 1.0 / 3.0;
    auto rs = must(loop, *c, "SELECT $1, $2, $3, $4, $5",
                   make_params(lo, hi, tiny, third, std::numeric_limits<double>::infinity()));
    CHECK(rs[0].get<std::int64_t>(0) == lo);
    CHECK(rs[0].get<std::int64_t>(1) == hi);
    CHECK(rs[0].get<double>(2) == tiny);
    CHECK(rs[0].get<double>(3) == third);
    CHECK(rs[0].get<double>(4) == std::numeric_limits<double>::infinity());
    // A value that does not fit the requested type is a conversion error.
    auto narrow = rs[0].try_get<std::int32_t>(1);
    REQUIRE_FALSE(narrow.ok());
    CHECK(narrow.err().value() == errc::conversion_error);
}

TEST_CASE("sqlite: $N and ?N bind by number, ? by position", "[sqlite]") {
    event_loop loop;
    auto c = connect_ok(loop, "sqlite::memory:");
    auto a = must(loop, *c, "SELECT $2, $1, $2", make_params(1, 2));
    CHECK(a[0].get<int>(0) == 2);
    CHECK(a[0].get<int>(1) == 1);
    CHECK(a[0].get<int>(2) == 2);
    auto b = must(loop, *c, "SELECT ?2, ?1", make_params("one", "two"));
    CHECK(b[0].get<std::string>(0) == "two");
    auto p = must(loop, *c, "SELECT ?, ?", make_params("one", "two"));
    CHECK(p[0].get<std::string>(1) == "two");
    // Text with a NUL byte and an empty blob are kept as they are.
    auto n = must(loop, *c, "SELECT length(CAST($1 AS BLOB)), length($2)",
                  make_params(std::string("a\0b", 3), bytes()));
    CHECK(n[0].get<int>(0) == 3);
    CHECK(n[0].get<int>(1) == 0);
}

TEST_CASE("sqlite: wrong parameter counts and several statements in query() are bad_input",
          "[sqlite]") {
    event_loop loop;
    auto c = connect_ok(loop, "sqlite::memory:");
    auto few = query(loop, *c, "SELECT $1, $3", make_params(1, 2));
    REQUIRE_FALSE(few.ok());
    INFO(few.err().to_string());
    CHECK(few.err().value() == errc::bad_input);
    CHECK(contains(few.err().message(), "$3"));
    auto many = query(loop, *c, "SELECT $1", make_params(1, 2));
    REQUIRE_FALSE(many.ok());
    CHECK(many.err().value() == errc::bad_input);
    CHECK(contains(many.err().message(), "2 parameter(s) were given but the statement uses 1"));
    auto two = query(loop, *c, "SELECT 1; SELECT 2");
    REQUIRE_FALSE(two.ok());
    CHECK(two.err().value() == errc::bad_input);
    CHECK(contains(two.err().message(), "execute()"));
    // Trailing whitespace and comments are not a second statement.
    CHECK(must(loop, *c, "SELECT 3;  -- done\n").value<int>() == 3);
    // An empty statement gives an empty result.
    CHECK(must(loop, *c, "  ").columns() == 0);
    CHECK_FALSE(c->is_broken());
}

TEST_CASE("sqlite: affected rows count changes, not stale ones", "[sqlite]") {
    event_loop loop;
    auto c = connect_ok(loop, "sqlite::memory:");
    must(loop, *c, "CREATE TABLE t (x INTEGER)");
    CHECK(must(loop, *c, "INSERT INTO t VALUES (1), (2), (3)").affected_rows() == 3);
    auto up = must(loop, *c, "UPDATE t SET x = x + 10 WHERE x >= 2");
    CHECK(up.affected_rows() == 2);
    CHECK(up.command_tag() == "UPDATE 2");
    // DDL after DML: 0, not the UPDATE's 2.
    CHECK(must(loop, *c, "CREATE TABLE u (y INTEGER)").affected_rows() == 0);
    CHECK(must(loop, *c, "DELETE FROM t WHERE x > 100").affected_rows() == 0);
    auto sel = must(loop, *c, "SELECT x FROM t ORDER BY x");
    CHECK(sel.affected_rows() == 3);
    CHECK(sel.command_tag() == "SELECT 3");
}

TEST_CASE("sqlite: execute() runs a script and names the statement that failed", "[sqlite]") {
    event_loop loop;
    auto c = connect_ok(loop, "sqlite::memory:");
    auto ok =
        execute(loop, *c, "CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1); SELECT x FROM t;");
    REQUIRE(ok.ok());
    REQUIRE(ok->size() == 3);
    CHECK((*ok)[2].value<int>() == 1);
    auto bad = execute(loop, *c, "INSERT INTO t VALUES (2); SELEC x; INSERT INTO t VALUES (3)");
    REQUIRE_FALSE(bad.ok());
    INFO(bad.err().to_string());
    CHECK(contains(bad.err().message(), "statement 2 of the script"));
    CHECK(bad.err().sqlstate() == "42000");
    // The first statement ran (autocommit), the third did not.
    CHECK(must(loop, *c, "SELECT count(*) FROM t").value<int>() == 2);
}

TEST_CASE("sqlite: transaction_status follows BEGIN, COMMIT and reset", "[sqlite]") {
    event_loop loop;
    auto c = connect_ok(loop, "sqlite::memory:");
    CHECK(c->transaction_status() == tx_status::idle);
    must(loop, *c, "CREATE TABLE t (x INTEGER)");
    must(loop, *c, "BEGIN");
    CHECK(c->transaction_status() == tx_status::in_transaction);
    must(loop, *c, "INSERT INTO t VALUES (1)");
    must(loop, *c, "COMMIT");
    CHECK(c->transaction_status() == tx_status::idle);
    must(loop, *c, "BEGIN");
    must(loop, *c, "INSERT INTO t VALUES (2)");
    slot<void> r;
    c->reset(r.sink());
    REQUIRE(wait_until(
        loop, [&] { return r.done(); }, step_timeout));
    REQUIRE(r.get().ok());
    CHECK(c->transaction_status() == tx_status::idle);
    CHECK(must(loop, *c, "SELECT count(*) FROM t").value<int>() == 1);
}
