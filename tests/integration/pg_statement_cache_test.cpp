// The PostgreSQL driver's prepared-statement cache, against the real server:
// a statement is parsed once per connection and then only bound and executed;
// a failed Parse, a changed table, DISCARD ALL, a full cache and a switched-off
// cache all behave as a user expects. What the server holds is read from
// pg_prepared_statements through execute() (simple protocol, never cached).

#include <catch2/catch.hpp>
#include <string>
#include <uvdb/event_loop.hpp>
#include <uvdb/param.hpp>
#include <vector>

#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
namespace t = uvdb::test;

namespace {

struct prepared {
    std::string name;
    std::string statement;
    long long runs = 0;  // generic_plans + custom_plans: executions of the statement
};

struct fixture {
    uvdb::event_loop loop;
    std::unique_ptr<uvdb::connection> conn;

    explicit fixture(const std::string& url_suffix = {}) {
        auto opts = t::test_options();
        opts.url += url_suffix;
        conn = t::connect_or_fail(loop, opts);
    }

    uvdb::result<uvdb::result_set> q(std::string_view sql, uvdb::params p = {}) {
        return t::query_sync(loop, *conn, sql, std::move(p));
    }

    int int_of(std::string_view sql, uvdb::params p = {}) {
        auto r = q(sql, std::move(p));
        if (!r) t::fail_with(sql, r.err());
        return r->value<int>();
    }

    void script(std::string_view sql) {
        auto r = t::execute_sync(loop, *conn, sql);
        if (!r) t::fail_with(sql, r.err());
    }

    /// The server's view of this session's prepared statements, by statement text.
    std::vector<prepared> on_server() {
        auto r = t::execute_sync(loop, *conn,
                                 "SELECT name, statement, generic_plans + custom_plans "
                                 "FROM pg_prepared_statements ORDER BY statement");
        if (!r) t::fail_with("pg_prepared_statements", r.err());
        std::vector<prepared> out;
        const auto& rs = r->at(0);
        for (std::size_t i = 0; i < rs.size(); ++i) {
            out.push_back({std::string(rs[i].text(0)), std::string(rs[i].text(1)),
                           std::stoll(std::string(rs[i].text(2)))});
        }
        return out;
    }

    const prepared* find(const std::vector<prepared>& all, std::string_view statement) {
        for (const auto& p : all) {
            if (p.statement == statement) return &p;
        }
        return nullptr;
    }
};

}  // namespace

TEST_CASE("statement cache: a repeated statement is prepared once and executed many times",
          "[pg][statement_cache]") {
    fixture f;
    for (int k = 0; k < 5; ++k)
        CHECK(f.int_of("SELECT $1::int + 1", uvdb::make_params(k)) == k + 1);
    const auto all = f.on_server();
    const prepared* p = f.find(all, "SELECT $1::int + 1");
    REQUIRE(p != nullptr);
    CHECK(p->name.rfind("uvdb_s", 0) == 0);
    CHECK(p->runs == 5);  // one Parse, five executions
    CHECK(all.size() == 1);
}

TEST_CASE(
    "statement cache: a statement the server cannot parse fails with its own error and is not kept",
    "[pg][statement_cache]") {
    fixture f;
    auto bad = f.q("SELEC 1");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.err().value() == uvdb::errc::server_error);
    CHECK(bad.err().sqlstate() == "42601");
    CHECK(t::contains(bad.err().server_message(), "syntax error"));
    CHECK_FALSE(bad.err().is_fatal());

    auto missing = f.q("SELECT * FROM no_such_table_here");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.err().sqlstate() == "42P01");

    CHECK(f.int_of("SELECT 41 + 1") == 42);  // the connection is fine
    CHECK(f.int_of("SELECT 41 + 1") == 42);
    const auto all = f.on_server();
    CHECK(f.find(all, "SELEC 1") == nullptr);
    CHECK(f.find(all, "SELECT * FROM no_such_table_here") == nullptr);
    REQUIRE(f.find(all, "SELECT 41 + 1") != nullptr);
    CHECK(f.find(all, "SELECT 41 + 1")->runs == 2);
}

