// The read-replica part of the configuration: [[replica]] tables,
// DB_REPLICA_URLS (whitespace-separated, so multi-host URLs keep their
// commas), the lag budget's keys, and describe() with masked URLs.

#include <chrono>
#include <string>

#include "unit/config_test_util.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using config_test::env_map;
using config_test::error_of;
using config_test::load;
using config_test::url_only;

TEST_CASE("config: [[replica]] tables and the lag budget's keys", "[unit][config][routing]") {
    auto r = load(url_only +
                  "[pool]\nmax_replication_lag = \"2s\"\nreplica_probe_interval = \"250ms\"\n"
                  "replica_fallback = \"fail\"\n"
                  "[[replica]]\nurl = \"postgresql://app:pw1@r1.internal:5432/app\"\n"
                  "[[replica]]\nurl = \"postgresql://app@r2.internal:5432/app\"\nsize = 4\n");
    REQUIRE(r.ok());
    REQUIRE(r->replicas.size() == 2);
    CHECK(r->replicas[0].url == "postgresql://app:pw1@r1.internal:5432/app");
    CHECK_FALSE(r->replicas[0].size);
    CHECK(r->replicas[1].size == std::optional<std::size_t>(4));
    CHECK(r->replica.max_replication_lag == 2s);
    CHECK(r->replica.probe_interval == 250ms);
    CHECK(r->replica.fallback == uvdb::replica_fallback::fail);
    CHECK(r->origin("replica").source == uvdb::config_source::file);

    const std::string shown = uvdb::describe(*r);
    CHECK_THAT(shown, Contains("[[replica]]"));
    CHECK_THAT(shown, Contains("r1.internal"));
    CHECK_THAT(shown, !Contains("pw1"));
    CHECK_THAT(shown, Contains("max_replication_lag = \"2s\""));
    CHECK_THAT(shown, Contains("replica_fallback = \"fail\""));
}

TEST_CASE("config: DB_REPLICA_URLS is whitespace-separated and replaces the file's replicas",
          "[unit][config][routing]") {
    auto r = load(url_only + "[[replica]]\nurl = \"postgresql://app@r1.internal:5432/app\"\n",
                  env_map{{"DB_REPLICA_URLS",
                           " postgresql://app@r2.internal:5432,r3.internal:5432/app?"
                           "target_session_attrs=standby\n\tpostgresql://app@r4.internal/app "},
                          {"DB_MAX_REPLICATION_LAG_MS", "1500"},
                          {"DB_REPLICA_PROBE_INTERVAL_MS", "200"},
                          {"DB_REPLICA_FALLBACK", "primary"}});
    REQUIRE(r.ok());
    REQUIRE(r->replicas.size() == 2);
    CHECK(r->replicas[0].url ==
          "postgresql://app@r2.internal:5432,r3.internal:5432/app?target_session_attrs=standby");
    CHECK(r->replicas[1].url == "postgresql://app@r4.internal/app");
    CHECK(r->replica.max_replication_lag == 1500ms);
    CHECK(r->replica.probe_interval == 200ms);
    CHECK(r->origin("replica").where == "DB_REPLICA_URLS");
    CHECK(r->origin("pool.max_replication_lag").where == "DB_MAX_REPLICATION_LAG_MS");
}

TEST_CASE("config: bad replica settings are refused with their position, never the URL",
          "[unit][config][routing]") {
    auto m = error_of(load(url_only + "[[replica]]\nsize = 2\n[[replica]]\nurl = \"mysql://x:"
                                      "topsecret@h/db\"\nport = 1\n"));
    CHECK_THAT(m, Contains("[[replica]] url"));
    CHECK_THAT(m, Contains("unknown key \"port\""));

    m = error_of(load(url_only + "[[replica]]\nsize = 2\n"));
    CHECK_THAT(m, Contains("[[replica]] number 1 has no url"));
    CHECK_THAT(m, !Contains("topsecret"));

    m = error_of(load(url_only + "[replica]\nurl = \"postgresql://h/db\"\n"));
    CHECK_THAT(m, Contains("[[replica]] (two brackets)"));

    m = error_of(
        load(url_only, env_map{{"DB_REPLICA_URLS", "postgresql://h/db mysql://u:pw@h/d"}}));
    CHECK_THAT(m, Contains("DB_REPLICA_URLS: URL 2"));
    CHECK_THAT(m, !Contains(":pw@"));

    m = error_of(
        load(url_only + "[pool]\nreplica_fallback = \"primray\"\nmax_replication_lag = 0\n"));
    CHECK_THAT(m, Contains("did you mean \"primary\""));
    CHECK_THAT(m, Contains("max_replication_lag"));
}
