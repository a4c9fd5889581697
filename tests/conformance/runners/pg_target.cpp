// Runs the conformance suite against the PostgreSQL driver and the test
// server named by UVDB_TEST_* (scripts/pg-test-server.sh).

#include <catch2/catch.hpp>
#include <uvdb/conformance/target.hpp>
#include <uvdb/postgres/driver.hpp>

#include "integration/support/test_env.hpp"

namespace {

const uvdb::conformance::registration reg([] {
    uvdb::conformance::target t;
    t.name = "postgresql";
    t.driver = uvdb::test::pg_driver();
    t.options = [] { return uvdb::test::test_options(); };
    t.bad_options = [] {
        uvdb::connect_options o = uvdb::test::test_options();
        o.url = uvdb::test::make_url({.host = std::string("127.0.0.1"), .port = std::string("1")});
        o.connect_timeout = std::chrono::milliseconds(5000);
        return o;
    };
    t.echo_sql = "SELECT $1::int8, $2::float8, $3::text, $4::bytea, $5::text";
    t.long_running_sql = "SELECT pg_sleep(30)";
    // Terminates the backend from a superuser connection and waits (up to
    // 5 s) until it is gone.
    t.kill = [](uvdb::event_loop& loop, uvdb::connection& victim,
                uvdb::unique_function<void(uvdb::result<void>)> done) {
        auto admin = std::make_shared<std::unique_ptr<uvdb::connection>>();
        auto d = std::make_shared<uvdb::unique_function<void(uvdb::result<void>)>>(std::move(done));
        *admin = uvdb::test::pg_driver()->connect(loop, uvdb::test::admin_options(),
                                                  [](uvdb::result<void>) {});
        (*admin)->query("SELECT pg_terminate_backend($1::int, 5000)",
                        uvdb::make_params(victim.server_pid()),
                        [admin, d](uvdb::result<uvdb::result_set> r) mutable {
                            auto keep = std::move(*admin);  // closed when this callback returns
                            if (!r) return (*d)(std::move(r).err());
                            if (!r->value<bool>())
                                return (*d)(uvdb::error(uvdb::errc::internal,
                                                        "pg_terminate_backend returned false"));
                            (*d)(uvdb::result<void>());
                        });
    };
    return t;
});

}  // namespace
