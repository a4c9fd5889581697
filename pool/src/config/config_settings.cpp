// The keys a configuration file may hold, how each is converted and stored,
// and how each is shown. One table serves the file, the environment, the
// presets, describe() and the detection of what code changed.

#include <array>
#include <chrono>
#include <string>
#include <uvdb/url.hpp>

#include "config/config_detail.hpp"

namespace uvdb::detail::cfg {
namespace {

using std::chrono::milliseconds;

// Each helper converts, stores on success and returns the refusal's reason.
template <class T, class Store>
std::string store(converted<T> r, Store&& s) {
    if (!r.value) return std::move(r.reason);
    s(std::move(*r.value));
    return {};
}

std::string count_text(std::size_t n) { return std::to_string(n); }
std::string bool_text(bool b) { return b ? "true" : "false"; }
std::string duration_text(milliseconds d) { return quote(format_duration(d)); }

bool has_control(std::string_view s) {
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) return true;
    }
    return false;
}

std::string set_url(draft& d, const raw_value& v) {
    auto s = to_string_value(v);
    if (!s.value) return s.reason;
    if (s.value->empty()) return "is empty; expected postgresql://user@host:port/database";
    if (auto why = check_url(*d.registry, *s.value); !why.empty()) return why;  // never the text
    d.cfg.pool.connection.url = std::move(*s.value);
    return {};
}

std::string set_path(std::string& out, const raw_value& v, std::string_view what) {
    auto s = to_string_value(v);
    if (!s.value) return s.reason;
    if (s.value->empty()) return "is empty; expected " + std::string(what);
    if (has_control(*s.value) || s.value->find('\0') != std::string::npos) {
        return "contains control characters";
    }
    out = std::move(*s.value);
    return {};
}

// The pool's name is a metrics label value: any printable text.
std::string set_pool_name(draft& d, const raw_value& v) {
    auto s = to_string_value(v);
    if (!s.value) return s.reason;
    if (s.value->empty()) return "is empty; expected a name such as \"orders\"";
    if (has_control(*s.value)) return "contains control characters";
    d.cfg.pool.name = std::move(*s.value);
    return {};
}

std::string set_env_name(std::string& out, const raw_value& v) {
    auto s = to_string_value(v);
    if (!s.value) return s.reason;
    if (s.value->empty()) return "is empty; expected the name of an environment variable";
    for (char c : *s.value) {
        const bool ok =
            (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) return "expected the name of an environment variable (letters, digits, _)";
    }
    out = std::move(*s.value);
    return {};
}

std::string set_application_name(draft& d, const raw_value& v) {
    auto s = to_string_value(v);
    if (!s.value) return s.reason;
    if (has_control(*s.value)) return "contains control characters";
    d.cfg.pool.connection.application_name = std::move(*s.value);
    return {};
}

std::string set_preset(draft& d, const raw_value& v) {
    auto s = to_string_value(v);
    if (!s.value) return s.reason;
    if (find_preset(*s.value) == nullptr) {
        return "unknown preset " + quote(printable(*s.value)) +
               did_you_mean(*s.value, preset_names()) + " (presets: " +
               [] {
                   std::string all;
                   for (auto n : preset_names()) all += (all.empty() ? "" : ", ") + std::string(n);
                   return all;
               }() +
               ")";
    }
    d.cfg.preset = std::move(*s.value);
    return {};
}

std::string set_order(draft& d, const raw_value& v) {
    auto s = to_string_value(v);
    if (!s.value) return s.reason;
    if (*s.value == "lifo") {
        d.cfg.pool.order = idle_order::lifo;
    } else if (*s.value == "fifo") {
        d.cfg.pool.order = idle_order::fifo;
    } else {
        return "expected \"lifo\" or \"fifo\"" + did_you_mean(*s.value, {"lifo", "fifo"});
    }
    return {};
}

const std::vector<std::string_view>& log_levels() {
    static const std::vector<std::string_view> levels = {"trace", "debug",    "info", "warn",
                                                         "error", "critical", "off"};
    return levels;
}

