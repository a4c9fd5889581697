#include "cluster/support/cluster_env.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>

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

}  // namespace uvdb::test
