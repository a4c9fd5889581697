// Showing a configuration to people: describe() (TOML with the origin of
// each value), the debug lines of log_sources(), and the log level. The
// password is never shown; the URL is shown masked.

#include <spdlog/logger.h>

#include <algorithm>
#include <string>
#include <uvdb/log.hpp>
#include <uvdb/url.hpp>
#include <vector>

#include "config/config_detail.hpp"

namespace uvdb {
namespace {

using namespace detail::cfg;

struct line {
    std::string text;
    std::string comment;
};

void flush_section(std::string& out, const std::string& header, const std::vector<line>& lines) {
    if (lines.empty()) return;
    out += '\n';
    out += header;
    out += '\n';
    std::size_t width = 0;
    for (const auto& l : lines) width = std::max(width, l.text.size());
    width = std::min<std::size_t>(width, 64);
    for (const auto& l : lines) {
        out += l.text;
        if (!l.comment.empty()) {
            out.append(l.text.size() < width ? width - l.text.size() : 0, ' ');
            out += "  # ";
            out += l.comment;
        }
        out += '\n';
    }
}

/// A bare TOML key when it can be one, else a quoted key.
std::string toml_key(std::string_view k) {
    bool bare = !k.empty();
    for (char c : k) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-';
        bare = bare && ok;
    }
    return bare ? std::string(k) : quote(k);
}

std::string extra_value(std::string_view key, const std::string& value) {
    return secret_extra(key) ? std::string("\"***\"") : quote(value);
}

/// The password line: how it is given, never what it is.
line password_line(const config& c) {
    const std::string& from = c.password_from;
    const std::string origin = to_string(c.origin("database.password"));
    if (from.rfind("password_file ", 0) == 0)
        return {"password_file = " + quote(from.substr(14)), origin};
    if (from.rfind("password_env ", 0) == 0)
        return {"password_env = " + quote(from.substr(13)), origin};
    // The command is shown (it names how the secret is fetched), never its output.
    if (from.rfind("password_command ", 0) == 0)
        return {"password_command = " + quote(from.substr(17)), origin};
    if (from == "url") return {"# password: in the URL (hidden)", {}};
    if (from == "code") return {"# password: set by the application (hidden)", {}};
    return {"# password: none given (libpq may use PGPASSWORD or ~/.pgpass)", {}};
}

bool is_meta(const setting& s) {
    return s.section == "database" &&
           (s.key == "password_file" || s.key == "password_env" || s.key == "password_command" ||
            s.key == "password_command_timeout");
}

}  // namespace

std::string describe(const config& c) {
    std::string out = "# uvdb configuration in effect; after each value, where it came from\n";
    out += "# file: " + (c.file.empty() ? std::string("(none)") : printable(c.file, 200)) + "\n";
    out += "# total connections: " + std::to_string(c.pool.max_total()) + " (size " +
           std::to_string(c.pool.size) + " + max_overflow " + std::to_string(c.pool.max_overflow) +
           ")\n";
    for (std::string_view section : section_names()) {
        std::vector<line> lines;
        for (const auto& s : settings()) {
            if (s.section != section || is_meta(s)) continue;
            lines.push_back(
                {std::string(s.key) + " = " + s.get(c), to_string(c.origin(dotted(s)))});
            if (section == "database" && s.key == "url") lines.push_back(password_line(c));
        }
        flush_section(out, "[" + std::string(section) + "]", lines);
        if (section == "database") {
            std::vector<line> extra;
            for (const auto& [k, v] : c.pool.connection.extra) {
                extra.push_back({toml_key(k) + " = " + extra_value(k, v),
                                 to_string(c.origin("database.extra." + k))});
            }
            flush_section(out, "[database.extra]", extra);
        }
    }
    for (const auto& r : c.replicas) {
        std::vector<line> lines{
            {"url = " + quote(mask_password(r.url)), to_string(c.origin("replica"))}};
        if (r.size) lines.push_back({"size = " + std::to_string(*r.size), {}});
        flush_section(out, "[[replica]]", lines);
    }
    for (const auto& w : c.warnings) out += "\n# warning: " + w;
    if (!c.warnings.empty()) out += '\n';
    return out;
}

void log_sources(const config& c) {
    auto& log = logger();
    if (!log.should_log(spdlog::level::debug)) return;
    for (const auto& s : settings()) {
        if (is_meta(s)) continue;
        const std::string key = dotted(s);
        log.debug("database_config_source key={} value={} source=\"{}\"", key, s.get(c),
                  to_string(c.origin(key)));
    }
    if (!c.password_from.empty()) {
        log.debug(
            "database_config_source key=database.password value=*** from=\"{}\" source=\"{}\"",
            c.password_from, to_string(c.origin("database.password")));
    }
    for (const auto& [k, v] : c.pool.connection.extra) {
        log.debug("database_config_source key=database.extra.{} value={} source=\"{}\"",
                  printable(k), extra_value(k, v), to_string(c.origin("database.extra." + k)));
    }
}

void apply_log_level(const config& c) {
    logger().set_level(spdlog::level::from_str(c.log_level == "warning" ? "warn" : c.log_level));
}

}  // namespace uvdb
