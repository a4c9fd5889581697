// The start-up line of a pool: the knobs users know from SQLAlchemy, in the
// order operators grep for, and never a password.

#include <catch2/catch.hpp>
#include <uvdb/pool_options.hpp>

using uvdb::engine_configured_line;
using uvdb::pool_options;

TEST_CASE("start-up line: defaults, preset before the masked URL", "[unit][pool_options]") {
    pool_options o;
    o.connection.url = "postgresql://app:s3cr3t@db.internal:5432/app";
    o.log_fields.emplace_back("preset", "medium");
    CHECK(engine_configured_line(o) ==
          "database_engine_configured pool_size=20 max_overflow=40 pool_recycle=3600 "
          "pool_pre_ping=true pool_timeout=30 total_connections=60 overflow_delay=auto "
          "pipeline_depth=16 pipeline_max_front_age=0.005 preset=medium "
          "url=postgresql://app:***@db.internal:5432/app");
}

TEST_CASE("start-up line: a password given apart from the URL shows as masked",
          "[unit][pool_options]") {
    pool_options o;
    o.connection.url = "postgresql://app@db.internal:5432/app?sslmode=verify-full";
    o.connection.password = "from-a-file";
    const auto line = engine_configured_line(o);
    CHECK_THAT(
        line, Catch::EndsWith("url=postgresql://app:***@db.internal:5432/app?sslmode=verify-full"));
    CHECK(line.find("from-a-file") == std::string::npos);

    o.connection.url = "postgresql://db.internal/app";  // no user: nothing to mark
    CHECK_THAT(engine_configured_line(o), Catch::EndsWith("url=postgresql://db.internal/app"));
    o.connection.url = "host=db.internal user=app";
    CHECK(engine_configured_line(o).find("from-a-file") == std::string::npos);
}

TEST_CASE("start-up line: a reset query shows quoted on one line, after the sizing",
          "[unit][pool_options]") {
    pool_options o;
    o.connection.url = "postgresql://db.internal/app";
    o.reset_query = "RESET ALL;\nUNLISTEN *";
    CHECK_THAT(engine_configured_line(o),
               Catch::Contains("pipeline_max_front_age=0.005 reset_query=\"RESET ALL; UNLISTEN *\" "
                               "url=postgresql://db.internal/app"));
    o.reset_query.clear();
    CHECK(engine_configured_line(o).find("reset_query") == std::string::npos);
}
