// The examples a user copies from, run as built against the test server:
// each must exit 0, print what it promises, clean up after itself, and never
// print the password.

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <uvdb/event_loop.hpp>
#include <vector>

#include "integration/support/run_program.hpp"
#include "integration/support/test_env.hpp"

namespace {

using namespace std::chrono_literals;

using run_result = uvdb::test::program_run;

std::string example_path(const std::string& name) {
#ifdef UVDB_EXAMPLES_DIR
    // Appended, not an operator+ chain: GCC 12 warns (-Warray-bounds) on the
    // chain's inlined moves for some lengths of the directory, wrongly.
    std::string path(UVDB_EXAMPLES_DIR);
    path += '/';
    path += name;
    return path;
#else
    return {};
#endif
}

/// Runs an example binary with `args`, its stdout and stderr captured apart,
/// stdin from /dev/null. DATABASE_URL is removed from the child's environment
/// and set to `database_url` when that is non-empty. Killed after `deadline`
/// so a hang fails the test instead of blocking CI.
run_result run_example(const std::string& name, const std::vector<std::string>& args,
                       const std::string& database_url = {}, std::chrono::seconds deadline = 60s) {
    const std::string path = example_path(name);
    if (path.empty() || ::access(path.c_str(), X_OK) != 0) {
        FAIL("example binary "
             << name << " not found at '" << path
             << "': build the examples (UVDB_BUILD_EXAMPLES=ON) with the pg tests");
    }

    std::vector<std::string> extra_env;
    if (!database_url.empty()) extra_env.push_back("DATABASE_URL=" + database_url);
    return uvdb::test::run_program(path, args, extra_env, deadline);
}

/// The output for the test log, with the password masked should an example
/// have leaked it (the leak itself is asserted separately).
std::string shown(const run_result& r) {
    std::string text = "exit " + std::to_string(r.exit_code) + (r.timed_out ? " (timed out)" : "") +
                       "\n--- stdout\n" + r.out + "--- stderr\n" + r.err;
    const std::string& pw = uvdb::test::env().password;
    for (std::size_t at; !pw.empty() && (at = text.find(pw)) != std::string::npos;)
        text.replace(at, pw.size(), "***");
    return text;
}

bool contains(const std::string& text, const std::string& what) {
    return text.find(what) != std::string::npos;
}

void check_no_secret(const run_result& r, const std::string& password) {
    INFO(shown(r));
    REQUIRE_FALSE(password.empty());
    CHECK_FALSE(contains(r.out, password));
    CHECK_FALSE(contains(r.err, password));
}

/// Runs `sql` on a fresh connection of the test role and returns its single value.
long long server_count(const std::string& sql) {
    uvdb::event_loop loop;
    auto conn = uvdb::test::connect_or_fail(loop, uvdb::test::test_options());
    const auto n = uvdb::test::scalar<long long>(loop, *conn, sql);
    conn.reset();
    uvdb::test::run_for(loop, 50ms);
    return n;
}

}  // namespace

TEST_CASE("examples: without a URL each prints its usage and exits 2", "[pg][examples]") {
    for (const char* name :
         {"quickstart", "coroutines", "transaction", "tx_retry", "rag_pipeline", "pool_monitor",
          "embedded_loop", "cache_invalidation", "graceful_shutdown"}) {
        const run_result r = run_example(name, {});
        INFO(name << ": " << shown(r));
        CHECK(r.exit_code == 2);
        CHECK(contains(r.err, "usage:"));
        CHECK(contains(r.err, "DATABASE_URL"));
    }
}

TEST_CASE("examples: quickstart connects and prints its row", "[pg][examples]") {
    const auto& env = uvdb::test::env();
    const run_result r = run_example("quickstart", {env.url});
    INFO(shown(r));
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "connected: "));
    CHECK(contains(r.out, "42 | hello | "));
    check_no_secret(r, env.password);
}

TEST_CASE("examples: coroutines runs the query, a failing query and a pool timeout",
          "[pg][examples]") {
    const auto& env = uvdb::test::env();
    SECTION("URL from DATABASE_URL") {
        const run_result r = run_example("coroutines", {}, env.url);
        INFO(shown(r));
        CHECK(r.exit_code == 0);
        CHECK(contains(r.out, "n=42 greeting=hello at="));
        CHECK(contains(r.out, "expected failure: SQLSTATE 42P01 (undefined_table)"));
        CHECK(contains(r.out, "connection kept after the error: yes"));
        CHECK(contains(r.out, "holding the pool's only connection (server pid "));
        CHECK(contains(r.out, "pool_timeout: "));
        CHECK(contains(r.out, "done"));
        CHECK(contains(r.out, "connecting to postgresql://" + env.user + ":***@"));
        check_no_secret(r, env.password);
    }
    SECTION(
        "a wrong password fails with the error, exit 1, and does not print the password tried") {
        const std::string wrong = "wrong-Secret-4711";
        const run_result r = run_example("coroutines", {uvdb::test::make_url({.password = wrong})});
        INFO(shown(r));
        CHECK(r.exit_code == 1);
        CHECK(contains(r.err, "error: auth_failed: "));
        check_no_secret(r, wrong);
        check_no_secret(r, env.password);
    }
}

