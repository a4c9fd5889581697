// Runs the conformance suite against the loop-driven fake driver
// (tests/conformance/fake/): checks the suite itself and the pool over a
// driver without I/O.

#include <catch2/catch.hpp>
#include <uvdb/conformance/target.hpp>

#include "conformance/fake/loop_fake_driver.hpp"

namespace {

const uvdb::conformance::registration reg([] {
    uvdb::conformance::target t;
    t.name = "loop fake";
    t.driver = uvdb::test::make_loop_fake_driver();
    t.options = [] {
        uvdb::connect_options o;
        o.url = "fake://ok";
        return o;
    };
    t.bad_options = [] {
        uvdb::connect_options o;
        o.url = "fake://down";
        return o;
    };
    t.trivial_sql = "SELECT 1";
    t.echo_sql = "ECHO 5";
    t.syntax_error_sql = "BOOM";
    t.long_running_sql = "SLEEP";
    t.script_sql = "SELECT 1; SELECT 2";
    t.create_table_sql = "CREATE";
    t.begin_sql = "BEGIN";
    t.insert_sql = "INSERT";
    t.count_sql = "COUNT";
    t.kill = [](uvdb::event_loop& loop, uvdb::connection& c,
                uvdb::unique_function<void(uvdb::result<void>)> done) {
        const bool ok = uvdb::test::kill_loop_fake(c);
        loop.defer([ok, done = std::move(done)]() mutable {
            if (ok) {
                done(uvdb::result<void>());
            } else {
                done(uvdb::error(uvdb::errc::bad_input, "not a loop fake connection"));
            }
        });
    };
    return t;
});

}  // namespace