TEST_CASE("statement cache: COPY is never prepared, also behind white space and comments",
          "[pg][statement_cache]") {
    fixture f;
    f.script("CREATE TEMP TABLE c (v int)");
    const char* copies[] = {"COPY c FROM STDIN", "  COPY c TO STDOUT", "-- load\nCOPY c FROM STDIN",
                            "/* a /* nested */ comment */ COPY c TO STDOUT"};
    for (const char* sql : copies) {
        INFO(sql);
        auto r = f.q(sql);
        REQUIRE_FALSE(r.ok());
        CHECK(r.err().value() == uvdb::errc::bad_input);
        REQUIRE_FALSE(f.conn->is_broken());
    }
    CHECK(f.int_of("SELECT 1") == 1);
    const auto all = f.on_server();
    for (const char* sql : copies) CHECK(f.find(all, sql) == nullptr);
}

TEST_CASE("statement cache: an error while executing keeps the statement prepared",
          "[pg][statement_cache]") {
    fixture f;
    auto r = f.q("SELECT 1 / $1::int", uvdb::make_params(0));
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().sqlstate() == "22012");
    CHECK(f.int_of("SELECT 1 / $1::int", uvdb::make_params(1)) == 1);
    const auto all = f.on_server();
    REQUIRE(f.find(all, "SELECT 1 / $1::int") != nullptr);
}

TEST_CASE("statement cache: statement_cache_size=0 in the URL switches it off",
          "[pg][statement_cache]") {
    fixture f("&statement_cache_size=0");
    for (int k = 0; k < 3; ++k)
        CHECK(f.int_of("SELECT $1::int + 1", uvdb::make_params(k)) == k + 1);
    CHECK(f.on_server().empty());
}

TEST_CASE(
    "statement cache: a full cache evicts the least recently used statement and deallocates it",
    "[pg][statement_cache]") {
    fixture f("&statement_cache_size=2");
    CHECK(f.int_of("SELECT 1") == 1);
    CHECK(f.int_of("SELECT 2") == 2);
    CHECK(f.int_of("SELECT 1") == 1);  // "SELECT 2" is now the least recently used
    CHECK(f.int_of("SELECT 3") == 3);  // evicts it; DEALLOCATE goes with this statement
    auto all = f.on_server();
    CHECK(all.size() == 2);
    CHECK(f.find(all, "SELECT 1") != nullptr);
    CHECK(f.find(all, "SELECT 2") == nullptr);
    CHECK(f.find(all, "SELECT 3") != nullptr);
    CHECK(f.int_of("SELECT 2") == 2);  // prepared again, evicting "SELECT 1"
    all = f.on_server();
    CHECK(all.size() == 2);
    CHECK(f.find(all, "SELECT 1") == nullptr);
}

TEST_CASE(
    "statement cache: a table that changed its columns is re-prepared without the caller seeing "
    "0A000",
    "[pg][statement_cache]") {
    fixture f;
    f.script("CREATE TEMP TABLE sc_t (a int); INSERT INTO sc_t VALUES (7)");
    auto before = f.q("SELECT * FROM sc_t");
    REQUIRE(before.ok());
    CHECK(before->columns() == 1);
    f.script("ALTER TABLE sc_t ADD COLUMN b int");
    // The server answers the stale statement with 0A000 ("cached plan must not
    // change result type"); outside a transaction the driver prepares it again.
    auto after = f.q("SELECT * FROM sc_t");
    if (!after) t::fail_with("SELECT after ALTER", after.err());
    CHECK(after->columns() == 2);
    CHECK(after->value<int>() == 7);
    // The stale statement was deallocated: one statement for this text.
    int same_text = 0;
    for (const auto& p : f.on_server()) same_text += p.statement == "SELECT * FROM sc_t" ? 1 : 0;
    CHECK(same_text == 1);
}

TEST_CASE("statement cache: inside a transaction a changed table fails with 0A000 once, then works",
          "[pg][statement_cache]") {
    fixture f;
    f.script("CREATE TEMP TABLE sc_u (a int); INSERT INTO sc_u VALUES (3)");
    REQUIRE(f.q("SELECT * FROM sc_u").ok());
    f.script("ALTER TABLE sc_u ADD COLUMN b int");
    REQUIRE(f.q("BEGIN").ok());
    auto stale = f.q("SELECT * FROM sc_u");
    REQUIRE_FALSE(stale.ok());  // the transaction is aborted: running it again would hide that
    CHECK(stale.err().sqlstate() == "0A000");
    CHECK(t::contains(stale.err().server_message(), "cached plan must not change result type"));
    REQUIRE(f.q("ROLLBACK").ok());
    auto after = f.q("SELECT * FROM sc_u");
    if (!after) t::fail_with("SELECT after ROLLBACK", after.err());
    CHECK(after->columns() == 2);
}