TEST_CASE("examples: transaction commits one transfer and rolls back the other", "[pg][examples]") {
    const auto& env = uvdb::test::env();
    const run_result r = run_example("transaction", {env.url});
    INFO(shown(r));
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "committed\nafter commit: account 1 = 70, account 2 = 130\n"));
    CHECK(contains(r.out, "account 2 credited, balance 630 inside the transaction"));
    CHECK(contains(r.out, "rolled back: SQLSTATE 23514 (check_violation)"));
    CHECK(contains(r.out, "after rollback: account 1 = 70, account 2 = 130\n"));
    CHECK(contains(r.out, "balances unchanged by the rolled-back transfer"));
    check_no_secret(r, env.password);
    const std::string table = "uvdb_example_accounts_" + std::to_string(r.pid);
    CHECK(server_count("SELECT count(*) FROM pg_class WHERE relname = '" + table + "'") == 0);
}

TEST_CASE(
    "examples: tx_retry places every order once, retrying conflicts; a savepoint saves the "
    "order whose note fails",
    "[pg][examples]") {
    const auto& env = uvdb::test::env();
    const run_result r = run_example("tx_retry", {env.url});
    INFO(shown(r));
    CHECK(r.exit_code == 0);
    for (const char* order :
         {"order 1 placed", "order 2 placed", "order 3 placed", "order 4 placed"})
        CHECK(contains(r.out, order));
    CHECK(contains(r.out, "stock left: 92 (100 - 2 x 4 orders)"));
    CHECK(contains(r.out, "orders with a note: 3 "));
    check_no_secret(r, env.password);
    for (const char* prefix : {"uvdb_example_stock_", "uvdb_example_orders_"}) {
        const std::string table = prefix + std::to_string(r.pid);
        CHECK(server_count("SELECT count(*) FROM pg_class WHERE relname = '" + table + "'") == 0);
    }
}

TEST_CASE("examples: rag_pipeline serves 200 requests of ten statements and prints its percentiles",
          "[pg][examples]") {
    const auto& env = uvdb::test::env();
    const run_result r =
        run_example("rag_pipeline", {"--requests", "200", "--concurrency", "20", env.url});
    INFO(shown(r));
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "serving 200 requests, 20 at a time"));
    CHECK(contains(r.out, "200 requests (10 statements each) in "));
    CHECK(contains(r.out, " requests/s, "));
    CHECK(contains(r.out, "latency p50 "));
    CHECK(contains(r.out, ", p99 "));
    check_no_secret(r, env.password);
    const std::string schema = "uvdb_rag_" + std::to_string(r.pid);
    CHECK(server_count("SELECT count(*) FROM pg_namespace WHERE nspname = '" + schema + "'") == 0);
}

TEST_CASE("examples: graceful_shutdown drains on SIGTERM and exits 0 with the report",
          "[pg][examples]") {
    const auto& env = uvdb::test::env();
    // SIGTERM as soon as it says it serves: statements are in flight then.
    const run_result r = uvdb::test::run_program(example_path("graceful_shutdown"),
                                                 {"--deadline-ms", "10000", env.url}, {}, 60s,
                                                 "serving with", SIGTERM);
    INFO(shown(r));
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "SIGTERM received: draining the pool"));
    CHECK(contains(r.out, "drain report: leases_at_start="));
    // Each handler's statement (20 ms) ends long before the 10 s deadline.
    CHECK(contains(r.out, " still_out=0 deadline_reached=false"));
    CHECK(contains(r.out, "handlers refused by the drain; 0 failures"));
    check_no_secret(r, env.password);
}

TEST_CASE("examples: pool_monitor prints stats every second, then pg_stat_activity",
          "[pg][examples]") {
    const auto& env = uvdb::test::env();
    const run_result r = run_example("pool_monitor", {"--seconds", "2", env.url});
    INFO(shown(r));
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "[1s] size=10 total="));
    CHECK(contains(r.out, "[2s] size=10 total="));
    CHECK(contains(r.out, "[after load] size=10 "));
    CHECK(contains(r.out, " timeouts=0 wait p50<="));
    // The measured connect time: TCP + TLS + SCRAM is never 0.0 ms.
    const auto line2 = r.out.find("[2s] ");
    REQUIRE(line2 != std::string::npos);
    const std::string second = r.out.substr(line2, r.out.find('\n', line2) - line2);
    CHECK(contains(second, " connect="));
    CHECK_FALSE(contains(second, " connect=0.0ms"));
    CHECK(contains(r.out, "pg_stat_activity:"));
    CHECK(contains(r.out, " uvdb-pool-monitor "));
    check_no_secret(r, env.password);
}

