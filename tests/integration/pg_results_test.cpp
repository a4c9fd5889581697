// What a result set tells the user: column names and types, affected rows,
// access by name, conversion errors that say what went wrong, and scripts.

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <uvdb/event_loop.hpp>
#include <uvdb/postgres/driver.hpp>

#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;
namespace oid = uvdb::postgres::oid;

namespace {

// The error row::get throws when the conversion to T is impossible.
template <class T>
uvdb::error conversion_error_of(const uvdb::row& r, std::string_view column) {
    try {
        (void)r.get<T>(column);
    } catch (const uvdb::conversion_exception& e) {
        // The non-throwing form must agree.
        auto tr = r.try_get<T>(column);
        CHECK_FALSE(tr.ok());
        if (!tr.ok()) CHECK(tr.err().value() == errc::conversion_error);
        return e.err();
    }
    FAIL("row::get<T>(\"" << column << "\") did not throw conversion_exception");
    return {};
}

}  // namespace

TEST_CASE("column names, type ids and kinds", "[pg][results]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto r =
        t::query_sync(loop, *conn,
                      "SELECT true AS c_bool, '\\x01'::bytea AS c_bytea, 1::int8 AS c_int8, "
                      "2::int2 AS c_int2, 3::int4 AS c_int4, 'x'::text AS c_text, "
                      "1.5::float4 AS c_float4, 2.5::float8 AS c_float8, "
                      "'v'::varchar AS c_varchar, 1.25::numeric AS c_numeric, 42::oid AS c_oid");
    REQUIRE(r.ok());
    const uvdb::result_set& rs = *r;
    REQUIRE(rs.columns() == 11);
    REQUIRE(rs.size() == 1);
    struct expected_column {
        const char* name;
        std::uint32_t type_id;
        uvdb::column_kind kind;
    };
    const expected_column expected[] = {
        {"c_bool", oid::boolean, uvdb::column_kind::boolean},
        {"c_bytea", oid::bytea, uvdb::column_kind::binary},
        {"c_int8", oid::int8, uvdb::column_kind::int64},
        {"c_int2", oid::int2, uvdb::column_kind::int16},
        {"c_int4", oid::int4, uvdb::column_kind::int32},
        {"c_text", oid::text, uvdb::column_kind::text},
        {"c_float4", oid::float4, uvdb::column_kind::float32},
        {"c_float8", oid::float8, uvdb::column_kind::float64},
        {"c_varchar", oid::varchar, uvdb::column_kind::text},
        {"c_numeric", oid::numeric, uvdb::column_kind::numeric},
        {"c_oid", oid::oid_, uvdb::column_kind::other},
    };
    for (std::size_t i = 0; i < rs.columns(); ++i) {
        INFO("column " << i << " (" << expected[i].name << ")");
        CHECK(rs.column_name(i) == expected[i].name);
        CHECK(rs.column_type_id(i) == expected[i].type_id);
        if (expected[i].kind != uvdb::column_kind::other) {
            CHECK(rs.column_kind_of(i) == expected[i].kind);
        }
        auto idx = rs.column_index(expected[i].name);
        REQUIRE(idx.ok());
        CHECK(*idx == i);
    }
    CHECK(rs.column_type_name(2) == "int8");
    CHECK(rs.column_type_name(5) == "text");

    // Typed access by name.
    const uvdb::row row = rs[0];
    CHECK(row.get<bool>("c_bool"));
    CHECK(row.get<std::int64_t>("c_int8") == 1);
    CHECK(row.get<std::int16_t>("c_int2") == 2);
    CHECK(row.get<int>("c_int4") == 3);
    CHECK(row.get<std::string>("c_text") == "x");
    CHECK(row.get<std::string_view>("c_varchar") == "v");
    CHECK(row.get<float>("c_float4") == 1.5f);
    CHECK(row.get<double>("c_float8") == 2.5);
    CHECK(row.get<std::string>("c_numeric") == "1.25");
    CHECK(row.get<double>("c_numeric") == 1.25);
    CHECK(row.get<uvdb::bytes>("c_bytea") == uvdb::bytes("\x01", 1));
    CHECK(row.text(2) == "1");

    // An unknown column name is an error naming the columns there are.
    auto missing = rs.column_index("no_such_column");
    REQUIRE_FALSE(missing.ok());
    INFO(missing.err().to_string());
    CHECK(t::contains(missing.err().to_string(), "no_such_column"));
    CHECK(t::contains(missing.err().to_string(), "c_int8"));
}

TEST_CASE("rows are iterated in order", "[pg][results]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto r = t::query_sync(loop, *conn,
                           "SELECT g AS n, 'row' || g AS label FROM generate_series(1, 1000) g");
    REQUIRE(r.ok());
    REQUIRE(r->size() == 1000);
    int expected = 1;
    for (const uvdb::row row : *r) {
        REQUIRE(row.get<int>("n") == expected);
        REQUIRE(row.get<std::string>(1) == "row" + std::to_string(expected));
        ++expected;
    }
    CHECK(expected == 1001);
    CHECK(r->command_tag() == "SELECT 1000");
}

