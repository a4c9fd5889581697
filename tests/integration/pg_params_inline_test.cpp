// uvdb::params against the server: values held inline and values spilled to
// the heap bind the same, at the edges of the inline budget too, and through
// the pool's queue (where the parameters are moved while they wait).

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <uvdb/event_loop.hpp>
#include <uvdb/param.hpp>
#include <uvdb/pool.hpp>

#include "integration/pool_pg_support.hpp"
#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
namespace t = uvdb::test;

namespace {

const uvdb::bytes blob("\x00\x01\xfe\xff", 4);

}  // namespace

TEST_CASE("every kind in one statement: inline and spilled params bind the same",
          "[pg][params][inline]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    const char* sql =
        "SELECT $1::int2, $2::int4, $3::int8, $4::float8, $5::bool, $6::text, $7::bytea, "
        "$8::int4 IS NULL";
    // Eight values: all inline.
    uvdb::params small(std::int16_t{-2}, 3, std::int64_t{1} << 40, 2.25, true, "text", blob,
                       nullptr);
    REQUIRE_FALSE(small.spilled());
    // The same eight after a spilled ninth and tenth (a 1 MB text, an empty bytea): the first
    // eight are read from the heap.
    uvdb::params big = small;
    std::string huge(1 << 20, 'm');
    // append, not operator+: GCC 12 warns falsely on the latter (-Warray-bounds).
    huge.append("end");
    big.push_back(huge);
    big.push_back(uvdb::bytes());
    big.push_back(std::string());
    REQUIRE(big.spilled());
    std::string big_sql(sql);
    big_sql.append(
        ", octet_length($9::text), right($9::text, 3), octet_length($10::bytea), "
        "$10::bytea IS NULL, $11::text IS NULL, octet_length($11::text)");
    for (auto* p : {&small, &big}) {
        const bool spilled = p == &big;
        INFO((spilled ? "spilled" : "inline"));
        auto r = t::query_sync(loop, *conn, spilled ? big_sql : std::string(sql), *p);
        if (!r) t::fail_with("the statement", r.err());
        const auto row = r->at(0);
        CHECK(row.get<int>(0) == -2);
        CHECK(row.get<int>(1) == 3);
        CHECK(row.get<std::int64_t>(2) == std::int64_t{1} << 40);
        CHECK(row.get<double>(3) == 2.25);
        CHECK(row.get<bool>(4));
        CHECK(row.get<std::string>(5) == "text");
        CHECK(row.get<uvdb::bytes>(6) == blob);
        CHECK(row.get<bool>(7));
        if (spilled) {
            CHECK(row.get<int>(8) == (1 << 20) + 3);
            CHECK(row.get<std::string>(9) == "end");
            CHECK(row.get<int>(10) == 0);    // empty bytea…
            CHECK_FALSE(row.get<bool>(11));  // …is not NULL
            CHECK_FALSE(row.get<bool>(12));  // nor is empty text
            CHECK(row.get<int>(13) == 0);
        }
    }
}

TEST_CASE("text that exactly fills the inline bytes, and one byte more", "[pg][params][inline]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    const std::string exact(uvdb::params::inline_bytes - 1, 'z');  // + its NUL
    for (const std::string& s : {exact, exact + "!"}) {
        uvdb::params p(s);
        CHECK(p.spilled() == (s.size() > exact.size()));
        auto r = t::query_sync(loop, *conn, "SELECT $1::text, octet_length($1::text)", p);
        if (!r) t::fail_with("the statement", r.err());
        CHECK(r->at(0).get<std::string>(0) == s);
        CHECK(r->at(0).get<std::size_t>(1) == s.size());
    }
}

TEST_CASE("text with a NUL among inline params is bad_input naming it", "[pg][params][inline]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto r = t::query_sync(loop, *conn, "SELECT $1::int, $2::text",
                           uvdb::params(1, std::string("a\0b", 3)));
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().value() == uvdb::errc::bad_input);
    CHECK(r.err().message().find("$2") != std::string::npos);
    CHECK(t::scalar<int>(loop, *conn, "SELECT $1::int", uvdb::params(5)) == 5);
}

TEST_CASE("params waiting in the pool's queue arrive intact", "[pg][params][inline][pool]") {
    uvdb::event_loop loop;
    uvdb::pool db(loop, t::pg_driver(), t::pool_test_options(1, 0));
    // One connection, twenty statements at once: nineteen wait with their
    // parameters moved into the pool's records, inline or spilled.
    const int n = 20;
    auto got = std::make_shared<std::vector<std::string>>(n);
    int done = 0;
    for (int i = 0; i < n; ++i) {
        std::string text =
            i % 2 == 0 ? "short" + std::to_string(i) : std::string(500, 'L') + std::to_string(i);
        db.query("SELECT $1::int || ':' || $2::text || ':' || $3::text", uvdb::params(i, text, "x"),
                 [got, i, &done](uvdb::result<uvdb::result_set> r) {
                     (*got)[static_cast<std::size_t>(i)] =
                         r ? r->value<std::string>() : t::describe(r.err());
                     ++done;
                 });
    }
    t::run_until(
        loop, [&] { return done == n; }, 30s, "the queued statements");
    for (int i = 0; i < n; ++i) {
        const std::string text =
            i % 2 == 0 ? "short" + std::to_string(i) : std::string(500, 'L') + std::to_string(i);
        CHECK((*got)[static_cast<std::size_t>(i)] == std::to_string(i) + ":" + text + ":x");
    }
}
