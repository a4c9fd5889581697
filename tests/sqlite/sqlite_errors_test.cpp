// [sqlite] Error mapping: constraint violations with SQLSTATE class 23, and a
// database file damaged under an open connection (fatal, and the pool
// replaces the connection).

#include <fstream>
#include <uvdb/pool.hpp>

#include "sqlite_test_util.hpp"

using namespace uvdb;
using namespace uvdb::sqlite_test;

TEST_CASE("sqlite: constraint violations carry SQLSTATE class 23 and the SQLite code", "[sqlite]") {
    temp_dir dir;
    event_loop loop;
    auto c = connect_ok(loop, dir.url("app.db", "?foreign_keys=on"));
    must(loop, *c,
         "CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, "
         "n INTEGER CHECK (n >= 0))");
    must(loop, *c, "CREATE TABLE child (pid INTEGER REFERENCES parent(id))");
    must(loop, *c, "INSERT INTO parent VALUES (1, 'a', 0)");
    struct violation {
        const char* sql;
        const char* sqlstate;
        const char* code;
    };
    const violation cases[] = {
        {"INSERT INTO parent VALUES (2, 'a', 0)", "23505", "SQLITE_CONSTRAINT_UNIQUE"},
        {"INSERT INTO parent VALUES (1, 'b', 0)", "23505", "SQLITE_CONSTRAINT_PRIMARYKEY"},
        {"INSERT INTO parent VALUES (3, NULL, 0)", "23502", "SQLITE_CONSTRAINT_NOTNULL"},
        {"INSERT INTO parent VALUES (4, 'd', -1)", "23514", "SQLITE_CONSTRAINT_CHECK"},
        {"INSERT INTO child VALUES (99)", "23503", "SQLITE_CONSTRAINT_FOREIGNKEY"},
    };
    for (const auto& v : cases) {
        auto r = query(loop, *c, v.sql);
        REQUIRE_FALSE(r.ok());
        const error& e = r.err();
        INFO(v.sql << " → " << e.to_string());
        CHECK(e.value() == errc::server_error);
        CHECK(e.sqlstate() == v.sqlstate);
        CHECK(contains(e.message(), v.code));
        CHECK_FALSE(e.server_message().empty());
        CHECK_FALSE(e.is_fatal());
    }
    CHECK(sqlstate_name("23505") == "unique_violation");
    CHECK(must(loop, *c, "SELECT count(*) FROM parent").value<int>() == 1);
    CHECK(c->is_ready());
}

TEST_CASE("sqlite: a database file damaged under an open connection is a fatal error", "[sqlite]") {
    temp_dir dir;
    event_loop loop;
    const std::string url = dir.url("app.db", "?journal_mode=delete");
    auto c = connect_ok(loop, url);
    must(loop, *c, "CREATE TABLE t (x INTEGER)");
    must(loop, *c, "INSERT INTO t VALUES (1)");
    {
        // Overwrite the header (and more) with text, as a stray write would.
        std::fstream f(dir.path / "app.db", std::ios::in | std::ios::out | std::ios::binary);
        const std::string junk(4096, 'Z');
        f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
    }
    auto r = query(loop, *c, "SELECT count(*) FROM t");
    REQUIRE_FALSE(r.ok());
    INFO(r.err().to_string());
    CHECK(r.err().is_fatal());
    CHECK(r.err().value() == errc::connection_lost);
    CHECK((contains(r.err().message(), "SQLITE_NOTADB") ||
           contains(r.err().message(), "SQLITE_CORRUPT")));
    CHECK(c->is_broken());
    auto again = query(loop, *c, "SELECT 1");
    REQUIRE_FALSE(again.ok());
    CHECK(again.err().is_fatal());
    CHECK(contains(again.err().message(), "broke earlier"));
}

TEST_CASE("sqlite: the pool replaces a connection broken by a damaged file", "[sqlite]") {
    temp_dir dir;
    event_loop loop;
    const std::string url = dir.url("app.db", "?journal_mode=delete");
    {
        auto setup = connect_ok(loop, url);
        must(loop, *setup, "CREATE TABLE t (x INTEGER)");
    }
    pool_options o;
    o.connection.url = url;
    o.size = 1;
    o.max_overflow = 0;
    o.timeout = 5s;
    o.connect_backoff_base = 10ms;
    o.connect_backoff_cap = 20ms;
    {
        pool db(loop, sqlite_driver(), o);
        slot<result_set> first;
        db.query("SELECT count(*) FROM t", first.sink());
        REQUIRE(wait_until(
            loop, [&] { return first.done(); }, step_timeout));
        REQUIRE(first.get().ok());

        // Damage the file: the pooled connection's next statement fails fatally.
        // In place: the connection holds the file open, a rename would not reach it.
        std::filesystem::copy_file(dir.path / "app.db", dir.path / "good.db");
        {
            std::fstream f(dir.path / "app.db", std::ios::in | std::ios::out | std::ios::binary);
            const std::string junk(4096, 'Z');
            f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
        }
        slot<result_set> broken;
        db.query("SELECT count(*) FROM t", broken.sink());
        REQUIRE(wait_until(
            loop, [&] { return broken.done(); }, step_timeout));
        REQUIRE_FALSE(broken.get().ok());
        INFO(broken.get().err().to_string());
        CHECK(broken.get().err().is_fatal());

        // Restore a good file: the pool opens a new connection and goes on.
        std::filesystem::copy_file(dir.path / "good.db", dir.path / "app.db",
                                   std::filesystem::copy_options::overwrite_existing);
        slot<result_set> after;
        db.query("SELECT count(*) FROM t", after.sink());
        REQUIRE(wait_until(
            loop, [&] { return after.done(); }, step_timeout));
        INFO((after.get().ok() ? std::string("ok") : after.get().err().to_string()));
        REQUIRE(after.get().ok());
        CHECK(db.stats().total == 1);
        CHECK(db.stats().checked_out == 0);
        CHECK(db.stats().connects == 2);
        db.close();
    }
    wait_until(
        loop, [] { return false; }, 20ms);
}
