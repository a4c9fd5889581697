// [sqlite] Opening databases: URL forms, parameters, and the errors a wrong
// URL or a missing file gives.

#include <fstream>

#include "sqlite_test_util.hpp"

using namespace uvdb;
using namespace uvdb::sqlite_test;

namespace {

error connect_error(event_loop& loop, const std::string& url) {
    std::unique_ptr<connection> c;
    auto r = connect(loop, c, url);
    REQUIRE_FALSE(r.ok());
    CHECK_FALSE(c->is_ready());
    CHECK(c->is_broken());
    return r.err();
}

}  // namespace

TEST_CASE("sqlite: a file database is created in a temporary directory and keeps its data",
          "[sqlite]") {
    temp_dir dir;
    event_loop loop;
    {
        auto c = connect_ok(loop, dir.url("app.db"));
        must(loop, *c, "CREATE TABLE t (x INTEGER)");
        must(loop, *c, "INSERT INTO t VALUES ($1)", make_params(7));
        CHECK(c->describe().find("app.db") != std::string::npos);
    }
    CHECK(std::filesystem::exists(dir.path / "app.db"));
    auto again = connect_ok(loop, dir.url("app.db", "?mode=rw"));
    CHECK(must(loop, *again, "SELECT x FROM t").value<int>() == 7);
}

TEST_CASE("sqlite: percent-escapes in the path are decoded", "[sqlite]") {
    temp_dir dir;
    event_loop loop;
    auto c = connect_ok(loop, "sqlite://" + dir.path.string() + "/with%20space.db");
    must(loop, *c, "CREATE TABLE t (x INTEGER)");
    CHECK(std::filesystem::exists(dir.path / "with space.db"));
}

TEST_CASE("sqlite: a relative path is relative to the working directory", "[sqlite]") {
    temp_dir dir;
    const auto saved = std::filesystem::current_path();
    std::filesystem::current_path(dir.path);
    event_loop loop;
    {
        auto c = connect_ok(loop, "sqlite:sub.db");
        must(loop, *c, "CREATE TABLE t (x INTEGER)");
    }
    std::filesystem::current_path(saved);
    CHECK(std::filesystem::exists(dir.path / "sub.db"));
}

TEST_CASE("sqlite: :memory: databases are private to their connection", "[sqlite]") {
    event_loop loop;
    auto a = connect_ok(loop, "sqlite::memory:");
    auto b = connect_ok(loop, "sqlite:///:memory:");
    must(loop, *a, "CREATE TABLE t (x INTEGER)");
    must(loop, *a, "INSERT INTO t VALUES (1)");
    CHECK(must(loop, *a, "SELECT count(*) FROM t").value<int>() == 1);
    auto r = query(loop, *b, "SELECT count(*) FROM t");
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.err().server_message(), "no such table"));
    CHECK(a->describe().find(":memory:") != std::string::npos);
}

TEST_CASE("sqlite: a missing directory is a clear connect error naming the path", "[sqlite]") {
    temp_dir dir;
    event_loop loop;
    const std::string path = (dir.path / "missing" / "app.db").string();
    error e = connect_error(loop, "sqlite://" + path);
    INFO(e.to_string());
    CHECK(e.value() == errc::connect_failed);
    CHECK(e.is_fatal());
    CHECK(contains(e.message(), path));
    CHECK(contains(e.message(), "SQLITE_CANTOPEN"));
    CHECK(contains(e.message(), "directory exists"));
    CHECK_FALSE(std::filesystem::exists(dir.path / "missing"));
}

TEST_CASE("sqlite: mode=ro refuses writes and does not create files", "[sqlite]") {
    temp_dir dir;
    event_loop loop;
    {
        error e = connect_error(loop, dir.url("none.db", "?mode=ro"));
        INFO(e.to_string());
        CHECK(e.value() == errc::connect_failed);
        CHECK(contains(e.message(), "mode=ro"));
        CHECK_FALSE(std::filesystem::exists(dir.path / "none.db"));
    }
    {
        auto rw = connect_ok(loop, dir.url("app.db"));
        must(loop, *rw, "CREATE TABLE t (x INTEGER)");
        must(loop, *rw, "INSERT INTO t VALUES (1)");
    }
    auto ro = connect_ok(loop, dir.url("app.db", "?mode=ro"));
    CHECK(must(loop, *ro, "SELECT count(*) FROM t").value<int>() == 1);
    auto w = query(loop, *ro, "INSERT INTO t VALUES (2)");
    REQUIRE_FALSE(w.ok());
    INFO(w.err().to_string());
    CHECK(w.err().value() == errc::server_error);
    CHECK(w.err().sqlstate() == "25006");
    CHECK(contains(w.err().message(), "read-only"));
    CHECK_FALSE(w.err().is_fatal());
    CHECK(must(loop, *ro, "SELECT count(*) FROM t").value<int>() == 1);
}