std::string set_log_level(draft& d, const raw_value& v) {
    auto s = to_string_value(v);
    if (!s.value) return s.reason;
    std::string level = *s.value == "warning" ? std::string("warn") : *s.value;
    for (auto l : log_levels()) {
        if (l == level) {
            d.cfg.log_level = std::move(level);
            return {};
        }
    }
    return "expected one of trace, debug, info, warn, error, critical, off" +
           did_you_mean(*s.value, log_levels());
}

// Setters and getters of pool_options members, by member pointer, so that
// one table line declares a key.
template <std::size_t pool_options::*member, std::size_t min>
std::string set_count(draft& d, const raw_value& v) {
    return store(to_count(v, min), [&](std::size_t n) { d.cfg.pool.*member = n; });
}
template <std::size_t pool_options::*member>
std::string get_count(const config& c) {
    return count_text(c.pool.*member);
}
template <milliseconds pool_options::*member, int min_ms>
std::string set_duration(draft& d, const raw_value& v) {
    return store(to_duration(v, milliseconds(min_ms)),
                 [&](milliseconds x) { d.cfg.pool.*member = x; });
}
template <milliseconds pool_options::*member>
std::string get_duration(const config& c) {
    return duration_text(c.pool.*member);
}
template <milliseconds connect_options::*member>
std::string set_connect_duration(draft& d, const raw_value& v) {
    // Zero is allowed: it means "no deadline" for both connection timeouts.
    return store(to_duration(v, milliseconds(0)),
                 [&](milliseconds x) { d.cfg.pool.connection.*member = x; });
}
template <milliseconds connect_options::*member>
std::string get_connect_duration(const config& c) {
    return duration_text(c.pool.connection.*member);
}
template <bool pool_options::*member>
std::string set_flag(draft& d, const raw_value& v) {
    return store(to_bool(v), [&](bool b) { d.cfg.pool.*member = b; });
}
template <bool pool_options::*member>
std::string get_flag(const config& c) {
    return bool_text(c.pool.*member);
}

