// Every parameter type survives a round trip unchanged: through `SELECT $1`
// and through a typed table (INSERT, then SELECT). Parameters stay data.

#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <uvdb/event_loop.hpp>
#include <uvdb/param.hpp>
#include <vector>

#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
namespace t = uvdb::test;

namespace {

// One connection with a temp table holding a column of each type.
struct fixture {
    uvdb::event_loop loop;
    std::unique_ptr<uvdb::connection> conn;

    fixture() {
        conn = t::connect_or_fail(loop, t::test_options());
        auto r = t::query_sync(loop, *conn,
                               "CREATE TEMP TABLE rt (id serial PRIMARY KEY, b bool, i2 int2, "
                               "i4 int4, i8 int8, f4 float4, f8 float8, t text, by bytea)");
        if (!r) t::fail_with("CREATE TEMP TABLE", r.err());
    }

    uvdb::result_set select_param(uvdb::param p) {
        uvdb::params ps;
        ps.push_back(std::move(p));
        auto r = t::query_sync(loop, *conn, "SELECT $1 AS v", std::move(ps));
        if (!r) t::fail_with("SELECT $1", r.err());
        REQUIRE(r->size() == 1);
        REQUIRE(r->columns() == 1);
        return std::move(r).value();
    }

    // Stores `p` in column `col` of a new row and reads that row back.
    uvdb::result_set through_table(const std::string& col, uvdb::param p) {
        uvdb::params ps;
        ps.push_back(std::move(p));
        auto ins = t::query_sync(
            loop, *conn, "INSERT INTO rt (" + col + ") VALUES ($1) RETURNING id", std::move(ps));
        if (!ins) t::fail_with("INSERT into " + col, ins.err());
        REQUIRE(ins->affected_rows() == 1);
        const auto id = ins->value<std::int64_t>();
        auto sel = t::query_sync(loop, *conn, "SELECT " + col + " FROM rt WHERE id = $1",
                                 uvdb::make_params(id));
        if (!sel) t::fail_with("SELECT " + col, sel.err());
        REQUIRE(sel->size() == 1);
        return std::move(sel).value();
    }

    template <class T>
    void check_both(const std::string& col, const T& v) {
        INFO("column " << col);
        CHECK(select_param(uvdb::param(v)).template value<T>() == v);
        CHECK(through_table(col, uvdb::param(v)).template value<T>() == v);
    }
};

uvdb::bytes all_byte_values() {
    std::vector<std::byte> v;
    for (int i = 0; i < 256; ++i) v.push_back(static_cast<std::byte>(i));
    // And once more backwards, so that 0x00 and 0xff also sit in the middle.
    for (int i = 255; i >= 0; --i) v.push_back(static_cast<std::byte>(i));
    return uvdb::bytes(std::move(v));
}

uvdb::bytes pseudo_random_bytes(std::size_t n) {
    std::vector<std::byte> v(n);
    std::uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (auto& b : v) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b = static_cast<std::byte>(x >> 56);
    }
    return uvdb::bytes(std::move(v));
}

}  // namespace

TEST_CASE("NULL parameters read back as NULL", "[pg][params]") {
    fixture f;
    for (uvdb::param p : {uvdb::param(), uvdb::param(nullptr), uvdb::param(std::optional<int>{})}) {
        auto rs = f.select_param(p);
        CHECK(rs[0].is_null(0));
        CHECK(rs[0].is_null("v"));
        CHECK_FALSE(rs[0].get<std::optional<int>>(0).has_value());
        CHECK_FALSE(rs[0].get<std::optional<std::string>>("v").has_value());
    }
    auto typed = t::query_sync(f.loop, *f.conn, "SELECT $1::int AS v", uvdb::make_params(nullptr));
    REQUIRE(typed.ok());
    CHECK(typed->at(0).is_null(0));
    CHECK(typed->at(0).get<std::optional<int>>(0) == std::nullopt);

    auto stored = f.through_table("i4", uvdb::param());
    CHECK(stored[0].is_null(0));
    CHECK(stored[0].get<std::optional<int>>(0) == std::nullopt);

    // A present optional binds its value.
    CHECK(f.through_table("i4", std::optional<int>(7))[0].get<std::optional<int>>(0) == 7);
}

