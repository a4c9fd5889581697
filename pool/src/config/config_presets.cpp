// The presets: named sets of values for real deployments. Each number has a
// reason, written down in docs/CONFIG.md; change both together.

#include <string_view>
#include <utility>
#include <vector>

#include "config/config_detail.hpp"

namespace uvdb {
namespace {

using values = std::vector<std::pair<std::string_view, std::string_view>>;

// Cloud networks forget idle TCP flows (AWS NLB and NAT gateway: 350 s, Azure
// load balancer: 4 min by default, Google Cloud VPC firewall: 10 min). A
// keepalive probe after 60 s of silence keeps the flow alive well inside the
// shortest of these; when the peer stops answering, probes every 10 s and
// tcp_user_timeout (also bounding data left unacknowledged) give up after
// about 2 minutes instead of Linux's ~15 minutes of retransmissions.
values with_keepalives(values v) {
    v.emplace_back("database.extra.keepalives", "1");
    v.emplace_back("database.extra.keepalives_idle", "60");
    v.emplace_back("database.extra.keepalives_interval", "10");
    v.emplace_back("database.extra.keepalives_count", "6");
    v.emplace_back("database.extra.tcp_user_timeout", "120000");
    return v;
}

}  // namespace

const std::vector<preset_info>& presets() {
    static const std::vector<preset_info> all = {
        {"low-traffic",
         "under 10 requests/s: 5 connections, up to 15 under load",
         {{"pool.size", "5"}, {"pool.max_overflow", "10"}}},
        {"medium",
         "10-100 requests/s (the default): 20 connections, up to 60 under load",
         {{"pool.size", "20"}, {"pool.max_overflow", "40"}}},
        {"high-traffic",
         "over 100 requests/s: 50 connections, up to 100 under load",
         {{"pool.size", "50"}, {"pool.max_overflow", "50"}}},
        {"aws-rds",
         "Amazon RDS/Aurora: recycle after 10 min, keepalives under the 350 s idle timeout of AWS "
         "load balancers and NAT",
         with_keepalives({{"pool.recycle", "600s"}})},
        {"rds-proxy",
         "behind Amazon RDS Proxy: recycle before its 1800 s client idle timeout, keepalives as "
         "aws-rds, no named prepared statements (they pin a connection to its server session)",
         with_keepalives(
             {{"pool.recycle", "1500s"}, {"database.extra.statement_cache_size", "0"}})},
        {"gcp-cloudsql",
         "Google Cloud SQL: recycle after 10 min, keepalives under the VPC firewall's 10 min idle "
         "tracking",
         with_keepalives({{"pool.recycle", "600s"}})},
        {"azure",
         "Azure Database for PostgreSQL: keepalives under the Azure load balancer's 4 min idle "
         "timeout",
         with_keepalives({})},
        {"pgbouncer",
         "behind PgBouncer in transaction mode: every lease starts clean (open transactions rolled "
         "back), no prepared-statement cache, session state (LISTEN, SET, advisory locks, "
         "PREPARE) refused",
         {{"pool.reset_on_return", "true"},
          {"pool.pre_ping", "true"},
          {"pool.transaction_pooler", "true"},
          {"database.extra.statement_cache_size", "0"}}},
    };
    return all;
}

namespace detail::cfg {

const preset_info* find_preset(std::string_view name) {
    for (const auto& p : presets()) {
        if (p.name == name) return &p;
    }
    return nullptr;
}

std::vector<std::string_view> preset_names() {
    std::vector<std::string_view> names;
    for (const auto& p : presets()) names.push_back(p.name);
    return names;
}

}  // namespace detail::cfg
}  // namespace uvdb
