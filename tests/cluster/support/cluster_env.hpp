#pragma once
/// \file
/// The test cluster started by scripts/pg-test-cluster.sh (a primary, a
/// streaming standby and PgBouncer in front of the primary), as described by
/// the UVDB_TEST_* variables of its DIR/env.sh.
///
/// Without a cluster (UVDB_TEST_PRIMARY_URL unset, as in a plain `ctest`)
/// every case of this suite returns at once with a WARN saying how to start
/// one: UVDB_CLUSTER_OR_SKIP() at the top of each case.

#include <chrono>
#include <string>
#include <uvdb/driver.hpp>
#include <uvdb/event_loop.hpp>

namespace uvdb::test {

struct cluster_env {
    std::string primary_url;        ///< UVDB_TEST_PRIMARY_URL: node1, the first primary
    std::string standby_url;        ///< UVDB_TEST_STANDBY_URL: node2, the first standby
    std::string multihost_url;      ///< both nodes, target_session_attrs=read-write
    std::string pgbouncer_url;      ///< PgBouncer (transaction pooling) in front of the primary
    std::string primary_admin_url;  ///< a superuser on node1
    std::string standby_admin_url;  ///< a superuser on node2
    std::string primary_port;
    std::string standby_port;
    std::string dir;     ///< UVDB_TEST_CLUSTER_DIR
    std::string script;  ///< UVDB_TEST_CLUSTER_SCRIPT: scripts/pg-test-cluster.sh
};

/// The cluster, or nullptr (after a WARN, once per case) when none is set up.
const cluster_env* cluster();

/// connect_options for `url` with the suite's connect timeout.
connect_options cluster_options(const std::string& url);

/// When a cluster subcommand ran (steady clock) and how it ended.
struct script_run {
    std::chrono::steady_clock::time_point started;
    std::chrono::steady_clock::time_point finished;
    int status = -1;
};

/// Runs `scripts/pg-test-cluster.sh <subcommand> DIR` on a thread while
/// `loop` keeps running (the load the test puts on the pool goes on), and
/// fails the test when it does not succeed.
script_run run_cluster_script(event_loop& loop, const std::string& subcommand);

/// The node (node1, node2 or none) holding `role` (primary, standby,
/// fenced) now, from DIR/roles.
std::string node_with(const std::string& role);

/// Brings the cluster to `primary` as the primary and the other node as
/// its streaming standby (promote and demote as needed).
void ensure_primary(event_loop& loop, const std::string& primary);

/// The port of node1 or node2.
std::string port_of(const cluster_env& cl, const std::string& node);

}  // namespace uvdb::test

/// Returns from the current test case when there is no cluster.
#define UVDB_CLUSTER_OR_SKIP()                                              \
    const ::uvdb::test::cluster_env* cluster_ptr = ::uvdb::test::cluster(); \
    if (cluster_ptr == nullptr) return;                                     \
    const ::uvdb::test::cluster_env& cl = *cluster_ptr
