#include "cluster/support/cluster_env.hpp"

#include <sys/wait.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "support/loop_wait.hpp"

namespace uvdb::test {

namespace {

std::string getenv_str(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::string();
}

}  // namespace

const cluster_env* cluster() {
    static const cluster_env e = [] {
        cluster_env v;
        v.primary_url = getenv_str("UVDB_TEST_PRIMARY_URL");
        v.standby_url = getenv_str("UVDB_TEST_STANDBY_URL");
        v.multihost_url = getenv_str("UVDB_TEST_MULTIHOST_URL");
        v.pgbouncer_url = getenv_str("UVDB_TEST_PGBOUNCER_URL");
        v.primary_admin_url = getenv_str("UVDB_TEST_PRIMARY_ADMIN_URL");
        v.standby_admin_url = getenv_str("UVDB_TEST_STANDBY_ADMIN_URL");
        v.primary_port = getenv_str("UVDB_TEST_PRIMARY_PORT");
        v.standby_port = getenv_str("UVDB_TEST_STANDBY_PORT");
        v.dir = getenv_str("UVDB_TEST_CLUSTER_DIR");
        v.script = getenv_str("UVDB_TEST_CLUSTER_SCRIPT");
        return v;
    }();
    if (e.primary_url.empty()) {
        // A user running plain `ctest` has no cluster: not a failure.
        WARN(
            "UVDB_TEST_PRIMARY_URL is not set: the [cluster] tests need the test cluster. "
            "Start it with `scripts/pg-test-cluster.sh start DIR`, `. DIR/env.sh`, then "
            "`ctest -L cluster`; stop it with `scripts/pg-test-cluster.sh stop DIR`.");
        return nullptr;
    }
    if (e.standby_url.empty() || e.multihost_url.empty() || e.pgbouncer_url.empty()) {
        FAIL(
            "UVDB_TEST_PRIMARY_URL is set but not the other cluster variables: source the "
            "env.sh written by scripts/pg-test-cluster.sh");
    }
    return &e;
}

connect_options cluster_options(const std::string& url) {
    connect_options o;
    o.url = url;
    o.connect_timeout = std::chrono::seconds(10);
    return o;
}

script_run run_cluster_script(event_loop& loop, const std::string& subcommand) {
    const cluster_env* cl = cluster();
    REQUIRE(cl != nullptr);
    REQUIRE_FALSE(cl->script.empty());
    script_run run;
    std::atomic<bool> done{false};
    run.started = std::chrono::steady_clock::now();
    const std::string cmd = cl->script + " " + subcommand + " " + cl->dir + " >&2";
    int status = -1;
    std::thread worker([&] {
        status = std::system(cmd.c_str());
        run.finished = std::chrono::steady_clock::now();
        done = true;
    });
    // The script bounds each of its waits (60 s).
    const bool finished = wait_until(
        loop, [&] { return done.load(); }, std::chrono::seconds(180));
    worker.join();
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    INFO("pg-test-cluster.sh " << subcommand);
    REQUIRE(finished);
    REQUIRE(run.status == 0);
    return run;
}

std::string node_with(const std::string& role) {
    const cluster_env* cl = cluster();
    REQUIRE(cl != nullptr);
    std::ifstream in(cl->dir + "/roles");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(role + "=", 0) == 0) return line.substr(role.size() + 1);
    }
    FAIL("no " << role << " line in " << cl->dir << "/roles");
    return {};
}

void ensure_primary(event_loop& loop, const std::string& primary) {
    if (node_with("fenced") != "none") run_cluster_script(loop, "demote");
    if (node_with("primary") != primary) {
        run_cluster_script(loop, "promote");
        run_cluster_script(loop, "demote");
    }
    REQUIRE(node_with("primary") == primary);
    REQUIRE(node_with("standby") != "none");
}

std::string port_of(const cluster_env& cl, const std::string& node) {
    return node == "node1" ? cl.primary_port : cl.standby_port;
}

}  // namespace uvdb::test
