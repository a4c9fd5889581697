// connection::query_group on the real server (docs/DRIVERS.md, "Groups"):
// the members go out as one pipeline Sync group, so they share one implicit
// transaction; the first failure undoes the members before it and skips the
// rest (errc::not_run); a skipped Parse leaves nothing in the statement
// cache; a member that cannot be pipelined makes the group run one by one
// with the same outcome; a timed member times out alone.

#include <catch2/catch.hpp>
#include <string>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/param.hpp>
#include <vector>

#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

namespace {

struct member {
    std::string sql;
    uvdb::params args;
};

/// Runs `members` as one group and returns each result, in order.
std::vector<uvdb::result<uvdb::result_set>> run_group(
    uvdb::event_loop& loop, uvdb::connection& c, std::vector<member> members,
    std::chrono::milliseconds timeout = std::chrono::milliseconds{-1}) {
    std::vector<t::query_slot> slots;
    std::vector<uvdb::connection::group_member> group;
    for (auto& m : members) {
        slots.push_back(t::make_query_slot());
        group.push_back({m.sql, std::move(m.args), t::store_in(slots.back())});
    }
    uvdb::query_options o;
    o.timeout = timeout;
    c.query_group(std::move(group), o);
    t::wait_all(loop, slots, 30s, "every member answered");
    std::vector<uvdb::result<uvdb::result_set>> out;
    for (auto& s : slots) out.push_back(std::move(**s));
    return out;
}

int count_rows(uvdb::event_loop& loop, uvdb::connection& c, const std::string& table) {
    return t::scalar<int>(loop, c, "SELECT count(*)::int FROM " + table);
}

}  // namespace

TEST_CASE("a group is one Sync group: a failure undoes the members before it, skips the rest",
          "[pg][group]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::execute_sync(loop, *conn, "CREATE TEMP TABLE g (n int)").ok());
    auto r = run_group(loop, *conn,
                       {{"INSERT INTO g VALUES (1)", {}},
                        {"INSERT INTO g VALUES (1 / ($1::int - $1::int))", {3}},
                        {"INSERT INTO g VALUES (3)", {}},
                        {"SELECT count(*)::int FROM g", {}}});
    CHECK(r[0].ok());
    REQUIRE_FALSE(r[1].ok());
    CHECK(r[1].err().sqlstate() == "22012");
    for (std::size_t i : {2u, 3u}) {
        REQUIRE_FALSE(r[i].ok());
        CHECK(r[i].err().value() == errc::not_run);
        CHECK_FALSE(r[i].err().is_fatal());
    }
    // Separate Syncs would have kept the first INSERT: the group's implicit
    // transaction was rolled back with its failure.
    CHECK(count_rows(loop, *conn, "g") == 0);
    CHECK(conn->transaction_status() == uvdb::tx_status::idle);

    // Without a failure everything is kept, and the connection is fine.
    auto ok = run_group(loop, *conn,
                        {{"INSERT INTO g VALUES (1)", {}}, {"INSERT INTO g VALUES (2)", {}}});
    CHECK(ok[0].ok());
    CHECK(ok[1].ok());
    CHECK(count_rows(loop, *conn, "g") == 2);
}

TEST_CASE("a group larger than the pipeline depth comes back whole and in order", "[pg][group]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(conn->pipeline_depth() < 200);
    std::vector<member> members;
    for (int i = 0; i < 200; ++i) members.push_back({"SELECT $1::int * 2", uvdb::params(i)});
    auto r = run_group(loop, *conn, std::move(members));
    REQUIRE(r.size() == 200);
    for (int i = 0; i < 200; ++i) {
        if (!r[i]) t::fail_with("member", r[i].err());
        CHECK(r[i]->value<int>() == i * 2);
    }
    CHECK(conn->is_idle());
}

TEST_CASE("a Parse the group skipped leaves nothing in the statement cache", "[pg][group][cache]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto r = run_group(loop, *conn,
                       {{"SELECT 1 / ($1::int - $1::int)", {1}},
                        {"SELECT $1::int * 7 /* new text: parsed in the group */", {6}}});
    REQUIRE_FALSE(r[1].ok());
    CHECK(r[1].err().value() == errc::not_run);
    // Inside a transaction a stale cached name would fail (26000) instead of
    // being prepared again: the statement must be prepared afresh.
    REQUIRE(t::query_sync(loop, *conn, "BEGIN").ok());
    CHECK(t::scalar<int>(loop, *conn, "SELECT $1::int * 7 /* new text: parsed in the group */",
                         uvdb::params(6)) == 42);
    REQUIRE(t::query_sync(loop, *conn, "COMMIT").ok());
}

TEST_CASE("a group with a member that cannot be pipelined runs one by one, same outcome",
          "[pg][group]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto r = run_group(loop, *conn,
                       {{"SELECT 1 / ($1::int - $1::int)", {1}},
                        {"SET application_name = 'uvdb_group_test'", {}},
                        {"SELECT 2", {}}});
    REQUIRE_FALSE(r[0].ok());
    CHECK(r[0].err().sqlstate() == "22012");
    CHECK(r[1].err().value() == errc::not_run);
    CHECK(r[2].err().value() == errc::not_run);
    CHECK(t::scalar<std::string>(loop, *conn, "SHOW application_name") != "uvdb_group_test");
}

TEST_CASE("a timed member of a group times out on the server, the rest is skipped",
          "[pg][group][timeout]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto r = run_group(loop, *conn,
                       {{"SELECT 1", {}}, {"SELECT pg_sleep(5)", {}}, {"SELECT 2", {}}}, 200ms);
    CHECK(r[0].ok());
    REQUIRE_FALSE(r[1].ok());
    CHECK(r[1].err().value() == errc::timeout);
    CHECK(r[2].err().value() == errc::not_run);
    CHECK_FALSE(conn->is_broken());
    CHECK(t::scalar<int>(loop, *conn, "SELECT 3") == 3);
}