TEST_CASE("examples: pool_monitor shows each stats line while the load runs", "[pg][examples]") {
    // Killed at the deadline, long before its 60 s are up: what it printed by
    // then must already have reached the pipe, as it would reach a log.
    const auto& env = uvdb::test::env();
    const run_result r = run_example("pool_monitor", {"--seconds", "60", env.url}, {}, 5s);
    INFO(shown(r));
    CHECK(r.timed_out);
    CHECK(contains(r.out, "[1s] size=10 "));
    CHECK(contains(r.out, "[2s] size=10 "));
    CHECK_FALSE(contains(r.out, "pg_stat_activity:"));
    check_no_secret(r, env.password);
}

TEST_CASE("examples: embedded_loop answers its clients through the pool on the application's loop",
          "[pg][examples]") {
    const auto& env = uvdb::test::env();
    const run_result r = run_example("embedded_loop", {"--self-test", "5", env.url});
    INFO(shown(r));
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "listening on 127.0.0.1:"));
    CHECK(contains(r.out, "client: sent \"hello from client 3\", got \"HELLO FROM CLIENT 3\"\n"));
    CHECK(contains(r.out, "5/5 answers correct"));
    CHECK(contains(r.out, "uv_loop_close: 0"));
    check_no_secret(r, env.password);
}

TEST_CASE("examples: export_csv writes every row of a query to a CSV file, by stream and by COPY",
          "[pg][examples][stream]") {
    const auto& env = uvdb::test::env();
    char dir_template[] = "/tmp/uvdb-export-XXXXXX";
    const char* dir = ::mkdtemp(dir_template);
    REQUIRE(dir != nullptr);
    for (const bool copy : {false, true}) {
        const std::string out = std::string(dir) + (copy ? "/copy.csv" : "/stream.csv");
        std::vector<std::string> args = {"--rows", "25000", out, env.url};
        if (copy) args.insert(args.begin(), "--copy");
        const run_result r = run_example("export_csv", args);
        INFO(shown(r));
        CHECK(r.exit_code == 0);
        CHECK(contains(r.out, "exported 25000 rows"));
        check_no_secret(r, env.password);
        std::FILE* f = std::fopen(out.c_str(), "rb");
        REQUIRE(f != nullptr);
        std::string text;
        char buf[65536];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
        std::fclose(f);
        std::remove(out.c_str());
        CHECK(text.substr(0, 15) == "id,name,price\n1");
        std::size_t lines = 0;
        for (char c : text) lines += c == '\n' ? 1 : 0;
        CHECK(lines == 25001);
        CHECK(contains(text, "\n25000,item 25000,12500.0\n"));
    }
    ::rmdir(dir);
}

TEST_CASE("examples: cache_invalidation drops entries on NOTIFY and the whole cache on reconnect",
          "[pg][examples][listen]") {
    const auto& env = uvdb::test::env();
    const run_result r = run_example("cache_invalidation", {env.url});
    INFO(shown(r));
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out,
                   "cache miss: product 1 loaded from the database\n"
                   "  product 1: apple costs 10\n"
                   "cache hit: product 1\n"));
    CHECK(contains(r.out,
                   "invalidated by NOTIFY: product 1\n"
                   "cache miss: product 1 loaded from the database\n"
                   "  product 1: apple costs 12\n"
                   "cache hit: product 2\n"));
    CHECK(contains(r.out, "listener reconnected: whole cache dropped"));
    CHECK(contains(r.out,
                   "cache miss: product 2 loaded from the database\n"
                   "  product 2: pear costs 20\ndone\n"));
    check_no_secret(r, env.password);
    const std::string table = "uvdb_example_prices_" + std::to_string(r.pid);
    CHECK(server_count("SELECT count(*) FROM pg_class WHERE relname = '" + table + "'") == 0);
}

TEST_CASE("examples: bulk_load copies generated CSV rows and prints the count", "[pg][examples]") {
    const auto& env = uvdb::test::env();
    const run_result r = run_example("bulk_load", {"--rows", "20000", env.url});
    INFO(shown(r));
    CHECK(r.exit_code == 0);
    CHECK(contains(r.out, "loaded 20000 rows"));
    CHECK(contains(r.out, "table bulk_load_demo holds 20000 rows"));
    check_no_secret(r, env.password);
    const run_result usage = run_example("bulk_load", {});
    CHECK(usage.exit_code == 2);
    CHECK(contains(usage.err, "DATABASE_URL"));
}
