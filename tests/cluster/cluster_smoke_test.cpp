// The test cluster itself (scripts/pg-test-cluster.sh): each URL connects,
// the standby is in recovery and the primary is not, the multi-host URL
// lands on the primary, and a query passes through PgBouncer.

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <uvdb/event_loop.hpp>

#include "cluster/support/cluster_env.hpp"
#include "integration/support/test_env.hpp"

namespace t = uvdb::test;

namespace {

const char* const in_recovery = "SELECT pg_is_in_recovery()";
const char* const server_port = "SELECT inet_server_port()";

}  // namespace

TEST_CASE("cluster: primary, standby, multi-host URL and PgBouncer answer", "[cluster]") {
    UVDB_CLUSTER_OR_SKIP();
    uvdb::event_loop loop;

    auto primary = t::connect_or_fail(loop, t::cluster_options(cl.primary_url));
    CHECK_FALSE(t::scalar<bool>(loop, *primary, in_recovery));
    CHECK(std::to_string(t::scalar<std::int32_t>(loop, *primary, server_port)) == cl.primary_port);

    auto standby = t::connect_or_fail(loop, t::cluster_options(cl.standby_url));
    CHECK(t::scalar<bool>(loop, *standby, in_recovery));

    // pg_stat_wal_receiver shows its status to superusers only.
    auto admin = t::connect_or_fail(loop, t::cluster_options(cl.standby_admin_url));
    CHECK(t::scalar<bool>(loop, *admin, in_recovery));
    CHECK(t::scalar<std::string>(loop, *admin, "SELECT status FROM pg_stat_wal_receiver") ==
          "streaming");

    // target_session_attrs=read-write: the primary, whichever host comes first.
    auto multi = t::connect_or_fail(loop, t::cluster_options(cl.multihost_url));
    CHECK_FALSE(t::scalar<bool>(loop, *multi, in_recovery));

    // PgBouncer in transaction pooling: the query reaches the primary. Named
    // prepared statements do not survive a transaction pooler (each
    // transaction may get another server connection): the cache is off.
    auto bouncer_opts = t::cluster_options(cl.pgbouncer_url);
    bouncer_opts.extra["statement_cache_size"] = "0";
    auto bouncer = t::connect_or_fail(loop, bouncer_opts);
    CHECK(t::scalar<std::int32_t>(loop, *bouncer, "SELECT 41 + 1") == 42);
    CHECK_FALSE(t::scalar<bool>(loop, *bouncer, in_recovery));
}