const std::vector<setting>& table() {
    static const std::vector<setting> t = {
        {"database", "url", "DATABASE_URL", set_url,
         [](const config& c) { return quote(mask_password(c.pool.connection.url)); }},
        {"database", "password_file", "",
         [](draft& d, const raw_value& v) {
             return set_path(d.password_file, v, "the path of a file");
         },
         [](const config&) { return std::string(); }},
        {"database", "password_env", "",
         [](draft& d, const raw_value& v) { return set_env_name(d.password_env, v); },
         [](const config&) { return std::string(); }},
        {"database", "password_command", "",
         [](draft& d, const raw_value& v) {
             return set_path(d.password_command, v, "a command that prints the password");
         },
         [](const config&) { return std::string(); }},
        {"database", "password_command_timeout", "",
         [](draft& d, const raw_value& v) {
             return store(to_duration(v, milliseconds(1)),
                          [&](milliseconds x) { d.password_command_timeout = x; });
         },
         [](const config&) { return std::string(); }},
        {"database", "application_name", "", set_application_name,
         [](const config& c) { return quote(c.pool.connection.application_name); }},
        {"database", "connect_timeout", "", set_connect_duration<&connect_options::connect_timeout>,
         get_connect_duration<&connect_options::connect_timeout>},
        {"database", "query_timeout", "", set_connect_duration<&connect_options::query_timeout>,
         get_connect_duration<&connect_options::query_timeout>},
        {"pool", "preset", "", set_preset, [](const config& c) { return quote(c.preset); }},
        {"pool", "name", "DB_POOL_NAME", set_pool_name,
         [](const config& c) { return quote(c.pool.name); }},
        {"pool", "size", "DB_POOL_SIZE", set_count<&pool_options::size, 1>,
         get_count<&pool_options::size>},
        {"pool", "max_overflow", "DB_MAX_OVERFLOW", set_count<&pool_options::max_overflow, 0>,
         get_count<&pool_options::max_overflow>},
        {"pool", "timeout", "DB_POOL_TIMEOUT", set_duration<&pool_options::timeout, 1>,
         get_duration<&pool_options::timeout>},
        {"pool", "recycle", "DB_POOL_RECYCLE", set_duration<&pool_options::recycle, 1>,
         get_duration<&pool_options::recycle>},
        {"pool", "pre_ping", "DB_POOL_PRE_PING", set_flag<&pool_options::pre_ping>,
         get_flag<&pool_options::pre_ping>},
        {"pool", "min_idle", "", set_count<&pool_options::min_idle, 0>,
         get_count<&pool_options::min_idle>},
        {"pool", "max_waiters", "", set_count<&pool_options::max_waiters, 0>,
         get_count<&pool_options::max_waiters>},
        {"pool", "pre_ping_idle_threshold", "",
         set_duration<&pool_options::pre_ping_idle_threshold, 0>,
         get_duration<&pool_options::pre_ping_idle_threshold>},
        {"pool", "ping_timeout", "", set_duration<&pool_options::ping_timeout, 1>,
         get_duration<&pool_options::ping_timeout>},
        {"pool", "recycle_jitter", "",
         [](draft& d, const raw_value& v) {
             return store(to_fraction(v), [&](double x) { d.cfg.pool.recycle_jitter = x; });
         },
         [](const config& c) {
             std::string s = std::to_string(c.pool.recycle_jitter);
             while (s.size() > 3 && s.back() == '0') s.pop_back();
             return s;
         }},
        {"pool", "idle_timeout", "", set_duration<&pool_options::idle_timeout, 0>,
         get_duration<&pool_options::idle_timeout>},
        {"pool", "overflow_linger", "", set_duration<&pool_options::overflow_linger, 0>,
         get_duration<&pool_options::overflow_linger>},
        {"pool", "overflow_delay", "",
         [](draft& d, const raw_value& v) -> std::string {
             if (v.t == raw_value::type::string && v.text == "auto") {
                 d.cfg.pool.overflow_delay.reset();
                 return {};
             }
             auto r = to_duration(v, milliseconds(0));
             if (!r.value) return r.reason + " (or \"auto\": the pool's recent connect time)";
             d.cfg.pool.overflow_delay = *r.value;
             return {};
         },
         [](const config& c) {
             return c.pool.overflow_delay ? duration_text(*c.pool.overflow_delay)
                                          : std::string("\"auto\"");
         }},
        {"pool", "order", "", set_order,
         [](const config& c) {
             return std::string(c.pool.order == idle_order::fifo ? "\"fifo\"" : "\"lifo\"");
         }},
        {"pool", "reset_on_return", "", set_flag<&pool_options::reset_on_return>,
         get_flag<&pool_options::reset_on_return>},
        {"pool", "reset_query", "",
         [](draft& d, const raw_value& v) {
             auto s = to_string_value(v);
             if (!s.value) return s.reason;
             if (s.value->find('\0') != std::string::npos)
                 return std::string("contains a NUL character");
             d.cfg.pool.reset_query = std::move(*s.value);
             return std::string();
         },
         [](const config& c) { return quote(c.pool.reset_query); }},
        {"pool", "transaction_pooler", "DB_POOL_TRANSACTION_POOLER",
         set_flag<&pool_options::transaction_pooler>, get_flag<&pool_options::transaction_pooler>},
        {"pool", "pipeline_depth", "DB_PIPELINE_DEPTH",
         [](draft& d, const raw_value& v) -> std::string {
             auto r = to_count(v, 0);
             if (!r.value) return r.reason + " (0 = off)";
             if (*r.value > pool_defaults::pipeline_depth_max) {
                 return "is " + std::to_string(*r.value) + ", more than " +
                        std::to_string(pool_defaults::pipeline_depth_max) +
                        " (0 = off; 2 to 16 is the useful range)";
             }
             d.cfg.pool.pipeline_depth = *r.value;
             return {};
         },
         get_count<&pool_options::pipeline_depth>},
        {"pool", "pipeline_max_front_age", "",
         set_duration<&pool_options::pipeline_max_front_age, 1>,
         get_duration<&pool_options::pipeline_max_front_age>},
        {"pool", "max_connecting", "", set_count<&pool_options::max_connecting, 1>,
         get_count<&pool_options::max_connecting>},
        {"pool", "connect_backoff_base", "", set_duration<&pool_options::connect_backoff_base, 0>,
         get_duration<&pool_options::connect_backoff_base>},
        {"pool", "connect_backoff_cap", "", set_duration<&pool_options::connect_backoff_cap, 0>,
         get_duration<&pool_options::connect_backoff_cap>},
        {"pool", "breaker_threshold", "DB_BREAKER_THRESHOLD",
         set_count<&pool_options::breaker_threshold, 0>,
         get_count<&pool_options::breaker_threshold>},
        {"pool", "leak_threshold", "", set_duration<&pool_options::leak_threshold, 0>,
         get_duration<&pool_options::leak_threshold>},
        // A count of milliseconds, the unit in the key's name (the slow-query
        // log's threshold is told in ms everywhere; 0 = off).
        {"pool", "slow_query_threshold_ms", "DB_SLOW_QUERY_MS",
         [](draft& d, const raw_value& v) {
             return store(to_count(v, 0), [&](std::size_t n) {
                 d.cfg.pool.slow_query_threshold = milliseconds(static_cast<std::int64_t>(n));
             });
         },
         [](const config& c) { return std::to_string(c.pool.slow_query_threshold.count()); }},
        {"pool", "slow_query_log_params", "", set_flag<&pool_options::slow_query_log_params>,
         get_flag<&pool_options::slow_query_log_params>},
        {"pool", "max_replication_lag", "DB_MAX_REPLICATION_LAG_MS", set_max_replication_lag,
         get_max_replication_lag},
        {"pool", "replica_probe_interval", "DB_REPLICA_PROBE_INTERVAL_MS",
         set_replica_probe_interval, get_replica_probe_interval},
        {"pool", "replica_fallback", "DB_REPLICA_FALLBACK", set_replica_fallback,
         get_replica_fallback},
        {"log", "level", "UVDB_LOG_LEVEL", set_log_level,
         [](const config& c) { return quote(c.log_level); }},
    };
    return t;
}

}  // namespace

