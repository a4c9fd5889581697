// The PostgreSQL driver loaded as a plugin (libuvdb-postgres.so, built by
// drivers/postgres/CMakeLists.txt) instead of linked in: loaded by path into
// a registry, found by URL scheme, and queried through uvdb::pool against the
// real test server.
#ifdef UVDB_PG_PLUGIN_PATH

#include <dlfcn.h>

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <uvdb/driver_registry.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/postgres/driver.hpp>

#include "integration/pool_pg_support.hpp"
#include "integration/support/test_env.hpp"

namespace t = uvdb::test;
using namespace std::chrono_literals;

TEST_CASE("the PostgreSQL plugin serves queries through the pool", "[pg][plugin]") {
    uvdb::driver_registry reg;
    auto info = reg.load_plugin(UVDB_PG_PLUGIN_PATH);
    REQUIRE(info.ok());
    CHECK(info->name == "postgresql");
    CHECK(info->drivers == std::vector<std::string>{"postgresql"});
    CHECK(reg.schemes() == std::vector<std::string>{"postgres", "postgresql"});

    // The plugin's driver, not the one this test program links in: its
    // vtable (so its code) lives in the plugin's file.
    auto drv = reg.for_url(t::env().url);
    REQUIRE(drv.ok());
    Dl_info where{};
    REQUIRE(dladdr(*reinterpret_cast<void* const*>(drv->get()), &where) != 0);
    REQUIRE(where.dli_fname != nullptr);
    CHECK(std::string(where.dli_fname) == UVDB_PG_PLUGIN_PATH);

    uvdb::event_loop loop;
    auto opts = t::pool_test_options(2, 0);
    auto db = uvdb::pool::create(loop, opts, reg);
    REQUIRE(db.ok());
    std::optional<uvdb::result<uvdb::result_set>> got;
    db->query("SELECT $1::int + 1 AS answer, current_setting('application_name') AS app",
              uvdb::make_params(41),
              [&](uvdb::result<uvdb::result_set> r) { got.emplace(std::move(r)); });
    t::run_until(
        loop, [&] { return got.has_value(); }, 15s, "the query through the plugin");
    REQUIRE(got->ok());
    CHECK((**got)[0].get<int>("answer") == 42);
    CHECK((**got)[0].get<std::string>("app") == opts.connection.application_name);

    // Server errors come back as uvdb errors with their SQLSTATE, through the plugin.
    std::optional<uvdb::result<uvdb::result_set>> bad;
    db->query("SELECT 1/0", [&](uvdb::result<uvdb::result_set> r) { bad.emplace(std::move(r)); });
    t::run_until(
        loop, [&] { return bad.has_value(); }, 15s, "the failing query");
    REQUIRE_FALSE(bad->ok());
    CHECK(bad->err().code() == uvdb::errc::server_error);
    CHECK(bad->err().sqlstate() == "22012");
    db->close();
    t::run_for(loop, 50ms);
}

TEST_CASE("the PostgreSQL plugin is refused where the linked-in driver already serves its schemes",
          "[pg][plugin]") {
    uvdb::driver_registry reg;
    REQUIRE(uvdb::postgres::register_driver(reg).ok());
    auto linked = reg.find("postgresql");
    auto r = reg.load_plugin(UVDB_PG_PLUGIN_PATH);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code() == uvdb::errc::plugin_error);
    CHECK(t::contains(r.err().message(), "is already registered by driver \"postgresql\""));
    CHECK(reg.plugins().empty());
    CHECK(reg.find("postgresql") == linked);
    CHECK(reg.find("postgres") == linked);
}

#endif  // UVDB_PG_PLUGIN_PATH
