// The decoders and encoders of <uvdb/types.hpp> on their own, on edge
// inputs: numeric, uuid, json, interval, std::chrono, arrays, a user type.

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <uvdb/result_set.hpp>
#include <vector>

using namespace std::chrono;
using uvdb::interval;
using uvdb::numeric;
using uvdb::uuid;

namespace {

using cell = std::optional<std::string>;

uvdb::result_set single(const std::string& type, cell value) {
    uvdb::owned_result::column c;
    c.name = "v";
    c.type_name = type;
    auto src = std::make_unique<uvdb::owned_result>(std::vector<uvdb::owned_result::column>{c});
    src->add_row({std::move(value)});
    return uvdb::result_set(std::move(src));
}

template <class T>
uvdb::result<T> read(const std::string& type, cell value) {
    auto rs = single(type, std::move(value));
    return rs[0].try_get<T>(0);
}

template <class T>
T read_ok(const std::string& type, const std::string& value) {
    auto r = read<T>(type, value);
    INFO(type << " " << value << ": " << (r.ok() ? "" : r.err().message()));
    REQUIRE(r.ok());
    return *r;
}

template <class T>
std::string error_of(const std::string& type, cell value) {
    auto r = read<T>(type, std::move(value));
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().value() == uvdb::errc::conversion_error);
    return r.err().message();
}

template <class T>
std::string text_of(const T& v) {
    uvdb::param p(v);
    REQUIRE(p.type() == uvdb::param::kind::text);
    return p.as_text();
}

}  // namespace

// ---- numeric ------------------------------------------------------------

TEST_CASE("numeric: canonical text from PostgreSQL's input forms", "[types][numeric]") {
    auto canon = [](std::string_view s) {
        auto n = numeric::parse(s);
        REQUIRE(n);
        return n->str();
    };
    CHECK(canon("0") == "0");
    CHECK(canon("1.50") == "1.50");  // the scale is kept
    CHECK(canon("+007.25") == "7.25");
    CHECK(canon("-0.000") == "0.000");
    CHECK(canon(".5") == "0.5");
    CHECK(canon("5.") == "5");
    CHECK(canon("1.5e3") == "1500");
    CHECK(canon("-12e-4") == "-0.0012");
    CHECK(canon("123456789012345678901234567890.123456789012345678901") ==
          "123456789012345678901234567890.123456789012345678901");
    CHECK(canon("nan") == "NaN");
    CHECK(canon("Infinity") == "Infinity");
    CHECK(canon("-inf") == "-Infinity");
    for (const char* bad :
         {"", "-", ".", "1.2.3", "1e", "e5", " 1", "1 ", "0x10", "1e999999", "--1"})
        CHECK_FALSE(numeric::parse(bad));
    CHECK(numeric(std::int64_t{-9223372036854775807 - 1}).str() == "-9223372036854775808");
    CHECK(numeric(0u).str() == "0");
}

TEST_CASE("numeric: to_double only when asked, from_double exact", "[types][numeric]") {
    CHECK(numeric::parse("1.25")->to_double() == 1.25);
    CHECK(std::isnan(numeric::nan().to_double()));
    CHECK(numeric::infinity().to_double() == std::numeric_limits<double>::infinity());
    CHECK(numeric::parse("1e400")->to_double() == std::numeric_limits<double>::infinity());
    CHECK(numeric::parse("-1e400")->to_double() == -std::numeric_limits<double>::infinity());
    CHECK(numeric::parse("1e-400")->to_double() == 0.0);
    CHECK(numeric::from_double(0.1).str() == "0.1");
    CHECK(numeric::from_double(-2.5e-5).str() == "-0.000025");
    CHECK(numeric::from_double(std::nan("")).is_nan());
    CHECK(numeric::from_double(-HUGE_VAL) == numeric::negative_infinity());
    CHECK(numeric::from_double(1e300).to_double() == 1e300);
}