TEST_CASE("bool parameters round-trip", "[pg][params]") {
    fixture f;
    f.check_both("b", true);
    f.check_both("b", false);
    auto r = t::query_sync(f.loop, *f.conn, "SELECT $1::bool AND NOT $2::bool",
                           uvdb::make_params(true, false));
    REQUIRE(r.ok());
    CHECK(r->value<bool>());
}

TEST_CASE("integer parameters round-trip, limits included", "[pg][params]") {
    fixture f;
    using i16 = std::int16_t;
    using i32 = std::int32_t;
    using i64 = std::int64_t;
    for (i16 v : {i16{0}, i16{-1}, i16{42}, std::numeric_limits<i16>::min(),
                  std::numeric_limits<i16>::max()}) {
        f.check_both("i2", v);
    }
    for (i32 v : {i32{0}, i32{-7}, i32{123456}, std::numeric_limits<i32>::min(),
                  std::numeric_limits<i32>::max()}) {
        f.check_both("i4", v);
    }
    for (i64 v : {i64{0}, i64{-99}, i64{1} << 40, std::numeric_limits<i64>::min(),
                  std::numeric_limits<i64>::max()}) {
        f.check_both("i8", v);
    }
    // The bound value is the number, not its text: arithmetic happens on the server.
    auto r = t::query_sync(f.loop, *f.conn, "SELECT $1::int8 + 1",
                           uvdb::make_params(std::numeric_limits<i64>::max() - 1));
    REQUIRE(r.ok());
    CHECK(r->value<i64>() == std::numeric_limits<i64>::max());
}

TEST_CASE("float and double parameters round-trip exactly, NaN and infinities included",
          "[pg][params]") {
    fixture f;
    const double dvals[] = {0.0,
                            -1.5,
                            3.141592653589793,
                            -2.718281828459045e-300,
                            1e-300,
                            std::numeric_limits<double>::denorm_min(),
                            std::numeric_limits<double>::min(),
                            std::numeric_limits<double>::max(),
                            -std::numeric_limits<double>::max(),
                            std::numeric_limits<double>::infinity(),
                            -std::numeric_limits<double>::infinity(),
                            0.1,
                            1.0 / 3.0};
    for (double v : dvals) {
        INFO("double " << v);
        f.check_both("f8", v);
    }
    const float fvals[] = {0.0f,
                           -1.25f,
                           0.1f,
                           1.0f / 3.0f,
                           1e-30f,
                           -3.4e38f,
                           std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity()};
    for (float v : fvals) {
        INFO("float " << v);
        f.check_both("f4", v);
    }
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK(std::isnan(f.select_param(nan).value<double>()));
    CHECK(std::isnan(f.through_table("f8", nan).value<double>()));
    CHECK(
        std::isnan(f.through_table("f4", std::numeric_limits<float>::quiet_NaN()).value<float>()));
    // The server sees a real NaN, not a string that happens to read back as one.
    auto r =
        t::query_sync(f.loop, *f.conn, "SELECT $1::float8 = 'NaN'::float8", uvdb::make_params(nan));
    REQUIRE(r.ok());
    CHECK(r->value<bool>());
}

