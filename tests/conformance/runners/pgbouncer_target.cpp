// Runs the conformance suite against the PostgreSQL driver through PgBouncer
// in transaction pooling (scripts/pg-test-cluster.sh, UVDB_TEST_PGBOUNCER_URL)
// with the `pgbouncer` preset: its connection options (no statement cache)
// for every connection and its pool options for the pool checks. Without a
// cluster the whole program returns at once with a WARN (its own main()).
//
// What cannot hold behind a transaction pooler, and how it is handled:
//  - The reset check's table: a TEMP table lives in one server session, and
//    the transaction that fills it may run on another. The check uses an
//    ordinary table instead (created once, only ever filled in transactions
//    that are rolled back).
//  - The kill hook: PgBouncer hands out its own BackendKeyData, so
//    server_pid() is not a server backend to pg_terminate_backend (and
//    terminating the backend would only drop PgBouncer's server connection,
//    not ours). The hook kills on PgBouncer itself: KILL on its admin
//    console drops every client of the database (the suite runs its cases
//    one at a time, so only the victim's), then RESUME lets new ones in.

#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <uvdb/config.hpp>
#include <uvdb/conformance/target.hpp>
#include <uvdb/pool_options.hpp>
#include <uvdb/postgres/driver.hpp>

#include "integration/support/test_env.hpp"

namespace {

std::string env_or_empty(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::string();
}

/// The pgbouncer preset applied to UVDB_TEST_PGBOUNCER_URL by the config loader.
uvdb::config preset_config() {
    // The loader checks the URL with the driver of its scheme.
    (void)uvdb::postgres::register_driver();
    uvdb::load_options lo;
    lo.text = "[database]\nurl = \"" + env_or_empty("UVDB_TEST_PGBOUNCER_URL") +
              "\"\n[pool]\npreset = \"pgbouncer\"\n";
    lo.env = uvdb::environment_from({});
    auto cfg = uvdb::load_config(lo);
    if (!cfg) uvdb::test::fail_with("loading the pgbouncer preset", cfg.err());
    return std::move(cfg).value();
}

uvdb::connect_options options_of(const uvdb::config& cfg) {
    uvdb::connect_options o = cfg.pool.connection;
    o.connect_timeout = std::chrono::milliseconds(10'000);
    return o;
}

const uvdb::conformance::registration reg([] {
    const uvdb::config cfg = preset_config();
    uvdb::conformance::target t;
    t.name = "postgresql via pgbouncer";
    t.driver = uvdb::test::pg_driver();
    t.options = [o = options_of(cfg)] { return o; };
    t.adjust_pool = [p = cfg.pool](uvdb::pool_options& o) {
        o.reset_on_return = p.reset_on_return;
        o.pre_ping = p.pre_ping;
        o.transaction_pooler = p.transaction_pooler;
        o.log_fields = p.log_fields;
    };
    t.bad_options = [o = options_of(cfg)] {
        uvdb::connect_options bad = o;
        bad.url = "postgresql://uvdb_test@127.0.0.1:1/uvdb_test?sslmode=disable";
        bad.connect_timeout = std::chrono::milliseconds(5000);
        return bad;
    };
    t.echo_sql = "SELECT $1::int8, $2::float8, $3::text, $4::bytea, $5::text";
    t.long_running_sql = "SELECT pg_sleep(30)";
    t.create_table_sql = "CREATE TABLE IF NOT EXISTS conformance_pgbouncer_t (x integer)";
    t.insert_sql = "INSERT INTO conformance_pgbouncer_t VALUES (1)";
    t.count_sql = "SELECT count(*) FROM conformance_pgbouncer_t";
    t.kill = [admin_url = env_or_empty("UVDB_TEST_PGBOUNCER_ADMIN_URL")](
                 uvdb::event_loop& loop, uvdb::connection& /*victim*/,
                 uvdb::unique_function<void(uvdb::result<void>)> done) {
        auto admin = std::make_shared<std::unique_ptr<uvdb::connection>>();
        auto d = std::make_shared<uvdb::unique_function<void(uvdb::result<void>)>>(std::move(done));
        uvdb::connect_options ao;
        ao.url = admin_url;
        // The admin console speaks the simple query protocol only: execute().
        *admin = uvdb::test::pg_driver()->connect(loop, ao, [](uvdb::result<void>) {});
        (*admin)->execute(
            "KILL uvdb_test", [admin, d](uvdb::result<std::vector<uvdb::result_set>> r) mutable {
                if (!r) {
                    auto keep = std::move(*admin);
                    return (*d)(std::move(r).err());
                }
                // The victim's socket is closed now; RESUME lets new clients in.
                (*admin)->execute("RESUME uvdb_test",
                                  [admin, d](uvdb::result<std::vector<uvdb::result_set>> r2) {
                                      auto keep = std::move(*admin);  // closed when this returns
                                      if (!r2) return (*d)(std::move(r2).err());
                                      (*d)(uvdb::result<void>());
                                  });
            });
    };
    return t;
});

}  // namespace

int main(int argc, char** argv) {
    if (env_or_empty("UVDB_TEST_PGBOUNCER_URL").empty()) {
        std::puts(
            "WARN: conformance_pgbouncer skipped: UVDB_TEST_PGBOUNCER_URL is not set (start "
            "scripts/pg-test-cluster.sh start DIR and source DIR/env.sh)");
        return 0;
    }
    return Catch::Session().run(argc, argv);
}
