// uvdb-stream-bench as people run it, with a few thousand rows: each mode that
// needs only the server (uvdb stream, libpq whole fetch, uvdb COPY TO STDOUT)
// runs and reads every row. Prints nothing about speed.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "integration/support/run_program.hpp"
#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;

TEST_CASE("uvdb-stream-bench runs each mode with a few thousand rows", "[pg][stream][bench]") {
#ifndef UVDB_STREAM_BENCH_EXE
    FAIL("uvdb-stream-bench was not built with the pg tests");
#else
    for (const char* mode : {"stream", "libpq", "copy"}) {
        INFO(mode);
        const auto run = uvdb::test::run_program(UVDB_STREAM_BENCH_EXE, {mode, "5000"},
                                                 {"UVDB_TEST_URL=" + uvdb::test::env().url}, 120s);
        INFO(run.out << run.err);
        CHECK(run.exit_code == 0);
        CHECK(uvdb::test::contains(run.out, "rows=5000"));
    }
#endif
}