TEST_CASE("text parameters round-trip: empty, unicode, quotes and backslashes", "[pg][params]") {
    fixture f;
    const std::string texts[] = {
        "",
        "plain",
        "żółć 漢字 🙂",
        R"(it's "quoted" \ back\slash \\ \x00 $1 %s ?)",
        "line1\nline2\ttab\r\n",
        std::string(100'000, 'x') + "end",
    };
    for (const std::string& s : texts) {
        INFO("text of size " << s.size());
        f.check_both("t", s);
    }
    // Empty text is not NULL.
    auto empty = f.select_param(std::string());
    CHECK_FALSE(empty[0].is_null(0));
    CHECK(empty.value<std::string>().empty());
    // string_view and const char* bind as text too.
    CHECK(f.select_param(std::string_view("sv")).value<std::string>() == "sv");
    CHECK(f.select_param("cstr").value<std::string>() == "cstr");
    auto len =
        t::query_sync(f.loop, *f.conn, "SELECT char_length($1::text), octet_length($1::text)",
                      uvdb::make_params("żółć 漢字 🙂"));
    REQUIRE(len.ok());
    CHECK(len->at(0).get<int>(0) == 9);
    CHECK(len->at(0).get<int>(1) == 20);
}

TEST_CASE("bytea parameters round-trip: all 256 byte values", "[pg][params]") {
    fixture f;
    const uvdb::bytes all = all_byte_values();
    CHECK(f.select_param(all).value<uvdb::bytes>() == all);
    CHECK(f.through_table("by", all).value<uvdb::bytes>() == all);
    auto len = t::query_sync(f.loop, *f.conn,
                             "SELECT octet_length($1::bytea), get_byte($1::bytea, 0), "
                             "get_byte($1::bytea, 255)",
                             uvdb::make_params(all));
    REQUIRE(len.ok());
    CHECK(len->at(0).get<int>(0) == 512);
    CHECK(len->at(0).get<int>(1) == 0);
    CHECK(len->at(0).get<int>(2) == 255);
    // Empty bytea is not NULL.
    auto empty = f.select_param(uvdb::bytes());
    CHECK_FALSE(empty[0].is_null(0));
    CHECK(empty.value<uvdb::bytes>().data.empty());
}

TEST_CASE("a bytea of 8 MiB round-trips exactly", "[pg][params][large]") {
    fixture f;
    const uvdb::bytes big = pseudo_random_bytes(8u << 20);
    const uvdb::bytes back = f.select_param(big).value<uvdb::bytes>();
    CHECK(back.data.size() == big.data.size());
    CHECK(back == big);
    const uvdb::bytes stored = f.through_table("by", big).value<uvdb::bytes>();
    CHECK(stored.data.size() == big.data.size());
    CHECK(stored == big);
    auto md5 = t::query_sync(f.loop, *f.conn,
                             "SELECT md5($1::bytea) = md5(by) FROM rt WHERE by IS NOT NULL",
                             uvdb::make_params(big));
    REQUIRE(md5.ok());
    CHECK(md5->value<bool>());
}

TEST_CASE("a parameter holding SQL stays data", "[pg][params]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::query_sync(loop, *conn, "CREATE TEMP TABLE t (v text)").ok());
    const std::string evil = "'; DROP TABLE t; --";
    auto ins = t::query_sync(loop, *conn, "INSERT INTO t (v) VALUES ($1)", uvdb::make_params(evil));
    REQUIRE(ins.ok());
    CHECK(ins->affected_rows() == 1);
    CHECK(t::scalar<std::string>(loop, *conn, "SELECT $1::text", uvdb::make_params(evil)) == evil);
    CHECK(t::scalar<std::string>(loop, *conn, "SELECT v FROM t") == evil);
    CHECK(t::scalar<std::int64_t>(loop, *conn, "SELECT count(*) FROM t WHERE v = $1",
                                  uvdb::make_params(evil)) == 1);
    CHECK(t::scalar<bool>(loop, *conn, "SELECT to_regclass('pg_temp.t') IS NOT NULL"));
    // A parameter does not become an identifier either.
    auto r = t::query_sync(loop, *conn, "SELECT count(*) FROM t WHERE v = $1",
                           uvdb::make_params("x' OR '1'='1"));
    REQUIRE(r.ok());
    CHECK(r->value<std::int64_t>() == 0);
}
