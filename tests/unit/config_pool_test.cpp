// make_pool: a pool from a configuration in one call, the start-up line
// with the preset, the debug lines with each value's source, the log level.

#include <spdlog/logger.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>
#include <uvdb/driver_registry.hpp>
#include <uvdb/log.hpp>
#include <uvdb/pool_from_config.hpp>

#include "unit/config_test_util.hpp"
#include "unit/core_log_capture.hpp"
#include "unit/support/fake_driver.hpp"

using Catch::Matchers::Contains;

namespace {

const std::string secret = "S3cr3t-Pa55w0rd";

uvdb::load_options options(const std::string& toml, config_test::env_map env = {}) {
    uvdb::load_options o;
    o.file = std::string("uvdb.toml");
    o.text = toml;
    o.env = uvdb::environment_from(std::move(env));
    return o;
}

struct fixture {
    uvdb_test::log_capture logs;
    uvdb::event_loop loop;
    uvdb::driver_registry registry;
    std::shared_ptr<uvdb::test::fake_driver> driver = std::make_shared<uvdb::test::fake_driver>();
    fixture() { REQUIRE(registry.add(driver).ok()); }
};

}  // namespace

TEST_CASE("config: make_pool builds a pool from a configuration and logs one start-up line",
          "[unit][config]") {
    fixture f;
    auto db = uvdb::make_pool(
        f.loop, options("[database]\nurl = \"fake://app:" + secret + "@db.internal:5432/app\"\n"),
        f.registry);
    REQUIRE(db.ok());
    CHECK(db->options().size == 20);
    CHECK(
        f.logs.contains("info database_engine_configured pool_size=20 max_overflow=40 "
                        "pool_recycle=3600 pool_pre_ping=true "
                        "pool_timeout=30 total_connections=60"));
    CHECK(f.logs.contains("preset=medium"));
    CHECK(f.logs.contains("url=fake://app:***@db.internal:5432/app"));
    CHECK(
        f.logs.contains("debug database_config_source key=pool.size value=20 source=\"default\""));
    CHECK(
        f.logs.contains("debug database_config_source key=database.url "
                        "value=\"fake://app:***@db.internal:5432/app\" "
                        "source=\"file uvdb.toml:2:1\""));
    int engine_lines = 0;
    for (const auto& l : f.logs.lines()) {
        CHECK_THAT(l, !Contains(secret));
        if (l.find("database_engine_configured") != std::string::npos) ++engine_lines;
    }
    CHECK(engine_lines == 1);
    db->close();
    f.loop.run();
}

TEST_CASE("config: make_pool refuses a bad configuration and makes no pool", "[unit][config]") {
    fixture f;
    auto db = uvdb::make_pool(
        f.loop, options("[database]\nurl = \"fake://db/app\"\n[pool]\nsize = 0\n"), f.registry);
    REQUIRE_FALSE(db.ok());
    CHECK(db.err().value() == uvdb::errc::bad_config);
    CHECK_THAT(db.err().message(), Contains("uvdb.toml:4:8: [pool] size"));
    CHECK_FALSE(f.logs.contains("database_engine_configured"));
    CHECK(f.driver->state().connect_attempts == 0);

    auto unknown =
        uvdb::make_pool(f.loop, options("[database]\nurl = \"mysql://db/app\"\n"), f.registry);
    REQUIRE_FALSE(unknown.ok());
    // The loader checks the URL through the registry, so an unserved scheme
    // is a configuration error with its place in the file.
    CHECK(unknown.err().value() == uvdb::errc::bad_config);
    CHECK_THAT(
        unknown.err().message(),
        Contains("uvdb.toml:2:7: [database] url: no driver registered for URL scheme \"mysql\""));
}

TEST_CASE("config: make_pool applies a log level the configuration chose, and only then",
          "[unit][config]") {
    fixture f;  // its logger is at trace
    auto cfg_opts = options("[database]\nurl = \"fake://db/app\"\n");
    cfg_opts.registry = &f.registry;
    auto cfg = uvdb::load_config(cfg_opts);
    REQUIRE(cfg.ok());
    {
        auto db = uvdb::make_pool(f.loop, *cfg, f.registry);
        REQUIRE(db.ok());
        CHECK(uvdb::logger().level() == spdlog::level::trace);  // "info" by default is no choice
    }
    auto warn_opts = options("[database]\nurl = \"fake://db/app\"\n", {{"UVDB_LOG_LEVEL", "warn"}});
    warn_opts.registry = &f.registry;
    auto warn = uvdb::load_config(warn_opts);
    REQUIRE(warn.ok());
    {
        auto db = uvdb::make_pool(f.loop, *warn, f.registry);
        REQUIRE(db.ok());
        CHECK(uvdb::logger().level() == spdlog::level::warn);
    }
    f.loop.run();
}

TEST_CASE("config: a refused configuration changes nothing, not even the log level",
          "[unit][config]") {
    fixture f;
    uvdb::logger().set_level(spdlog::level::info);
    auto db = uvdb::make_pool(
        f.loop,
        options(
            "[database]\nurl = \"fake://db/app\"\n[log]\nlevel = \"error\"\n[pool]\nrecycle = 0\n"),
        f.registry);
    REQUIRE_FALSE(db.ok());
    CHECK(uvdb::logger().level() == spdlog::level::info);
}

TEST_CASE("config: make_pool logs through uvdb's logger and leaves spdlog's default alone",
          "[unit][config]") {
    auto default_before = spdlog::default_logger();
    const auto level_before = default_before->level();
    fixture f;
    auto db = uvdb::make_pool(
        f.loop, options("[database]\nurl = \"fake://db/app\"\n[log]\nlevel = \"debug\"\n"),
        f.registry);
    REQUIRE(db.ok());
    CHECK(f.logs.contains("database_engine_configured"));
    CHECK(spdlog::default_logger() == default_before);
    CHECK(spdlog::default_logger()->level() == level_before);
    db->close();
    f.loop.run();
}
