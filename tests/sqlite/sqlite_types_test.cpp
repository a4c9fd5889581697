// [sqlite] The C++ types of <uvdb/types.hpp> in SQLite, which has none of
// them: each is stored as the same text PostgreSQL reads (ISO-8601 for
// std::chrono, canonical uuid, decimal numeric, JSON text, PostgreSQL's
// array literal for std::vector) and reads back unchanged, so the same
// code and conformance checks run on both drivers. Use TEXT columns: a
// NUMERIC-affinity column would turn "1.50" into the REAL 1.5.

#include <chrono>
#include <cstdint>
#include <limits>

#include "sqlite_test_util.hpp"

using namespace uvdb;
using namespace uvdb::sqlite_test;
using namespace std::chrono;

TEST_CASE("sqlite: numeric, uuid, json, interval, chrono and arrays round trip as text",
          "[sqlite][types]") {
    event_loop loop;
    auto c = connect_ok(loop, "sqlite::memory:");
    must(loop, *c,
         "CREATE TABLE ty (n TEXT, u TEXT, j TEXT, iv TEXT, d TEXT, ts TEXT, tm TEXT, a TEXT, "
         "na TEXT, untyped)");
    const numeric n = *numeric::parse("-12345678901234567890.50");
    const uuid u = *uuid::parse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
    const json j(R"({"a": [1, "x"]})");
    const interval iv{-14, 3, -1};
    const sys_days d = sys_days{year{-43} / 3 / 15};
    const sys_time<microseconds> ts = sys_days{2024y / February / 29} + 12h + 1us;
    const microseconds tm = 23h + 59min + 1us;
    const std::vector<std::optional<std::string>> a{"a,b", std::nullopt, "\"q\"", "NULL"};
    const std::vector<numeric> na{numeric(1), numeric::nan()};
    must(loop, *c, "INSERT INTO ty VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
         make_params(n, u, j, iv, d, ts, tm, a, na, sys_time<microseconds>::max()));

    auto rs = must(loop, *c, "SELECT n, u, j, iv, d, ts, tm, a, na, untyped FROM ty");
    REQUIRE(rs.size() == 1);
    const auto r = rs[0];
    CHECK(r.get<numeric>("n") == n);
    CHECK(r.get<uuid>("u") == u);
    CHECK(r.get<json>("j") == j);
    CHECK(r.get<interval>("iv") == iv);
    CHECK(r.get<sys_days>("d") == d);
    CHECK(r.get<year_month_day>("d") == year{-43} / 3 / 15);
    CHECK(r.get<sys_time<microseconds>>("ts") == ts);
    CHECK(r.text(5) == "2024-02-29 12:00:00.000001+00:00");  // ISO-8601, UTC
    CHECK(r.get<microseconds>("tm") == tm);
    CHECK(r.get<std::vector<std::optional<std::string>>>("a") == a);
    CHECK(r.get<std::vector<numeric>>("na") == na);
    CHECK(r.get<sys_time<microseconds>>("untyped") == sys_time<microseconds>::max());
    // SQLite's own date functions read the stored timestamps.
    auto f = must(loop, *c, "SELECT strftime('%Y-%m-%d %H:%M:%S', ts) FROM ty");
    CHECK(f[0].get<std::string>(0) == "2024-02-29 12:00:00");
    auto now = must(loop, *c, "SELECT datetime('now'), date('2024-02-29', '+1 day')");
    CHECK(now[0].try_get<sys_seconds>(0).ok());
    CHECK(now[0].get<sys_days>(1) == sys_days{2024y / March / 1});
}

TEST_CASE("sqlite: conversion errors name the column and the types", "[sqlite][types]") {
    event_loop loop;
    auto c = connect_ok(loop, "sqlite::memory:");
    auto rs = must(loop, *c, "SELECT 'x' AS u, '1,2' AS arr, '12:00:00.5' AS tm, NULL AS n");
    const auto r = rs[0];
    auto e = r.try_get<uuid>("u");
    REQUIRE_FALSE(e.ok());
    CHECK(
        contains(e.err().message(), "column \"u\" (text) holds \"x\", which is not a valid uuid"));
    CHECK_FALSE(r.try_get<std::vector<int>>("arr").ok());
    auto s = r.try_get<seconds>("tm");
    REQUIRE_FALSE(s.ok());
    CHECK(contains(s.err().message(), "without dropping part of it"));
    CHECK_FALSE(r.get<std::optional<numeric>>("n").has_value());
}
