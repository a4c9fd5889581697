// PostgreSQL's types both ways against the real server: every type as a
// parameter and as a result, with generated values and the edges (min/max,
// NaN, ±infinity, BC, leap days, microseconds, negative intervals, NULL and
// quoting in arrays), under other TimeZones, and the errors a value that
// does not fit gives.

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <uvdb/event_loop.hpp>
#include <uvdb/postgres/driver.hpp>
#include <vector>

#include "integration/support/test_env.hpp"

using namespace std::chrono;
namespace t = uvdb::test;
using uvdb::interval;
using uvdb::numeric;
using uvdb::uuid;
using us_time = sys_time<microseconds>;

namespace {

struct session {
    uvdb::event_loop loop;
    std::unique_ptr<uvdb::connection> conn = t::connect_or_fail(loop, t::test_options());

    uvdb::result_set run(std::string_view sql, uvdb::params p = {}) {
        auto r = t::query_sync(loop, *conn, sql, std::move(p));
        INFO(sql << ": " << (r.ok() ? "" : r.err().message()));
        REQUIRE(r.ok());
        return std::move(*r);
    }

    /// `value` sent as $1, cast to `type`, read back as T; and the same
    /// values as an array, and one row each out of unnest().
    template <class T>
    void round_trip(const std::string& type, const std::vector<T>& values) {
        for (const T& v : values) {
            uvdb::result_set rs = run("SELECT $1::" + type, uvdb::make_params(v));
            auto back = rs[0].try_get<T>(0);
            INFO(type << " " << rs[0].text(0) << ": " << (back.ok() ? "" : back.err().message()));
            REQUIRE(back.ok());
            CHECK(same(*back, v));
        }
        uvdb::result_set arr = run("SELECT $1::" + type + "[]", uvdb::make_params(values));
        auto back = arr[0].try_get<std::vector<T>>(0);
        INFO(type << "[] " << arr[0].text(0).substr(0, 200) << ": "
                  << (back.ok() ? "" : back.err().message()));
        REQUIRE(back.ok());
        REQUIRE(back->size() == values.size());
        for (std::size_t i = 0; i < values.size(); ++i) CHECK(same<T>((*back)[i], values[i]));
        uvdb::result_set rows =
            run("SELECT x FROM unnest($1::" + type + "[]) x", uvdb::make_params(values));
        REQUIRE(rows.size() == values.size());
        for (std::size_t i = 0; i < values.size(); ++i) CHECK(same(rows[i].get<T>(0), values[i]));
    }

    template <class T>
    static bool same(const T& a, const T& b) {
        if constexpr (std::is_floating_point_v<T>) {
            if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
        }
        return a == b;
    }

    template <class T>
    std::string error_of(std::string_view sql, uvdb::params p = {}) {
        uvdb::result_set rs = run(sql, std::move(p));
        auto r = rs[0].try_get<T>(0);
        REQUIRE_FALSE(r.ok());
        CHECK(r.err().value() == uvdb::errc::conversion_error);
        return r.err().message();
    }
};

std::mt19937_64& gen() {
    static std::mt19937_64 g(20240229);
    return g;
}

template <class I>
std::vector<I> integers() {
    std::vector<I> v{0, 1, -1, std::numeric_limits<I>::min(), std::numeric_limits<I>::max()};
    std::uniform_int_distribution<std::int64_t> d(std::numeric_limits<I>::min(),
                                                  std::numeric_limits<I>::max());
    for (int i = 0; i < 50; ++i) v.push_back(static_cast<I>(d(gen())));
    return v;
}

}  // namespace

TEST_CASE("pg types: integers, floats, bool, text, bytea", "[pg][types]") {
    session s;
    s.round_trip<std::int16_t>("int2", integers<std::int16_t>());
    s.round_trip<std::int32_t>("int4", integers<std::int32_t>());
    s.round_trip<std::int64_t>("int8", integers<std::int64_t>());
    std::vector<double> d{0.0,      -0.0,      0.1,
                          1e308,    -4.9e-324, std::numeric_limits<double>::quiet_NaN(),
                          HUGE_VAL, -HUGE_VAL};
    std::uniform_real_distribution<double> dd(-1e6, 1e6);
    for (int i = 0; i < 50; ++i) d.push_back(dd(gen()));
    s.round_trip<double>("float8", d);
    s.round_trip<float>("float4", {0.0f, 1.5f, -3.4e38f, std::numeric_limits<float>::quiet_NaN(),
                                   HUGE_VALF, -HUGE_VALF, 1e-45f});
    s.round_trip<bool>("bool", {true, false});
    s.round_trip<std::string>("text", {"", "a,b", "\"quoted\"", "back\\slash", "{braces}", "NULL",
                                       "null", " spaced ", "é☃", "tab\there", "new\nline"});
    std::vector<uvdb::bytes> b{uvdb::bytes{}, uvdb::bytes("\0\xff\\\"", 4)};
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    b.emplace_back(all.data(), all.size());
    s.round_trip<uvdb::bytes>("bytea", b);
    s.round_trip<std::string>("inet", {"192.168.0.1", "10.0.0.0/8", "::1", "2001:db8::/32"});
    s.round_trip<std::string>("cidr", {"192.168.0.0/24", "2001:db8::/32"});
}

