// pool_options checks and the start-up line, next to the configuration
// loader that fills pool_options; the pool calls them when it is created.

#include <cstdio>
#include <string>
#include <utility>
#include <uvdb/pool_options.hpp>
#include <uvdb/url.hpp>

namespace uvdb {

namespace {
using std::chrono::milliseconds;

error bad_option(std::string what) {
    return error(errc::bad_config, "invalid pool option: " + std::move(what));
}
}  // namespace

result<void> validate(const pool_options& o) {
    if (o.size + o.max_overflow == 0)
        return bad_option("size + max_overflow must be at least 1 (both are 0)");
    if (o.min_idle > o.size) {
        return bad_option("min_idle " + std::to_string(o.min_idle) + " is larger than size " +
                          std::to_string(o.size));
    }
    if (o.max_connecting == 0) return bad_option("max_connecting must be at least 1");
    if (!(o.recycle_jitter >= 0.0 && o.recycle_jitter < 1.0)) {
        return bad_option("recycle_jitter must be in [0, 1), e.g. 0.1 for up to 10 %");
    }
    const std::pair<const char*, milliseconds> durations[] = {
        {"timeout", o.timeout},
        {"pre_ping_idle_threshold", o.pre_ping_idle_threshold},
        {"ping_timeout", o.ping_timeout},
        {"idle_timeout", o.idle_timeout},
        {"overflow_linger", o.overflow_linger},
        {"connect_backoff_base", o.connect_backoff_base},
        {"connect_backoff_cap", o.connect_backoff_cap},
        {"leak_threshold", o.leak_threshold},
        {"slow_query_threshold", o.slow_query_threshold},
        {"overflow_delay", o.overflow_delay.value_or(milliseconds{0})},
        {"pipeline_max_front_age", o.pipeline_max_front_age},
    };
    for (const auto& [name, value] : durations) {
        if (value.count() < 0) {
            return bad_option(std::string(name) + " must not be negative (it is " +
                              std::to_string(value.count()) + " ms)");
        }
    }
    if (o.pipeline_depth > pool_defaults::pipeline_depth_max) {
        return bad_option("pipeline_depth " + std::to_string(o.pipeline_depth) +
                          " is larger than " + std::to_string(pool_defaults::pipeline_depth_max) +
                          " (0 = off; 2 to 16 is the useful range)");
    }
    if (o.pipeline_depth > 1 && o.pipeline_max_front_age.count() == 0) {
        return bad_option("pipeline_max_front_age must be positive when pipeline_depth is on");
    }
    if (o.ping_timeout.count() == 0 && o.pre_ping) {
        return bad_option("ping_timeout must be positive when pre_ping is on");
    }
    return {};
}

namespace {
/// Seconds as the start-up line shows them: "30", "0.5".
std::string seconds_text(milliseconds d) {
    if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(d.count()) / 1000.0);
    std::string s(buf);
    while (!s.empty() && s.back() == '0') s.pop_back();
    return s;
}

/// The URL as the start-up line shows it: the password masked, and shown as
/// masked too when it comes from elsewhere (password_file, password_env, code),
/// so the line tells the operator that a password is in use.
std::string url_for_log(const connect_options& c) {
    std::string url = mask_password(c.url);
    if (c.password.empty()) return url;
    const auto scheme_end = url.find("://");
    if (scheme_end == std::string::npos) return url;  // key=value string: no user info to mark
    const auto authority = scheme_end + 3;
    const auto at = url.find('@', authority);
    const auto slash = url.find_first_of("/?", authority);
    if (at == std::string::npos || (slash != std::string::npos && slash < at))
        return url;                                 // no user
    if (url.find(':', authority) < at) return url;  // the URL's own password, already masked
    url.insert(at, ":***");
    return url;
}
}  // namespace

std::string engine_configured_line(const pool_options& opts) {
    std::string line = "database_engine_configured";
    auto field = [&line](std::string_view key, const std::string& value) {
        line += ' ';
        line += key;
        line += '=';
        line += value;
    };
    field("pool_size", std::to_string(opts.size));
    field("max_overflow", std::to_string(opts.max_overflow));
    field("pool_recycle", seconds_text(opts.recycle));
    field("pool_pre_ping", opts.pre_ping ? "true" : "false");
    field("pool_timeout", seconds_text(opts.timeout));
    field("total_connections", std::to_string(opts.max_total()));
    // After the sizing fields the SQLAlchemy line has, so its familiar
    // prefix stays as it is.
    field("overflow_delay",
          opts.overflow_delay ? seconds_text(*opts.overflow_delay) : std::string("auto"));
    if (opts.pipeline_depth != 0) {
        // Only when set, so that the line stays as it was for pools that do
        // not pipeline.
        field("pipeline_depth", std::to_string(opts.pipeline_depth));
        field("pipeline_max_front_age", seconds_text(opts.pipeline_max_front_age));
    }
    if (!opts.reset_query.empty()) {
        // Quoted, on one line: the log stays one record per event.
        std::string q = "\"";
        for (char c : opts.reset_query)
            q += (c == '\n' || c == '\r' || c == '\t') ? ' ' : (c == '"' ? '\'' : c);
        q += '"';
        field("reset_query", q);
    }
    // Extra fields (preset=…) before the URL, as operators read the line left
    // to right: the sizing, where it came from, then the (long) URL last.
    for (const auto& [key, value] : opts.log_fields) field(key, value);
    field("url", url_for_log(opts.connection));
    return line;
}

}  // namespace uvdb
