// The SQLite driver's own URL forms (sqlite::memory:, sqlite:relative/path.db)
// reach it through every door that goes through the driver registry:
// driver_registry::for_url, pool::create, make_pool, a configuration file.

#include <filesystem>
#include <fstream>
#include <string>
#include <uvdb/config.hpp>
#include <uvdb/driver_registry.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/pool_from_config.hpp>
#include <uvdb/url.hpp>

#include "sqlite/sqlite_test_util.hpp"

namespace {

using namespace uvdb;
using namespace uvdb::sqlite_test;

driver_registry sqlite_registry() {
    driver_registry reg;
    REQUIRE(uvdb::sqlite::register_driver(reg).ok());
    return reg;
}

/// "sqlite:<path relative to the working directory>/<name>".
std::string relative_url(const temp_dir& dir, const std::string& name) {
    const auto rel = std::filesystem::relative(dir.path / name, std::filesystem::current_path());
    REQUIRE_FALSE(rel.is_absolute());
    return "sqlite:" + rel.string();
}

/// Runs `SELECT 40 + 2` on the pool and returns the value (-1 on error).
int answer(event_loop& loop, pool& db) {
    slot<result_set> got;
    db.query("SELECT 40 + 2", got.sink());
    REQUIRE(wait_until(
        loop, [&] { return got.done(); }, step_timeout));
    INFO((got.get().ok() ? std::string() : got.get().err().to_string()));
    REQUIRE(got.get().ok());
    return (*got.get())[0].get<int>(0);
}

void close_and_settle(event_loop& loop, pool& db) {
    db.close();
    wait_until(
        loop, [] { return false; }, 20ms);
}

}  // namespace

TEST_CASE("sqlite: scheme-only URLs are routed by the registry", "[sqlite][registry]") {
    auto reg = sqlite_registry();
    CHECK(url_scheme("sqlite::memory:") == "sqlite");
    REQUIRE(reg.for_url("sqlite::memory:").ok());
    CHECK((*reg.for_url("sqlite::memory:"))->name() == "sqlite");
    CHECK((*reg.for_url("sqlite:rel/path.db"))->name() == "sqlite");
    CHECK((*reg.for_url("SQLITE:rel/path.db"))->name() == "sqlite");
    // The driver checks its URLs without opening anything.
    auto d = *reg.for_url("sqlite::memory:");
    CHECK(d->check("sqlite::memory:").ok());
    CHECK(d->check("sqlite:rel/path.db?mode=ro").ok());
    auto bad = d->check("sqlite::memory:?journal_mode=sideways");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.err().code() == errc::bad_config);
    CHECK(contains(bad.err().message(), "journal_mode"));
    // A string with no scheme is nobody's: SQLite claims none.
    CHECK_FALSE(reg.for_url("host=h dbname=app").ok());
}

TEST_CASE("sqlite: pool::create opens sqlite::memory: and sqlite:relative/path.db",
          "[sqlite][registry]") {
    auto reg = sqlite_registry();
    temp_dir dir;
    event_loop loop;
    for (const std::string& url : {std::string("sqlite::memory:"), relative_url(dir, "rel.db")}) {
        INFO(url);
        pool_options o;
        o.connection.url = url;
        o.size = 1;
        auto db = pool::create(loop, o, reg);
        INFO((db.ok() ? std::string() : db.err().to_string()));
        REQUIRE(db.ok());
        CHECK(answer(loop, *db) == 42);
        close_and_settle(loop, *db);
    }
    CHECK(std::filesystem::exists(dir.path / "rel.db"));
}

TEST_CASE("sqlite: make_pool and a configuration file reach the SQLite driver",
          "[sqlite][registry]") {
    auto reg = sqlite_registry();
    temp_dir dir;
    event_loop loop;

    // make_pool from a DATABASE_URL in the environment.
    load_options from_env;
    from_env.file = "";
    from_env.env = environment_from({{"DATABASE_URL", "sqlite::memory:"}});
    auto env_pool = make_pool(loop, from_env, reg);
    INFO((env_pool.ok() ? std::string() : env_pool.err().to_string()));
    REQUIRE(env_pool.ok());
    CHECK(answer(loop, *env_pool) == 42);
    close_and_settle(loop, *env_pool);

    // A TOML file on disk with a relative SQLite URL.
    const std::string file = (dir.path / "uvdb.toml").string();
    {
        std::ofstream f(file);
        f << "[database]\nurl = \"" << relative_url(dir, "cfg.db") << "\"\n[pool]\nsize = 2\n";
    }
    load_options from_file;
    from_file.file = file;
    from_file.env = environment_from({});
    auto file_pool = make_pool(loop, from_file, reg);
    INFO((file_pool.ok() ? std::string() : file_pool.err().to_string()));
    REQUIRE(file_pool.ok());
    CHECK(answer(loop, *file_pool) == 42);
    close_and_settle(loop, *file_pool);
    CHECK(std::filesystem::exists(dir.path / "cfg.db"));

    // A bad SQLite URL in a file is refused with its file:line, by the driver's check().
    const std::string bad_file = (dir.path / "bad.toml").string();
    {
        std::ofstream f(bad_file);
        f << "# comment\n[database]\nurl = \"sqlite::memory:?mode=sideways\"\n";
    }
    load_options bad;
    bad.file = bad_file;
    bad.env = environment_from({});
    bad.registry = &reg;
    auto refused = load_config(bad);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.err().code() == errc::bad_config);
    CHECK(contains(refused.err().message(), "bad.toml:3:7: [database] url: sqlite: mode=sideways"));

    // A scheme no registered driver serves is refused clearly.
    load_options other;
    other.file = "";
    other.env = environment_from({{"DATABASE_URL", "postgresql://app@db/app"}});
    other.registry = &reg;
    auto unknown = load_config(other);
    REQUIRE_FALSE(unknown.ok());
    CHECK(contains(unknown.err().message(),
                   "environment DATABASE_URL: no driver registered for URL scheme \"postgresql\"; "
                   "registered schemes: sqlite"));
}