TEST_CASE("pg types: numeric exactly, NaN and ±Infinity", "[pg][types]") {
    session s;
    std::vector<numeric> v;
    for (const char* x :
         {"0", "-1.50", "0.00000000000000000001", "1e100", "NaN", "Infinity", "-Infinity",
          "123456789012345678901234567890.000000000000000000000000000001"})
        v.push_back(*numeric::parse(x));
    std::string big(1000, '9');
    v.push_back(*numeric::parse(big + "." + big));
    std::uniform_int_distribution<std::int64_t> d;
    for (int i = 0; i < 50; ++i)
        v.push_back(
            *numeric::parse(std::to_string(d(gen())) + "." + std::to_string(d(gen()) % 1000)));
    s.round_trip<numeric>("numeric", v);
    // Server-side values keep their scale; double only when asked.
    auto rs = s.run("SELECT 1.10::numeric, 2::numeric(10,3), 'NaN'::numeric, 1e400::numeric");
    CHECK(rs[0].get<numeric>(0).str() == "1.10");
    CHECK(rs[0].get<numeric>(1).str() == "2.000");
    CHECK(rs[0].get<numeric>(2).is_nan());
    CHECK(rs[0].get<numeric>(3).to_double() == HUGE_VAL);
    CHECK(rs[0].get<double>(0) == 1.1);
    CHECK(rs.column_kind_of(0) == uvdb::column_kind::numeric);
}

TEST_CASE("pg types: uuid, json, jsonb", "[pg][types]") {
    session s;
    std::vector<uuid> u{uuid{}, *uuid::parse("ffffffff-ffff-ffff-ffff-ffffffffffff")};
    for (int i = 0; i < 50; ++i) {
        uuid x;
        for (auto& b : x.bytes) b = static_cast<std::uint8_t>(gen()());
        u.push_back(x);
    }
    s.round_trip<uuid>("uuid", u);
    CHECK(s.run("SELECT gen_random_uuid()")[0].try_get<uuid>(0).ok());
    CHECK(s.run("SELECT $1::uuid::text", uvdb::make_params(u[2]))[0].get<std::string>(0) ==
          u[2].str());
    s.round_trip<uvdb::json>("json", {uvdb::json(R"({"a": [1, "x,\"y\"", null]})"),
                                      uvdb::json("null"), uvdb::json(R"("é\\")")});
    // jsonb normalises spacing; what it prints reads back unchanged.
    const uvdb::json j =
        s.run("SELECT $1::jsonb", uvdb::make_params(uvdb::json(R"({"b":1,  "a":[true]})")))[0]
            .get<uvdb::json>(0);
    CHECK(j.text() == R"({"a": [true], "b": 1})");
    s.round_trip<uvdb::json>("jsonb", {j});
    CHECK(s.run("SELECT '{}'::json").column_type_name(0) == "json");
}

