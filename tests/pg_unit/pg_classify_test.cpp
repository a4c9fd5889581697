// Which statements the PostgreSQL driver pipelines, and what each does to
// the transaction (pg_statement_cache.hpp, classify(); docs/DRIVERS.md).

#include <catch2/catch.hpp>

#include "pg_statement_cache.hpp"

using uvdb::postgres::detail::classify;
using uvdb::postgres::detail::statement_kind;

TEST_CASE("classify: ordinary statements, whatever the case and comments before them",
          "[pg_unit]") {
    for (const char* sql :
         {"SELECT 1", "select 1", "  -- why\n/* a /* nested */ one */ SeLeCt 1", "INSERT INTO t",
          "update t set n = 1", "DELETE FROM t", "MERGE INTO t", "WITH x AS (SELECT 1) SELECT 1",
          "VALUES (1)", "TABLE t", "SHOW statement_timeout", "select(1)"}) {
        INFO(sql);
        CHECK(classify(sql) == statement_kind::ordinary);
    }
}

TEST_CASE("classify: transaction control", "[pg_unit]") {
    CHECK(classify("BEGIN") == statement_kind::begins);
    CHECK(classify("begin;") == statement_kind::begins);
    CHECK(classify("START TRANSACTION ISOLATION LEVEL SERIALIZABLE") == statement_kind::begins);
    CHECK(classify("COMMIT") == statement_kind::ends);
    CHECK(classify("end") == statement_kind::ends);
    CHECK(classify("ROLLBACK") == statement_kind::ends);
    CHECK(classify("abort") == statement_kind::ends);
    CHECK(classify("SAVEPOINT s1") == statement_kind::savepoint);
    CHECK(classify("RELEASE SAVEPOINT s1") == statement_kind::savepoint);
    CHECK(classify("ROLLBACK TO SAVEPOINT s1") == statement_kind::savepoint);
    CHECK(classify("rollback  /* x */ to s1") == statement_kind::savepoint);
}

TEST_CASE("classify: what must run alone", "[pg_unit]") {
    for (const char* sql :
         {"SET statement_timeout = 0", "CREATE TABLE t (n int)", "VACUUM t", "CALL p()",
          "DO $$ BEGIN END $$", "COPY t FROM STDIN", "LISTEN c", "COMMIT PREPARED 'x'",
          "ROLLBACK PREPARED 'x'", "PREPARE TRANSACTION 'x'", "selectx 1", "select_1", "(SELECT 1)",
          "", "   ", "/* unterminated", "EXPLAIN ANALYZE SELECT 1", "DISCARD ALL"}) {
        INFO(sql);
        CHECK(classify(sql) == statement_kind::other);
    }
}
