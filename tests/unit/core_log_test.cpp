#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <memory>
#include <uvdb/log.hpp>

#include "core_log_capture.hpp"

TEST_CASE("uvdb logs through its own logger and leaves spdlog's default alone", "[unit][log]") {
    auto default_before = spdlog::default_logger();
    auto& own = uvdb::logger();
    CHECK(own.name() == "uvdb");
    CHECK(uvdb::logger_ptr().get() == &own);
    CHECK(spdlog::default_logger() == default_before);
    CHECK(spdlog::default_logger()->name() != "uvdb");
}

TEST_CASE("set_logger redirects uvdb's logging and nullptr restores its own", "[unit][log]") {
    {
        uvdb_test::log_capture capture;
        CHECK(uvdb::logger().name() == "uvdb-test");
        uvdb::logger().warn("pool {} exhausted", "main");
        CHECK(capture.contains("warning pool main exhausted"));
    }
    CHECK(uvdb::logger().name() == "uvdb");
}