TEST_CASE("numeric: cells and parameters", "[types][numeric]") {
    CHECK(read_ok<numeric>("numeric", "-3.140").str() == "-3.140");
    CHECK(read_ok<numeric>("numeric", "NaN").is_nan());
    CHECK(read_ok<std::optional<numeric>>("numeric", "1") == numeric(1));
    CHECK_FALSE(read<std::optional<numeric>>("numeric", std::nullopt)->has_value());
    CHECK_THAT(error_of<numeric>("numeric", std::nullopt), Catch::Contains("uvdb::numeric"));
    CHECK_THAT(error_of<numeric>("text", "abc"),
               Catch::Contains("column \"v\" (text) holds \"abc\", which is not a valid numeric"));
    CHECK(text_of(*numeric::parse("1e2")) == "100");
    CHECK(text_of(numeric::negative_infinity()) == "-Infinity");
}

// ---- uuid, json -----------------------------------------------------------

TEST_CASE("uuid: PostgreSQL's input forms, canonical output", "[types][uuid]") {
    const std::string canon = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";
    for (const char* in :
         {"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
          "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", "a0eebc999c0b4ef8bb6d6bb9bd380a11",
          "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11", "{a0eebc999c0b4ef8bb6d6bb9bd380a11}"}) {
        INFO(in);
        auto u = uuid::parse(in);
        REQUIRE(u);
        CHECK(u->str() == canon);
    }
    for (const char* bad :
         {"", "{}", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",
          "-a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
          "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11", "a0eeb-c99-9c0b-4ef8-bb6d-6bb9bd380a11",
          "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}) {
        INFO(bad);
        CHECK_FALSE(uuid::parse(bad));
    }
    CHECK(uuid{}.str() == "00000000-0000-0000-0000-000000000000");
    std::mt19937_64 gen(12);
    for (int i = 0; i < 200; ++i) {
        uuid u;
        for (auto& b : u.bytes) b = static_cast<std::uint8_t>(gen());
        CHECK(uuid::parse(u.str()) == u);
        CHECK(read_ok<uuid>("uuid", text_of(u)) == u);
    }
    CHECK_THAT(error_of<uuid>("uuid", "nope"), Catch::Contains("not a valid uuid"));
}

TEST_CASE("json: the text, both ways", "[types][json]") {
    const uvdb::json j(R"({"a": [1, "x,\"y\""]})");
    CHECK(read_ok<uvdb::json>("jsonb", j.text()) == j);
    CHECK(text_of(j) == j.text());
    CHECK_THAT(error_of<uvdb::json>("json", std::nullopt), Catch::Contains("uvdb::json"));
}

// ---- interval -------------------------------------------------------------

