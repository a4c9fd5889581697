// The protocol's limit of 65,535 parameters: the largest statement works even
// while the server floods notices (no write/read deadlock), and one more
// parameter is refused cleanly before anything is sent.

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>

#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

namespace {

// "SELECT count(*), sum(x) FROM unnest(ARRAY[$1::int,…,$n::int]) AS x" and the values 1..n.
std::pair<std::string, uvdb::params> many_params(int n) {
    std::string sql = "SELECT count(*), sum(x) FROM unnest(ARRAY[";
    sql.reserve(static_cast<std::size_t>(n) * 12 + 64);
    uvdb::params ps;
    ps.reserve(static_cast<std::size_t>(n));
    for (int i = 1; i <= n; ++i) {
        if (i > 1) sql += ',';
        sql += '$';
        sql += std::to_string(i);
        sql += "::int";
        ps.emplace_back(i);
    }
    sql += "]) AS x";
    return {std::move(sql), std::move(ps)};
}

}  // namespace

TEST_CASE("65,535 parameters with client_min_messages = debug5", "[pg][params][large]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::query_sync(loop, *conn, "SET client_min_messages = debug5").ok());

    auto [sql, ps] = many_params(65535);
    auto r = t::query_sync(loop, *conn, sql, std::move(ps), {}, 120s);
    if (!r) t::fail_with("the 65,535-parameter statement", r.err());
    CHECK(r->at(0).get<std::int64_t>(0) == 65535);
    CHECK(r->at(0).get<std::int64_t>(1) == std::int64_t{65535} * 65536 / 2);

    REQUIRE(t::query_sync(loop, *conn, "RESET client_min_messages").ok());
    CHECK(t::scalar<int>(loop, *conn, "SELECT 1") == 1);
}

TEST_CASE("65,536 parameters: bad_input with a clear message, connection unharmed",
          "[pg][params][large]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto [sql, ps] = many_params(65536);

    auto got = t::make_query_slot();
    conn->query(sql, std::move(ps), t::store_in(got));
    CHECK_FALSE(got->has_value());  // never inline from query()
    t::run_until(
        loop, [&] { return got->has_value(); }, 30s, "the refused statement's callback");
    REQUIRE_FALSE(got->value().ok());
    const uvdb::error& e = got->value().err();
    INFO(t::describe(e));
    CHECK(e.value() == errc::bad_input);
    // Says what the limit is.
    CHECK((e.message().find("65535") != std::string::npos ||
           e.message().find("65,535") != std::string::npos));
    CHECK(e.message().find("param") != std::string::npos);
    CHECK_FALSE(e.is_fatal());
    CHECK_FALSE(conn->is_broken());
    CHECK(t::scalar<int>(loop, *conn, "SELECT 1") == 1);
}
