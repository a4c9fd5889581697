// The SQLite driver loaded as a plugin (libuvdb-sqlite.so, built by
// drivers/sqlite/CMakeLists.txt) instead of linked in: loaded by path into a
// registry, found by URL scheme, and used through uvdb::pool.
#ifdef UVDB_SQLITE_PLUGIN_PATH

#include <dlfcn.h>

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <uvdb/driver_registry.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/sqlite/driver.hpp>

#include "sqlite/sqlite_test_util.hpp"

TEST_CASE("the SQLite plugin serves statements through the pool", "[sqlite][plugin]") {
    uvdb::driver_registry reg;
    auto info = reg.load_plugin(UVDB_SQLITE_PLUGIN_PATH);
    INFO((info ? std::string("loaded") : info.err().to_string()));
    REQUIRE(info.ok());
    CHECK(info->name == "sqlite");
    CHECK(reg.schemes() == std::vector<std::string>{"sqlite"});

    // The plugin's driver, not the one this test program links in: its
    // vtable (so its code) lives in the plugin's file.
    uvdb::sqlite_test::temp_dir dir;
    const std::string url = dir.url("plugin.db");
    auto drv = reg.for_url(url);
    REQUIRE(drv.ok());
    Dl_info where{};
    REQUIRE(dladdr(*reinterpret_cast<void* const*>(drv->get()), &where) != 0);
    REQUIRE(where.dli_fname != nullptr);
    CHECK(std::string(where.dli_fname) == UVDB_SQLITE_PLUGIN_PATH);

    uvdb::event_loop loop;
    uvdb::pool_options opts;
    opts.size = 2;
    opts.max_overflow = 0;
    opts.connection.url = url;
    auto db = uvdb::pool::create(loop, opts, reg);
    REQUIRE(db.ok());
    std::optional<uvdb::result<uvdb::result_set>> got;
    db->query("SELECT $1 + 1 AS answer", uvdb::make_params(41),
              [&](uvdb::result<uvdb::result_set> r) { got.emplace(std::move(r)); });
    REQUIRE(uvdb::sqlite_test::wait_until(
        loop, [&] { return got.has_value(); }, uvdb::sqlite_test::step_timeout));
    INFO((got->ok() ? std::string("ok") : got->err().to_string()));
    REQUIRE(got->ok());
    CHECK((**got)[0].get<int>("answer") == 42);

    // Errors come back as uvdb errors, through the plugin.
    std::optional<uvdb::result<uvdb::result_set>> bad;
    db->query("SELECT * FROM no_such_table",
              [&](uvdb::result<uvdb::result_set> r) { bad.emplace(std::move(r)); });
    REQUIRE(uvdb::sqlite_test::wait_until(
        loop, [&] { return bad.has_value(); }, uvdb::sqlite_test::step_timeout));
    REQUIRE_FALSE(bad->ok());
    CHECK(bad->err().code() == uvdb::errc::server_error);
    INFO(bad->err().to_string());
    CHECK(bad->err().to_string().find("no such table: no_such_table") != std::string::npos);
    db->close();
}

TEST_CASE("the SQLite plugin is refused where the linked-in driver already serves sqlite://",
          "[sqlite][plugin]") {
    uvdb::driver_registry reg;
    REQUIRE(uvdb::sqlite::register_driver(reg).ok());
    auto r = reg.load_plugin(UVDB_SQLITE_PLUGIN_PATH);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code() == uvdb::errc::plugin_error);
    CHECK(r.err().message().find("is already registered by driver \"sqlite\"") !=
          std::string::npos);
    CHECK(reg.plugins().empty());
}

#endif  // UVDB_SQLITE_PLUGIN_PATH