TEST_CASE("sqlite: a file that is not a database fails the connect", "[sqlite]") {
    temp_dir dir;
    std::ofstream(dir.path / "notes.txt")
        << "this is not a database, just a long enough line of text "
           "so that SQLite reads a header from it\n";
    event_loop loop;
    error e = connect_error(loop, dir.url("notes.txt"));
    INFO(e.to_string());
    CHECK(e.value() == errc::connect_failed);
    CHECK(contains(e.message(), "not an SQLite database"));
    CHECK(contains(e.message(), "SQLITE_NOTADB"));
}

TEST_CASE("sqlite: bad URLs and parameters are refused with errc::bad_config", "[sqlite]") {
    temp_dir dir;
    event_loop loop;
    struct bad_case {
        std::string url;
        std::string says;
    };
    const bad_case cases[] = {
        {dir.url("a.db", "?cache=shared"), "unknown parameter \"cache\""},
        {dir.url("a.db", "?mode=rwx"), "mode=rwx is not valid; use one of: ro, rw, rwc"},
        {dir.url("a.db", "?busy_timeout=soon"), "busy_timeout=soon is not valid"},
        {dir.url("a.db", "?busy_timeout=-5"), "busy_timeout=-5 is not valid"},
        {dir.url("a.db", "?journal_mode=fast"), "journal_mode=fast is not valid"},
        {dir.url("a.db", "?synchronous=2"), "synchronous=2 is not valid"},
        {dir.url("a.db", "?foreign_keys=maybe"), "foreign_keys=maybe is not valid"},
        {dir.url("a.db", "?mode"), "no key=value form"},
        {"sqlite://user:s3cret@host/a.db", "a host, user or password is not allowed"},
        {"sqlite://", "no database path"},
        {"sqlite:", "no database path"},
        {"sqlite:a%zz.db",
         "bad percent-escape in the path at offset 1; write %XX with two hex digits"},
        {dir.url("a.db", "?mo%d=ro"), "bad percent-escape in the parameter name at offset 2"},
        {dir.url("a.db", "?mode=r%0"), "bad percent-escape in the parameter value at offset 1"},
        {"sqlite:a%00.db", "the path contains a NUL byte (%00)"},
        {"sqlite::memory:?mode=ro", "mode=ro makes no sense for :memory:"},
    };
    for (const auto& bc : cases) {
        error e = connect_error(loop, bc.url);
        INFO(bc.url << " → " << e.to_string());
        CHECK(e.value() == errc::bad_config);
        CHECK(e.is_fatal());
        CHECK(contains(e.message(), bc.says));
        CHECK_FALSE(contains(e.message(), "s3cret"));
    }
    // No file was created by any of them.
    CHECK(std::filesystem::is_empty(dir.path));
}

TEST_CASE("sqlite: connect_options::extra overrides the URL's parameters", "[sqlite]") {
    temp_dir dir;
    event_loop loop;
    {
        auto rw = connect_ok(loop, dir.url("app.db"));
        must(loop, *rw, "CREATE TABLE t (x INTEGER)");
    }
    connect_options o;
    o.url = dir.url("app.db", "?mode=rw");
    o.extra["mode"] = "ro";
    slot<void> s;
    auto c = sqlite_driver()->connect(loop, o, s.sink());
    REQUIRE(wait_until(
        loop, [&] { return s.done(); }, step_timeout));
    REQUIRE(s.get().ok());
    auto w = query(loop, *c, "INSERT INTO t VALUES (1)");
    REQUIRE_FALSE(w.ok());
    CHECK(w.err().sqlstate() == "25006");

    o.extra = {{"no_such_key", "1"}};
    slot<void> s2;
    auto c2 = sqlite_driver()->connect(loop, o, s2.sink());
    REQUIRE(wait_until(
        loop, [&] { return s2.done(); }, step_timeout));
    REQUIRE_FALSE(s2.get().ok());
    CHECK(contains(s2.get().err().message(), "no_such_key"));
}

TEST_CASE("sqlite: journal_mode, synchronous and foreign_keys are applied", "[sqlite]") {
    temp_dir dir;
    event_loop loop;
    auto c =
        connect_ok(loop, dir.url("app.db", "?journal_mode=wal&synchronous=normal&foreign_keys=on"));
    CHECK(must(loop, *c, "PRAGMA journal_mode").value<std::string>() == "wal");
    CHECK(must(loop, *c, "PRAGMA synchronous").value<int>() == 1);  // NORMAL
    CHECK(must(loop, *c, "PRAGMA foreign_keys").value<int>() == 1);
    auto d = connect_ok(loop, dir.url("other.db", "?busy_timeout=250"));
    CHECK(must(loop, *d, "PRAGMA foreign_keys").value<int>() == 0);  // SQLite's default
}

TEST_CASE("sqlite: the driver registers the sqlite scheme once", "[sqlite]") {
    driver_registry reg;
    REQUIRE(uvdb::sqlite::register_driver(reg).ok());
    auto found = reg.for_url("sqlite:///tmp/x.db");
    REQUIRE(found.ok());
    CHECK((*found)->name() == "sqlite");
    auto twice = uvdb::sqlite::register_driver(reg);
    CHECK_FALSE(twice.ok());
}
