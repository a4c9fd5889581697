// The environment layer: DATABASE_URL, DB_POOL_SIZE, DB_MAX_OVERFLOW,
// DB_POOL_RECYCLE, DB_POOL_PRE_PING, DB_POOL_TIMEOUT, DB_SLOW_QUERY_MS,
// DB_BREAKER_THRESHOLD, DB_POOL_NAME, DB_PIPELINE_DEPTH and UVDB_LOG_LEVEL map to settings (the
// table in config_settings.cpp names them). UVDB_CONFIG and UVDB_PRESET are
// read by the loader itself.

#include <cstdlib>
#include <memory>

#include "config/config_detail.hpp"

namespace uvdb {

env_lookup process_environment() {
    return [](std::string_view name) -> std::optional<std::string> {
        const std::string n(name);
        const char* v = std::getenv(n.c_str());
        if (v == nullptr) return std::nullopt;
        return std::string(v);
    };
}

env_lookup environment_from(std::map<std::string, std::string, std::less<>> vars) {
    auto shared =
        std::make_shared<const std::map<std::string, std::string, std::less<>>>(std::move(vars));
    return [shared](std::string_view name) -> std::optional<std::string> {
        auto it = shared->find(name);
        if (it == shared->end()) return std::nullopt;
        return it->second;
    };
}

namespace detail::cfg {

std::string env_label(std::string_view name, const std::string& value) {
    std::string out = "environment ";
    out += name;
    // The URL may carry a password: its problems are told by position only.
    if (name != "DATABASE_URL") out += "=\"" + printable(value) + "\"";
    return out;
}

void apply_environment(draft& d, const env_lookup& env, std::vector<std::string>& problems) {
    for (const auto& s : settings()) {
        if (s.env.empty()) continue;
        auto v = env(s.env);
        // Set but empty counts as unset: deployment tools often export
        // every variable of a template, filled in or not.
        if (!v || v->empty()) continue;
        std::string reason = s.set(d, raw_value::from_text(*v));
        if (!reason.empty()) {
            problems.push_back(env_label(s.env, *v) + ": " + reason);
            continue;
        }
        d.cfg.sources[dotted(s)] = {config_source::environment, std::string(s.env)};
    }
}

}  // namespace detail::cfg
}  // namespace uvdb
