// Presets: every one loads and validates, sets what docs/CONFIG.md says,
// and gives way to the URL, the file, the environment and code.

#include <chrono>
#include <set>
#include <string>

#include "unit/config_test_util.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using config_test::load;
using config_test::url_only;

namespace {

uvdb::config with_preset(const std::string& name, const std::string& toml = url_only) {
    auto r = load(toml, {{"UVDB_PRESET", name}});
    INFO("preset " << name << ": " << (r.ok() ? std::string() : r.err().message()));
    REQUIRE(r.ok());
    return *r;
}

long keepalive_idle_s(const uvdb::config& c) {
    return std::stol(c.connection().extra.at("keepalives_idle"));
}

}  // namespace

TEST_CASE("config: every preset loads, validates and sets the values it lists", "[unit][config]") {
    std::set<std::string> names;
    for (const auto& p : uvdb::presets()) {
        INFO("preset " << p.name);
        names.insert(std::string(p.name));
        const uvdb::config c = with_preset(std::string(p.name));
        CHECK(c.preset == p.name);
        CHECK(validate(c.pool).ok());
        CHECK_FALSE(p.summary.empty());
        CHECK_FALSE(p.values.empty());
        for (const auto& [key, value] : p.values) {
            INFO("key " << key);
            CHECK(to_string(c.origin(key)) == "preset " + std::string(p.name));
        }
    }
    CHECK(names == std::set<std::string>{"low-traffic", "medium", "high-traffic", "aws-rds",
                                         "rds-proxy", "gcp-cloudsql", "azure", "pgbouncer"});
}

TEST_CASE("config: traffic presets size the pool", "[unit][config]") {
    const auto low = with_preset("low-traffic");
    CHECK(low.pool.size == 5);
    CHECK(low.pool.max_overflow == 10);
    const auto medium = with_preset("medium");
    CHECK(medium.pool.size == 20);
    CHECK(medium.pool.max_overflow == 40);
    const auto high = with_preset("high-traffic");
    CHECK(high.pool.size == 50);
    CHECK(high.pool.max_overflow == 50);
}

TEST_CASE("config: cloud presets keep idle flows alive inside each network's idle timeout",
          "[unit][config]") {
    const auto aws = with_preset("aws-rds");
    CHECK(aws.pool.recycle == 600s);
    CHECK(aws.connection().extra.at("keepalives") == "1");
    CHECK(keepalive_idle_s(aws) < 350 / 2);  // AWS NLB / NAT gateway: 350 s

    const auto proxy = with_preset("rds-proxy");
    CHECK(proxy.pool.recycle < 1800s);  // RDS Proxy's default IdleClientTimeout
    CHECK(keepalive_idle_s(proxy) < 350 / 2);
    // Named prepared statements pin a client connection to its server session.
    CHECK(proxy.connection().extra.at("statement_cache_size") == "0");

    const auto gcp = with_preset("gcp-cloudsql");
    CHECK(gcp.pool.recycle == 600s);
    CHECK(keepalive_idle_s(gcp) < 600 / 2);  // VPC firewall connection tracking: 10 min

    const auto azure = with_preset("azure");
    CHECK(keepalive_idle_s(azure) < 240 / 2);  // Azure load balancer: 4 min
    CHECK(azure.pool.recycle == 3600s);

    for (const auto* c : {&aws, &proxy, &gcp, &azure}) {
        const long idle = keepalive_idle_s(*c);
        const long interval = std::stol(c->connection().extra.at("keepalives_interval"));
        const long count = std::stol(c->connection().extra.at("keepalives_count"));
        // A dead peer is given up within a few minutes, not Linux's ~15.
        CHECK(idle + interval * count <= 180);
        CHECK(std::stol(c->connection().extra.at("tcp_user_timeout")) <= 180'000);
    }
}

TEST_CASE("config: the pgbouncer preset resets every connection on return", "[unit][config]") {
    const auto c = with_preset("pgbouncer");
    CHECK(c.pool.reset_on_return);
    CHECK(c.pool.pre_ping);
    CHECK(to_string(c.origin("pool.reset_on_return")) == "preset pgbouncer");
    // Named prepared statements do not survive PgBouncer's transaction pooling.
    CHECK(c.connection().extra.at("statement_cache_size") == "0");
}

TEST_CASE("config: a backend parameter in the URL or the file beats the preset's",
          "[unit][config]") {
    const auto in_url = with_preset(
        "aws-rds", "[database]\nurl = \"postgresql://app@db:5432/app?keepalives_idle=30\"\n");
    CHECK(in_url.connection().extra.count("keepalives_idle") == 0);  // libpq takes the URL's 30
    CHECK(in_url.connection().extra.at("keepalives_interval") == "10");

    const auto in_file =
        with_preset("aws-rds", url_only + "[database.extra]\nkeepalives_idle = 45\n");
    CHECK(in_file.connection().extra.at("keepalives_idle") == "45");
    CHECK(to_string(in_file.origin("database.extra.keepalives_idle")) == "file uvdb.toml:4:1");
}

TEST_CASE("config: the preset's name goes into the start-up log line", "[unit][config]") {
    const auto c = with_preset("gcp-cloudsql");
    int presets_seen = 0;
    for (const auto& [k, v] : c.pool.log_fields) {
        if (k == "preset") {
            ++presets_seen;
            CHECK(v == "gcp-cloudsql");
        }
    }
    CHECK(presets_seen == 1);
    CHECK_THAT(engine_configured_line(c.pool), Contains("preset=gcp-cloudsql"));
    CHECK_THAT(engine_configured_line(c.pool), Contains("pool_recycle=600"));
}

TEST_CASE("config: describe shows each value with its source and no password", "[unit][config]") {
    auto r = load(
        "[database]\nurl = \"postgresql://app:hunter2@db:5432/app\"\n[pool]\npreset = "
        "\"aws-rds\"\n",
        {{"DB_POOL_SIZE", "8"}});
    REQUIRE(r.ok());
    const std::string text = describe(*r);
    CHECK_THAT(text, Contains("url = \"postgresql://app:***@db:5432/app\"  # file uvdb.toml:2:1"));
    CHECK_THAT(text, Contains("# password: in the URL (hidden)"));
    CHECK_THAT(text, Contains("preset = \"aws-rds\""));
    CHECK_THAT(text, Contains("size = 8"));
    CHECK_THAT(text, Contains("# environment DB_POOL_SIZE"));
    CHECK_THAT(text, Contains("recycle = \"10m\""));
    CHECK_THAT(text, Contains("# preset aws-rds"));
    CHECK_THAT(text, Contains("[database.extra]"));
    CHECK_THAT(text, Contains("keepalives_idle = \"60\""));
    CHECK_THAT(text, Contains("# total connections: 48 (size 8 + max_overflow 40)"));
    CHECK_THAT(text, !Contains("hunter2"));
}