TEST_CASE("statement cache: DISCARD ALL and DEALLOCATE ALL empty it; statements keep working",
          "[pg][statement_cache]") {
    fixture f;
    CHECK(f.int_of("SELECT 5") == 5);
    f.script("DISCARD ALL");
    CHECK(f.on_server().empty());
    CHECK(f.int_of("SELECT 5") == 5);      // prepared afresh, no "does not exist"
    auto dealloc = f.q("DEALLOCATE ALL");  // through query(): itself prepared, then gone
    if (!dealloc) t::fail_with("DEALLOCATE ALL", dealloc.err());
    CHECK(f.int_of("SELECT 5") == 5);
    CHECK(f.on_server().size() == 1);
}

TEST_CASE(
    "statement cache: a statement deallocated behind its back is prepared again (26000 not seen)",
    "[pg][statement_cache]") {
    fixture f;
    CHECK(f.int_of("SELECT 6") == 6);
    const auto all = f.on_server();
    REQUIRE(all.size() == 1);
    f.script("DEALLOCATE " + all[0].name);
    CHECK(f.int_of("SELECT 6") == 6);
    REQUIRE(f.on_server().size() == 1);
    CHECK(f.on_server()[0].name != all[0].name);
}

TEST_CASE("statement cache: the same text with other parameter types is prepared for those types",
          "[pg][statement_cache]") {
    fixture f;
    auto as_int = f.q("SELECT $1 AS v", uvdb::make_params(std::int64_t{12345678901}));
    REQUIRE(as_int.ok());
    CHECK(as_int->value<std::int64_t>() == 12345678901);
    auto as_text = f.q("SELECT $1 AS v", uvdb::make_params(std::string("hello")));
    REQUIRE(as_text.ok());
    CHECK(as_text->value<std::string>() == "hello");
    auto again = f.q("SELECT $1 AS v", uvdb::make_params(std::int64_t{-5}));
    REQUIRE(again.ok());
    CHECK(again->value<std::int64_t>() == -5);
}

TEST_CASE(
    "statement cache: inside a failed transaction the server's 25P02 comes back, then ROLLBACK "
    "heals",
    "[pg][statement_cache]") {
    fixture f;
    f.script("BEGIN");
    REQUIRE_FALSE(f.q("SELECT 1 / 0").ok());
    auto blocked = f.q("SELECT 8");
    REQUIRE_FALSE(blocked.ok());
    CHECK(blocked.err().sqlstate() == "25P02");
    REQUIRE(f.q("ROLLBACK").ok());
    CHECK(f.int_of("SELECT 8") == 8);
}

TEST_CASE("statement cache: a large result and notices arrive whole through a prepared statement",
          "[pg][statement_cache]") {
    fixture f;
    for (int round = 0; round < 2; ++round) {  // a miss, then a hit
        auto r = f.q("SELECT g, repeat('x', 1000) FROM generate_series(1, 2000) g");
        if (!r) t::fail_with("large result", r.err());
        CHECK(r->size() == 2000);
        CHECK(r->at(1999).get<int>(0) == 2000);
        auto n = f.q("DO $$ BEGIN RAISE NOTICE 'hello'; END $$");
        if (!n) t::fail_with("notice", n.err());
    }
}

TEST_CASE("statement cache: a bad statement_cache_size is refused before connecting",
          "[pg][statement_cache]") {
    uvdb::event_loop loop;
    auto opts = t::test_options();
    opts.url += "&statement_cache_size=lots";
    auto r = t::connect_sync(loop, opts);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().value() == uvdb::errc::bad_config);
    CHECK(t::contains(r.err().message(), "statement_cache_size must be a whole number"));
    CHECK(t::contains(r.err().message(), "\"lots\""));
    CHECK_FALSE(t::contains(r.err().message(), t::env().password));
}
