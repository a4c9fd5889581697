// The read-replica part of the configuration: [[replica]] tables, the
// DB_REPLICA_URLS variable and the replica policy's [pool] keys
// (max_replication_lag, replica_probe_interval, replica_fallback).

#include <string>
#include <utility>
#include <uvdb/url.hpp>

#include "config/config_detail.hpp"

namespace uvdb {

// Here rather than beside the routing pool: the configuration code is also
// built alone (the clang fuzz build), and describe() needs it.
std::string_view to_string(replica_fallback f) noexcept {
    return f == replica_fallback::fail ? "fail" : "primary";
}

}  // namespace uvdb

namespace uvdb::detail::cfg {
namespace {

using std::chrono::milliseconds;

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

// The environment names these in milliseconds (DB_MAX_REPLICATION_LAG_MS):
// a bare number from there is ms, while the file takes a duration ("5s",
// "500ms"; a bare number is seconds there, as for every duration key).
converted<milliseconds> to_lag_duration(const raw_value& v) {
    if (v.textual && all_digits(v.text)) {
        if (v.text.size() > 12) return {std::nullopt, "is too large"};
        const milliseconds ms(std::stoll(v.text));
        if (ms.count() <= 0) return {std::nullopt, "must be positive"};
        return {ms, {}};
    }
    return to_duration(v, milliseconds(1));
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

std::string set_max_replication_lag(draft& d, const raw_value& v) {
    auto r = to_lag_duration(v);
    if (!r.value) return r.reason;
    d.cfg.replica.max_replication_lag = *r.value;
    return {};
}
std::string get_max_replication_lag(const config& c) {
    return quote(format_duration(c.replica.max_replication_lag));
}

std::string set_replica_probe_interval(draft& d, const raw_value& v) {
    auto r = to_lag_duration(v);
    if (!r.value) return r.reason;
    d.cfg.replica.probe_interval = *r.value;
    return {};
}
std::string get_replica_probe_interval(const config& c) {
    return quote(format_duration(c.replica.probe_interval));
}

std::string set_replica_fallback(draft& d, const raw_value& v) {
    auto s = to_string_value(v);
    if (!s.value) return s.reason;
    if (*s.value == "primary") {
        d.cfg.replica.fallback = replica_fallback::primary;
    } else if (*s.value == "fail") {
        d.cfg.replica.fallback = replica_fallback::fail;
    } else {
        return "expected \"primary\" or \"fail\"" + did_you_mean(*s.value, {"primary", "fail"});
    }
    return {};
}
std::string get_replica_fallback(const config& c) { return quote(to_string(c.replica.fallback)); }

std::vector<std::string_view> replica_keys() { return {"url", "size"}; }

std::string set_replica_key(draft& d, std::size_t index, std::string_view key, const raw_value& v) {
    auto& list = d.cfg.replicas;
    if (list.size() <= index) list.resize(index + 1);
    replica_config& r = list[index];
    if (key == "url") {
        auto s = to_string_value(v);
        if (!s.value) return s.reason;
        if (s.value->empty()) return "is empty; expected postgresql://user@host:port/database";
        if (auto why = check_url(*d.registry, *s.value); !why.empty())
            return why;  // never the text
        r.url = std::move(*s.value);
        return {};
    }
    if (key == "size") {
        auto n = to_count(v, 1);
        if (!n.value) return n.reason;
        r.size = *n.value;
        return {};
    }
    return "unknown key " + quote(printable(key)) + did_you_mean(key, replica_keys()) +
           " (keys: url, size)";
}

void apply_replica_environment(draft& d, const env_lookup& env,
                               std::vector<std::string>& problems) {
    auto v = env("DB_REPLICA_URLS");
    if (!v || v->empty()) return;
    // Whitespace separates the URLs: a multi-host URL holds commas
    // (postgresql://h1:5432,h2:5432/db), and a URL holds no unencoded space.
    std::vector<replica_config> list;
    std::size_t i = 0;
    const std::string& s = *v;
    while (i < s.size()) {
        while (i < s.size() && is_space(s[i])) ++i;
        std::size_t j = i;
        while (j < s.size() && !is_space(s[j])) ++j;
        if (j > i) list.push_back({s.substr(i, j - i), std::nullopt});
        i = j;
    }
    bool ok = true;
    for (std::size_t k = 0; k < list.size(); ++k) {
        // Only the position is told: the URL may hold a password.
        if (auto why = check_url(*d.registry, list[k].url); !why.empty()) {
            problems.push_back("environment DB_REPLICA_URLS: URL " + std::to_string(k + 1) + ": " +
                               why);
            ok = false;
        }
    }
    if (!ok) return;
    d.cfg.replicas = std::move(list);
    d.cfg.sources["replica"] = {config_source::environment, "DB_REPLICA_URLS"};
}

}  // namespace uvdb::detail::cfg