const std::vector<setting>& settings() { return table(); }

const setting* find_setting(std::string_view section, std::string_view key) {
    for (const auto& s : table()) {
        if (s.section == section && s.key == key) return &s;
    }
    return nullptr;
}

std::string dotted(const setting& s) {
    std::string out(s.section);
    out += '.';
    out += s.key;
    return out;
}

const std::vector<std::string_view>& section_names() {
    static const std::vector<std::string_view> names = {"database", "pool", "log"};
    return names;
}

std::vector<std::string_view> keys_of(std::string_view section) {
    std::vector<std::string_view> keys;
    for (const auto& s : table()) {
        if (s.section == section) keys.push_back(s.key);
    }
    if (section == "database") keys.push_back("extra");
    return keys;
}

bool secret_extra(std::string_view key) {
    std::string lower;
    for (char c : key) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    return lower.find("password") != std::string::npos || lower.find("secret") != std::string::npos;
}

std::string set_extra(config& c, std::string_view key, const raw_value& v) {
    if (key.empty()) return "the key is empty";
    if (key == "password") {
        return "a password does not belong in [database.extra]: use [database] password_file or "
               "password_env";
    }
    if (key == "application_name" || key == "connect_timeout") {
        return "use [database] " + std::string(key) + " instead";
    }
    std::string text;
    switch (v.t) {
        case raw_value::type::string:
            text = v.text;
            break;
        case raw_value::type::integer:
            text = std::to_string(v.integer);
            break;
        case raw_value::type::boolean:
            text = v.boolean ? "1" : "0";
            break;
        case raw_value::type::floating:
            text = describe_type(v);
            break;
        default:
            return "expected a string, a number or a boolean, got " + describe_type(v);
    }
    if (text.find('\0') != std::string::npos) return "contains a NUL character";
    c.pool.connection.extra[std::string(key)] = std::move(text);
    return {};
}

}  // namespace uvdb::detail::cfg