TEST_CASE("pg types: date ↔ sys_days and year_month_day", "[pg][types]") {
    session s;
    std::vector<sys_days> v{sys_days{},
                            sys_days{2024y / February / 29},
                            sys_days{1969y / December / 31},
                            sys_days{year{1} / 1 / 1},
                            sys_days{year{0} / 12 / 31},  // 0001-12-31 BC
                            sys_days{year{-43} / 3 / 15},
                            sys_days{days{-2440588}},  // PostgreSQL's first date, 4714-11-24 BC
                            sys_days{days{2'145'042'905}},  // and its last, 5874897-12-31
                            sys_days::max(),
                            sys_days::min()};
    std::uniform_int_distribution<std::int64_t> d(-2'440'000, 2'145'042'905);
    for (int i = 0; i < 100; ++i) v.emplace_back(days{d(gen())});
    s.round_trip<sys_days>("date", v);
    s.round_trip<year_month_day>("date",
                                 {2000y / 2 / 29, year{-4712} / 1 / 1, year{9999} / 12 / 31});
    auto rs = s.run(
        "SELECT '2024-02-29'::date, '0044-03-15 BC'::date, 'infinity'::date, "
        "'5874897-12-31'::date AS last");
    CHECK(rs[0].get<sys_days>(0) == sys_days{2024y / February / 29});
    CHECK(rs[0].get<year_month_day>(1) == year{-43} / 3 / 15);
    CHECK(rs[0].get<sys_days>(2) == sys_days::max());
    CHECK_THAT(s.error_of<year_month_day>("SELECT '5874897-12-31'::date AS last"),
               Catch::Contains("column \"last\" (date) holds 5874897-12-31, which does not fit "
                               "std::chrono::year_month_day"));
    CHECK(rs.column_type_name(3) == "date");
}

TEST_CASE("pg types: timestamp and timestamptz ↔ sys_time, in any session TimeZone",
          "[pg][types]") {
    session s;
    std::vector<us_time> v{us_time{},
                           us_time{} - 1us,
                           sys_days{2024y / February / 29} + 23h + 59min + 59s + 999999us,
                           sys_days{year{-43} / 3 / 15} + 12h + 1us,
                           sys_days{days{-2'440'588}},  // PostgreSQL's first timestamp
                           sys_days{year{294246} / 1 / 1},
                           us_time::max(),
                           us_time::min()};
    // Generated instants over PostgreSQL's range that sys_time<microseconds> holds.
    std::uniform_int_distribution<std::int64_t> d(-210'866'803'200'000'000,
                                                  9'223'000'000'000'000'000);
    for (int i = 0; i < 200; ++i) v.emplace_back(microseconds{d(gen())});
    s.round_trip<us_time>("timestamptz", v);
    s.round_trip<us_time>("timestamp", v);  // read as a UTC wall clock
    for (const char* zone :
         {"Asia/Kolkata", "America/St_Johns", "Pacific/Kiritimati", "Europe/Amsterdam"}) {
        INFO(zone);
        s.run(std::string("SET TimeZone TO '") + zone + "'");
        s.round_trip<us_time>("timestamptz", v);
    }
    // The server prints the local time and its offset; the instant is the same.
    auto rs = s.run(
        "SELECT '2024-01-01 12:00:00.5+00'::timestamptz, '1900-01-01 00:00:00+00'::timestamptz");
    CHECK(rs[0].text(0) == "2024-01-01 13:00:00.5+01");
    CHECK(rs[0].get<us_time>(0) == sys_days{2024y / January / 1} + 12h + 500ms);
    CHECK(rs[0].text(1) == "1900-01-01 00:19:32+00:19:32");
    CHECK(rs[0].get<sys_seconds>(1) == sys_days{1900y / January / 1});
    s.run("SET TimeZone TO 'UTC'");

    s.round_trip<sys_seconds>("timestamptz",
                              {sys_days{2000y / January / 1} + 1s, sys_seconds::max()});
    s.round_trip<sys_time<nanoseconds>>("timestamp", {sys_time<nanoseconds>{} - 1us});
    CHECK_THAT(s.error_of<sys_seconds>("SELECT '2024-01-01 12:00:00.5'::timestamp AS at"),
               Catch::Contains("column \"at\" (timestamp) holds 2024-01-01 12:00:00.5, which does "
                               "not fit std::chrono::sys_seconds without dropping part of it"));
    CHECK_THAT(
        s.error_of<us_time>("SELECT '294276-12-31 23:59:59.999999'::timestamp AS last"),
        Catch::Contains("column \"last\" (timestamp) holds 294276-12-31 23:59:59.999999, "
                        "which does not fit std::chrono::sys_time<std::chrono::microseconds>"));
    CHECK_THAT(s.error_of<sys_time<nanoseconds>>("SELECT '2300-01-01'::timestamptz"),
               Catch::Contains("does not fit"));
}

TEST_CASE("pg types: time and interval", "[pg][types]") {
    session s;
    s.round_trip<microseconds>("time", {0us, 86'399'999'999us, 24h, 12h + 1us});
    std::uniform_int_distribution<std::int64_t> dt(0, 86'400'000'000);
    std::vector<microseconds> times;
    for (int i = 0; i < 100; ++i) times.emplace_back(dt(gen()));
    s.round_trip<microseconds>("time", times);
    s.round_trip<microseconds>("interval", {-1us, 1000h, -90s});

    std::vector<interval> iv{
        {0, 0, 0},
        {14, 3, 14'706'789'000},
        {-14, 3, -14'706'000'000},
        {1, -2, 3},
        {0, 0, std::numeric_limits<std::int64_t>::max()},
        {std::numeric_limits<std::int32_t>::max(), std::numeric_limits<std::int32_t>::min(), -1}};
    std::uniform_int_distribution<std::int32_t> d32(-1'000'000, 1'000'000);
    std::uniform_int_distribution<std::int64_t> d64(-1'000'000'000'000'000, 1'000'000'000'000'000);
    for (int i = 0; i < 100; ++i) iv.push_back({d32(gen()), d32(gen()), d64(gen())});
    s.round_trip<interval>("interval", iv);
    auto rs =
        s.run("SELECT '1 year 2 mons -3 days 04:05:06.789'::interval, '1 day'::interval AS d");
    CHECK(rs[0].get<interval>(0) == interval{14, -3, 14'706'789'000});
    CHECK_THAT(s.error_of<microseconds>("SELECT '1 day'::interval AS d"),
               Catch::Contains("column \"d\" (interval) holds 1 day, which does not fit "
                               "std::chrono::microseconds (read it as uvdb::interval)"));
    s.run("SET IntervalStyle TO iso_8601");
    CHECK_THAT(s.error_of<interval>("SELECT '1 day'::interval"),
               Catch::Contains("IntervalStyle postgres"));
    s.run("SET IntervalStyle TO postgres");
    s.run("SET DateStyle TO 'SQL, DMY'");
    CHECK_THAT(s.error_of<us_time>("SELECT now()"), Catch::Contains("SET DateStyle TO ISO"));
    // Parameters stay readable to the server in any DateStyle.
    s.run("SET DateStyle TO 'German'");
    CHECK(s.run("SELECT $1::timestamptz = '2024-02-29 12:00:00+00'::timestamptz",
                uvdb::make_params(us_time{sys_days{2024y / February / 29} + 12h}))[0]
              .get<bool>(0));
}

TEST_CASE("pg types: arrays with NULL elements, empty arrays, errors", "[pg][types]") {
    session s;
    using opt_strings = std::vector<std::optional<std::string>>;
    const opt_strings nasty{"a,b",        "\"", "\\",    "{x}",   "NULL",
                            std::nullopt, "",   " lead", "tail ", "é"};
    auto rs = s.run("SELECT $1::text[], $2::int4[], $3::int8[], $4::uuid[]",
                    uvdb::make_params(nasty, std::vector<std::optional<int>>{1, std::nullopt},
                                      std::vector<std::int64_t>{}, std::vector<uuid>{}));
    CHECK(rs[0].get<opt_strings>(0) == nasty);
    CHECK(rs[0].get<std::vector<std::optional<int>>>(1) ==
          std::vector<std::optional<int>>{1, std::nullopt});
    CHECK(rs[0].get<std::vector<std::int64_t>>(2).empty());
    CHECK(rs[0].get<std::vector<uuid>>(3).empty());
    CHECK(s.run("SELECT array_length($1::text[], 1), ($1::text[])[6] IS NULL, ($1::text[])[5]",
                uvdb::make_params(nasty))[0]
              .get<std::string>(2) == "NULL");
    CHECK_THAT(s.error_of<std::vector<int>>("SELECT ARRAY[1, NULL]::int4[] AS a"),
               Catch::Contains("column \"a\" (_int4) holds a NULL element at index 2; read it as "
                               "std::vector<std::optional<int>>"));
    CHECK_THAT(s.error_of<std::vector<std::int16_t>>("SELECT ARRAY[1, 100000]::int4[] AS a"),
               Catch::Contains("column \"a[2]\" (_int4) holds 100000, which does not fit int16"));
    CHECK_THAT(s.error_of<std::vector<int>>("SELECT ARRAY[[1,2],[3,4]] AS m"),
               Catch::Contains("one-dimensional arrays only"));
    CHECK_THAT(s.error_of<std::vector<int>>("SELECT '[0:1]={1,2}'::int4[] AS z"),
               Catch::Contains("lower bound is not 1"));
    CHECK(s.run("SELECT ARRAY[]::date[]")[0].get<std::vector<sys_days>>(0).empty());
    CHECK_FALSE(s.run("SELECT NULL::int4[]")[0].get<std::optional<std::vector<int>>>(0));
}

TEST_CASE("pg types: column type names of the new types and their arrays", "[pg][types]") {
    session s;
    auto rs = s.run(
        "SELECT now(), now()::timestamp, current_date, '1 day'::interval, "
        "gen_random_uuid(), '{}'::jsonb, ARRAY[1.5]::numeric[], ARRAY[now()], "
        "ARRAY['1 day'::interval], ARRAY[gen_random_uuid()], ARRAY['{}'::json], "
        "ARRAY['{}'::jsonb], ARRAY['::1'::inet], ARRAY[current_date], "
        "ARRAY[now()::time], ARRAY[now()::timestamp]");
    const char* names[] = {"timestamptz", "timestamp", "date",     "interval",
                           "uuid",        "jsonb",     "_numeric", "_timestamptz",
                           "_interval",   "_uuid",     "_json",    "_jsonb",
                           "_inet",       "_date",     "_time",    "_timestamp"};
    for (std::size_t i = 0; i < std::size(names); ++i) CHECK(rs.column_type_name(i) == names[i]);
}