TEST_CASE("interval: IntervalStyle postgres output", "[types][interval]") {
    struct sample {
        const char* text;
        interval value;
    };
    const sample samples[] = {
        {"00:00:00", {0, 0, 0}},
        {"1 year 2 mons 3 days 04:05:06.789", {14, 3, 14'706'789'000}},
        {"-1 years -2 mons +3 days -04:05:06", {-14, 3, -14'706'000'000}},
        {"1 mon", {1, 0, 0}},
        {"-1 days", {0, -1, 0}},
        {"-00:00:00.000001", {0, 0, -1}},
        {"2562047788:00:54.775807", {0, 0, std::numeric_limits<std::int64_t>::max()}},
        {"-2562047788:00:54.775808", {0, 0, std::numeric_limits<std::int64_t>::min()}},
        {"178956970 years 7 mons", {std::numeric_limits<std::int32_t>::max(), 0, 0}},
        {"infinity", interval::infinity()},
        {"-infinity", interval::negative_infinity()},
    };
    for (const auto& s : samples) {
        INFO(s.text);
        auto iv = interval::parse(s.text);
        REQUIRE(iv);
        CHECK(*iv == s.value);
        // What uvdb sends reads back the same (the server reads it too: pg test).
        CHECK(interval::parse(s.value.str()) == s.value);
    }
    CHECK(interval{-1, 2, -3'000'001}.str() == "-1 mons 2 days -00:00:03.000001");
    for (const char* other :
         {"", "P1Y2M3DT4H5M6S", "1-2 3 4:05:06", "@ 1 year 2 mons", "1 fortnight", "3",
          "1 day 1 day x", "00:60:00", "1:2:3", "178956971 years"}) {
        INFO(other);
        CHECK_FALSE(interval::parse(other));
    }
    CHECK_THAT(error_of<interval>("interval", "P1Y"), Catch::Contains("IntervalStyle"));
}

TEST_CASE("time and day-free intervals as std::chrono durations", "[types][chrono]") {
    CHECK(read_ok<microseconds>("time", "00:00:00") == 0us);
    CHECK(read_ok<microseconds>("time", "23:59:59.999999") == 86'399'999'999us);
    CHECK(read_ok<microseconds>("time", "24:00:00") == 24h);
    CHECK(read_ok<seconds>("time", "12:30:00") == 12h + 30min);
    CHECK(read_ok<nanoseconds>("interval", "-00:00:01.5") == -1500ms);
    CHECK_THAT(error_of<seconds>("time", "12:30:00.5"), Catch::Contains("finer duration"));
    CHECK_THAT(error_of<microseconds>("interval", "1 day"), Catch::Contains("uvdb::interval"));
    using us32 = std::chrono::duration<std::int32_t, std::micro>;
    CHECK_THAT(error_of<us32>("interval", "01:00:00"), Catch::Contains("does not fit"));
    CHECK(text_of(12h + 30min + 1us) == "12:30:00.000001");
    CHECK(text_of(-90s) == "-00:01:30");
    CHECK(text_of(100h) == "100:00:00");
    CHECK(text_of(microseconds::min()) == "-2562047788:00:54.775808");
}

// ---- dates and timestamps --------------------------------------------------

TEST_CASE("date: sys_days and year_month_day, BC, leap days, infinity", "[types][chrono]") {
    CHECK(read_ok<sys_days>("date", "1970-01-01") == sys_days{});
    CHECK(read_ok<sys_days>("date", "2024-02-29") == sys_days{2024y / February / 29});
    CHECK(read_ok<sys_days>("date", "1969-12-31") == sys_days{} - days{1});
    CHECK(read_ok<sys_days>("date", "0001-01-01") == sys_days{year{1} / 1 / 1});
    CHECK(read_ok<sys_days>("date", "0001-12-31 BC") == sys_days{year{0} / 12 / 31});
    CHECK(read_ok<sys_days>("date", "0044-03-15 BC") == sys_days{year{-43} / 3 / 15});
    CHECK(read_ok<sys_days>("date", "4713-11-24 BC") == sys_days{year{-4712} / 11 / 24});
    CHECK(read_ok<year_month_day>("date", "0005-02-29 BC") == year{-4} / 2 / 29);
    CHECK(read_ok<sys_days>("date", "infinity") == sys_days::max());
    CHECK(read_ok<sys_days>("date", "-infinity") == sys_days::min());
    // PostgreSQL's largest date is beyond year_month_day but not sys_days.
    const sys_days far = read_ok<sys_days>("date", "5874897-12-31");
    CHECK(far.time_since_epoch().count() == 2'145'042'905);  // '5874897-12-31'::date - '1970-01-01'
    CHECK_THAT(error_of<year_month_day>("date", "5874897-12-31"), Catch::Contains("does not fit"));
    CHECK_THAT(error_of<year_month_day>("date", "infinity"), Catch::Contains("does not fit"));
    CHECK_THAT(error_of<sys_days>("date", "2023-02-29"), Catch::Contains("DateStyle ISO"));
    CHECK_THAT(error_of<sys_days>("date", "0000-01-01 BC"), Catch::Contains("DateStyle"));
    CHECK_THAT(error_of<sys_days>("date", "12/31/2024"),
               Catch::Contains("column \"v\" (date) holds \"12/31/2024\", which is not a valid "
                               "std::chrono::sys_days; uvdb reads dates and times"));
    CHECK_THAT(error_of<sys_days>("timestamp", "2024-01-01 00:00:01"),
               Catch::Contains("finer duration"));
    CHECK(text_of(sys_days{2024y / February / 29}) == "2024-02-29");
    CHECK(text_of(sys_days{year{-43} / 3 / 15}) == "0044-03-15 BC");
    CHECK(text_of(sys_days::max()) == "infinity");
    CHECK(text_of(year{0} / 1 / 1) == "0001-01-01 BC");
    CHECK(text_of(year{12345} / 6 / 7) == "12345-06-07");
}

TEST_CASE("timestamp and timestamptz: offsets, fractions, BC, range", "[types][chrono]") {
    using us_time = sys_time<microseconds>;
    const us_time noon = sys_days{2024y / January / 1} + 12h;
    CHECK(read_ok<us_time>("timestamptz", "2024-01-01 12:00:00+00") == noon);
    CHECK(read_ok<us_time>("timestamptz", "2024-01-01 17:30:00.5+05:30") == noon + 500ms);
    CHECK(read_ok<us_time>("timestamptz", "2024-01-01 09:00:00-03") == noon);
    CHECK(read_ok<us_time>("timestamptz", "1900-01-01 00:19:32+00:19:32") ==
          sys_days{1900y / January / 1});
    CHECK(read_ok<us_time>("timestamptz", "2024-01-01 01:00:00+02") ==
          sys_days{2023y / December / 31} + 23h);
    CHECK(read_ok<us_time>("timestamp", "2024-01-01 12:00:00") == noon);  // UTC wall clock
    CHECK(read_ok<us_time>("timestamp", "2000-02-29 23:59:59.999999") ==
          sys_days{2000y / February / 29} + 86'399'999'999us);
    CHECK(read_ok<us_time>("timestamptz", "0044-03-15 12:00:00+00 BC") ==
          sys_days{year{-43} / 3 / 15} + 12h);
    CHECK(read_ok<us_time>("timestamp", "infinity") == us_time::max());
    CHECK(read_ok<sys_seconds>("timestamp", "-infinity") == sys_seconds::min());
    CHECK(read_ok<sys_days>("timestamptz", "2024-01-01 05:30:00+05:30") ==
          sys_days{2024y / January / 1});
    CHECK(read_ok<sys_time<nanoseconds>>("timestamp", "2200-01-01 00:00:00.000001") ==
          sys_days{2200y / January / 1} + 1us);
    CHECK_THAT(error_of<sys_seconds>("timestamptz", "2024-01-01 12:00:00.5+00"),
               Catch::Contains("does not fit std::chrono::sys_seconds without dropping"));
    CHECK_THAT(error_of<sys_time<nanoseconds>>("timestamp", "2300-01-01 00:00:00"),
               Catch::Contains("does not fit std::chrono::sys_time<std::chrono::nanoseconds>"));
    // PostgreSQL's last timestamps are past sys_time<microseconds>'s end.
    CHECK_THAT(error_of<us_time>("timestamp", "294276-12-31 23:59:59.999999"),
               Catch::Contains("does not fit"));
    for (const char* bad :
         {"2024-01-01 12:00", "2024-1-01 12:00:00", "2024-01-01 25:00:00", "2024-01-01 24:00:01",
          "2024-01-01 12:00:00+", "2024-01-01 12:00:00 PST", "Mon Jan 01 12:00:00 2024 PST",
          "01.01.2024 12:00:00", "2024-13-01", "2024-01-01 12:00:00.",
          "2024-01-01 12:00:00.1234567890", "BC"}) {
        INFO(bad);
        CHECK_THAT(error_of<us_time>("timestamptz", std::string(bad)),
                   Catch::Contains("DateStyle ISO"));
    }
    CHECK(text_of(noon + 500ms) == "2024-01-01 12:00:00.5+00:00");
    CHECK(text_of(sys_days{year{-43} / 3 / 15} + 1us) == "0044-03-15 00:00:00.000001+00:00 BC");
    CHECK(text_of(sys_time<nanoseconds>{} - 1ns) == "1969-12-31 23:59:59.999999999+00:00");
    CHECK(text_of(us_time::min()) == "-infinity");
}

TEST_CASE("timestamps round trip through their text over the whole range", "[types][chrono]") {
    // Generated microsecond instants from 4713 BC to 294246 AD.
    std::mt19937_64 gen(1234);
    const std::int64_t lo = -210'866'803'200'000'000;  // 4714-11-24 BC, PostgreSQL's first
    const std::int64_t hi = 9'223'000'000'000'000'000;
    std::uniform_int_distribution<std::int64_t> dist(lo, hi);
    for (int i = 0; i < 20000; ++i) {
        const sys_time<microseconds> t{microseconds{i < 10 ? lo + i : dist(gen)}};
        const std::string s = text_of(t);
        INFO(s);
        REQUIRE(read_ok<sys_time<microseconds>>("timestamptz", s) == t);
    }
    for (std::int64_t d = -2'000'000; d < 2'000'000; d += 997) {
        const sys_days day{days{d}};
        REQUIRE(read_ok<sys_days>("date", text_of(day)) == day);
        const year_month_day ymd{day};
        if (ymd.ok()) REQUIRE(text_of(ymd) == text_of(day));
    }
}

// ---- arrays ------------------------------------------------------------------

TEST_CASE("arrays: PostgreSQL's array text, NULLs, quoting", "[types][array]") {
    using strings = std::vector<std::optional<std::string>>;
    CHECK(read_ok<std::vector<int>>("_int4", "{}").empty());
    CHECK(read_ok<std::vector<int>>("_int4", "{1,-2,3}") == std::vector<int>{1, -2, 3});
    CHECK(read_ok<std::vector<std::optional<int>>>("_int4", "{1,NULL,3}") ==
          std::vector<std::optional<int>>{1, std::nullopt, 3});
    CHECK(read_ok<strings>("_text", R"({"a,b","say \"hi\"","back\\slash","{}",NULL,"NULL",null,"",)"
                                    R"( spaced out ,x\,y})") ==
          strings{"a,b", "say \"hi\"", "back\\slash", "{}", std::nullopt, "NULL", std::nullopt, "",
                  "spaced out", "x,y"});
    CHECK(read_ok<std::vector<bool>>("_bool", "{t,f}") == std::vector<bool>{true, false});
    CHECK(read_ok<std::vector<double>>("_float8", "{NaN,Infinity,-1.5}")[2] == -1.5);
    CHECK(read_ok<std::vector<uvdb::bytes>>("_bytea", R"({"\\x00ff"})")[0].data.size() == 2);
    CHECK(read_ok<std::vector<sys_days>>("_date", "{2024-02-29,infinity}") ==
          std::vector<sys_days>{sys_days{2024y / February / 29}, sys_days::max()});
    CHECK(read_ok<std::vector<numeric>>("_numeric", "{1.50,NaN}")[0].str() == "1.50");

    CHECK_THAT(error_of<std::vector<int>>("_int4", "{1,NULL}"),
               Catch::Contains("column \"v\" (_int4) holds a NULL element at index 2; read it as "
                               "std::vector<std::optional<int>>"));
    CHECK_THAT(error_of<std::vector<int>>("_int4", "{1,x}"),
               Catch::Contains("column \"v[2]\" (_int4) holds \"x\", which is not a valid int32"));
    CHECK_THAT(error_of<std::vector<int>>("_int4", "{{1,2},{3,4}}"),
               Catch::Contains("one-dimensional arrays only"));
    CHECK_THAT(error_of<std::vector<int>>("_int4", "[0:1]={1,2}"), Catch::Contains("lower bound"));
    for (const char* bad :
         {"", "{", "}", "{1,}", "{,1}", "{1 2", "{\"a}", "{a\"b}", "{1}x", "1,2", "{\\}"}) {
        INFO(bad);
        CHECK_FALSE(read<std::vector<std::optional<std::string>>>("_text", std::string(bad)).ok());
    }
}

TEST_CASE("arrays: parameters are array text that reads back the same", "[types][array]") {
    const std::vector<std::optional<std::string>> nasty{
        "a,b", "\"", "\\", "{x}", "NULL", std::nullopt, "", " lead", "tail ", "é"};
    const std::string t = text_of(nasty);
    CHECK(t == R"({"a,b","\"","\\","{x}","NULL",NULL,""," lead","tail ","é"})");
    CHECK(read_ok<std::vector<std::optional<std::string>>>("_text", t) == nasty);
    CHECK(text_of(std::vector<int>{}) == "{}");
    CHECK(text_of(std::vector<bool>{true, false}) == R"({"t","f"})");
    CHECK(text_of(std::vector<double>{0.1, -HUGE_VAL}) == R"({"0.1","-Infinity"})");
    CHECK(text_of(std::vector<uvdb::bytes>{uvdb::bytes("\x01\xff", 2)}) == R"({"\\x01ff"})");
    const std::vector<sys_time<microseconds>> ts{sys_days{2024y / January / 1} + 1us,
                                                 sys_time<microseconds>::max()};
    CHECK(read_ok<std::vector<sys_time<microseconds>>>("_timestamptz", text_of(ts)) == ts);
    const std::vector<interval> ivs{{1, -2, 3}, interval::infinity()};
    CHECK(read_ok<std::vector<interval>>("_interval", text_of(ivs)) == ivs);
    const std::vector<uvdb::json> js{uvdb::json(R"({"k": "v,\"w\""})")};
    CHECK(read_ok<std::vector<uvdb::json>>("_jsonb", text_of(js)) == js);
}

// ---- a user type ----------------------------------------------------------------

namespace shop {
/// Cents, stored as numeric text with two decimals (the example in <uvdb/types.hpp>).
struct money {
    std::int64_t cents = 0;
    friend bool operator==(const money&, const money&) = default;
};
}  // namespace shop

template <>
struct uvdb::param_traits<shop::money> {
    static uvdb::param to_param(const shop::money& m) {
        const std::int64_t a = m.cents < 0 ? -m.cents : m.cents;
        std::string frac = std::to_string(a % 100);
        if (frac.size() < 2) frac.insert(0, "0");
        return uvdb::param((m.cents < 0 ? "-" : "") + std::to_string(a / 100) + "." + frac);
    }
};

template <>
struct uvdb::value_traits<shop::money> {
    static uvdb::result<shop::money> convert(const uvdb::result_source& src, std::size_t row,
                                             std::size_t col) {
        if (src.is_null(row, col)) return uvdb::detail::null_value_error(src, col, "shop::money");
        const std::string_view t = src.text(row, col);
        auto n = uvdb::numeric::parse(t);
        const auto point = t.find('.');
        if (!n || n->is_nan() || n->is_infinite() || point == std::string_view::npos ||
            t.size() - point != 3)
            return uvdb::detail::invalid_value_error(src, row, col, "shop::money");
        std::string digits(t.substr(0, point));
        digits += t.substr(point + 1);
        return shop::money{std::stoll(digits)};
    }
};

TEST_CASE("a user type through param_traits and value_traits", "[types][user]") {
    CHECK(text_of(shop::money{-1205}) == "-12.05");
    CHECK(read_ok<shop::money>("numeric", "-12.05") == shop::money{-1205});
    CHECK(read_ok<std::optional<shop::money>>("numeric", "0.10") == shop::money{10});
    CHECK(read_ok<std::vector<shop::money>>("_numeric", "{1.00,2.50}") ==
          std::vector<shop::money>{{100}, {250}});
    CHECK_THAT(error_of<shop::money>("numeric", "1.5"), Catch::Contains("not a valid shop::money"));
    auto p = uvdb::make_params(shop::money{1}, std::optional<shop::money>{});
    CHECK(p[0].as_text() == "0.01");
    CHECK(p[1].is_null());
}