TEST_CASE("affected_rows for INSERT, UPDATE and DELETE", "[pg][results]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::query_sync(loop, *conn, "CREATE TEMP TABLE a (id int PRIMARY KEY, v text)").ok());

    auto ins = t::query_sync(loop, *conn, "INSERT INTO a VALUES (1, $1), (2, $1), (3, $2)",
                             uvdb::make_params("x", "y"));
    REQUIRE(ins.ok());
    CHECK(ins->affected_rows() == 3);
    CHECK(ins->command_tag() == "INSERT 0 3");
    CHECK(ins->columns() == 0);
    CHECK(ins->empty());

    auto upd =
        t::query_sync(loop, *conn, "UPDATE a SET v = 'z' WHERE v = $1", uvdb::make_params("x"));
    REQUIRE(upd.ok());
    CHECK(upd->affected_rows() == 2);

    auto none = t::query_sync(loop, *conn, "UPDATE a SET v = 'z' WHERE id > 100");
    REQUIRE(none.ok());
    CHECK(none->affected_rows() == 0);

    auto del = t::query_sync(loop, *conn, "DELETE FROM a WHERE id >= $1", uvdb::make_params(2));
    REQUIRE(del.ok());
    CHECK(del->affected_rows() == 2);

    auto ret = t::query_sync(loop, *conn, "DELETE FROM a RETURNING id");
    REQUIRE(ret.ok());
    CHECK(ret->affected_rows() == 1);
    REQUIRE(ret->size() == 1);
    CHECK(ret->value<int>() == 1);
}

TEST_CASE("conversion errors name the column and the types", "[pg][results]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto r =
        t::query_sync(loop, *conn,
                      "SELECT 'abc'::text AS word, NULL::int4 AS nothing, 100000::int8 AS big, "
                      "3.5::float8 AS frac");
    REQUIRE(r.ok());
    const uvdb::row row = (*r)[0];

    SECTION("text as int") {
        const uvdb::error e = conversion_error_of<int>(row, "word");
        INFO(e.to_string());
        CHECK(e.value() == errc::conversion_error);
        CHECK(t::contains(e.message(), "word"));
        CHECK(t::contains(e.message(), "text"));
        CHECK(t::contains(e.message(), "int"));
    }
    SECTION("NULL as a non-optional") {
        const uvdb::error e = conversion_error_of<int>(row, "nothing");
        INFO(e.to_string());
        CHECK(e.value() == errc::conversion_error);
        CHECK(t::contains(e.message(), "nothing"));
        CHECK((t::contains(e.message(), "NULL") || t::contains(e.message(), "null")));
        CHECK(row.get<std::optional<int>>("nothing") == std::nullopt);
    }
    SECTION("int8 too big for int16") {
        const uvdb::error e = conversion_error_of<std::int16_t>(row, "big");
        INFO(e.to_string());
        CHECK(e.value() == errc::conversion_error);
        CHECK(t::contains(e.message(), "big"));
        CHECK(t::contains(e.message(), "int8"));
        CHECK((t::contains(e.message(), "16") || t::contains(e.message(), "short")));
        CHECK(row.get<std::int32_t>("big") == 100000);
    }
    SECTION("a fraction as an integer") {
        const uvdb::error e = conversion_error_of<int>(row, "frac");
        INFO(e.to_string());
        CHECK(t::contains(e.message(), "frac"));
        CHECK(t::contains(e.message(), "float8"));
    }
    // The connection is unaffected by a client-side conversion error.
    CHECK(t::scalar<int>(loop, *conn, "SELECT 1") == 1);
}

TEST_CASE("execute() runs a script and returns every statement's result", "[pg][results]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto r = t::execute_sync(loop, *conn,
                             "CREATE TEMP TABLE s (id int, v text); "
                             "INSERT INTO s VALUES (1, 'a'), (2, 'b'); "
                             "SELECT id, v FROM s ORDER BY id");
    if (!r) t::fail_with("execute", r.err());
    REQUIRE(r->size() == 3);
    const auto& results = *r;
    CHECK(results[0].columns() == 0);
    CHECK(results[1].affected_rows() == 2);
    CHECK(results[1].command_tag() == "INSERT 0 2");
    REQUIRE(results[2].size() == 2);
    CHECK(results[2].column_name(1) == "v");
    CHECK(results[2][0].get<int>("id") == 1);
    CHECK(results[2][1].get<std::string>("v") == "b");

    SECTION("an error in the middle fails the whole call, and the connection goes on") {
        auto bad =
            t::execute_sync(loop, *conn, "SELECT 1; SELECT * FROM no_such_table_xyz; SELECT 3");
        REQUIRE_FALSE(bad.ok());
        INFO(t::describe(bad.err()));
        CHECK(bad.err().value() == errc::server_error);
        CHECK(bad.err().sqlstate() == "42P01");
        CHECK_FALSE(bad.err().is_fatal());
        CHECK(t::scalar<int>(loop, *conn, "SELECT 4") == 4);
    }
    SECTION("BEGIN/COMMIT in a script") {
        auto tx = t::execute_sync(loop, *conn, "BEGIN; INSERT INTO s VALUES (3, 'c'); COMMIT");
        REQUIRE(tx.ok());
        CHECK(tx->size() == 3);
        CHECK(conn->transaction_status() == uvdb::tx_status::idle);
        CHECK(t::scalar<std::int64_t>(loop, *conn, "SELECT count(*) FROM s") == 3);
    }
}
