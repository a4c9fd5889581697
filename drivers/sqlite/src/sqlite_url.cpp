#include "sqlite_url.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <initializer_list>
#include <uvdb/percent.hpp>

namespace uvdb::sqlite::detail {
namespace {

constexpr std::string_view usage =
    "write sqlite:///absolute/path.db, sqlite:relative/path.db or sqlite::memory:";

error bad(std::string msg) { return error(errc::bad_config, std::move(msg)); }

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

result<std::string> decode(std::string_view s, std::string_view what) {
    percent_decoded d = percent_decode(s);
    if (d.ok()) return std::move(d.text);
    if (d.fault == percent_fault::nul_byte)
        return bad("sqlite URL: the " + std::string(what) + " contains a NUL byte (%00)");
    return bad("sqlite URL: bad percent-escape in the " + std::string(what) + " at offset " +
               std::to_string(d.offset) + "; write %XX with two hex digits");
}

result<void> one_of(std::string_view key, const std::string& value,
                    std::initializer_list<std::string_view> allowed) {
    for (auto a : allowed)
        if (value == a) return {};
    std::string list;
    for (auto a : allowed) {
        if (!list.empty()) list += ", ";
        list += a;
    }
    return bad("sqlite: " + std::string(key) + "=" + value + " is not valid; use one of: " + list);
}

result<void> apply(open_settings& s, const std::string& raw_key, const std::string& raw_value) {
    const std::string key = lower(raw_key);
    const std::string value = lower(raw_value);
    if (key == "mode") {
        if (auto ok = one_of(key, value, {"ro", "rw", "rwc"}); !ok) return ok;
        s.mode = value;
    } else if (key == "busy_timeout") {
        long long ms = -1;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
        if (ec != std::errc() || p != value.data() + value.size() || ms < 0 || ms > 86'400'000)
            return bad("sqlite: busy_timeout=" + raw_value +
                       " is not valid; give milliseconds from 0 to 86400000");
        s.busy_timeout = std::chrono::milliseconds(ms);
    } else if (key == "journal_mode") {
        if (auto ok = one_of(key, value, {"delete", "truncate", "persist", "memory", "wal", "off"});
            !ok)
            return ok;
        s.journal_mode = value;
    } else if (key == "synchronous") {
        if (auto ok = one_of(key, value, {"off", "normal", "full", "extra"}); !ok) return ok;
        s.synchronous = value;
    } else if (key == "foreign_keys") {
        if (value == "1" || value == "true") {
            s.foreign_keys = "on";
        } else if (value == "0" || value == "false") {
            s.foreign_keys = "off";
        } else {
            if (auto ok = one_of(key, value, {"on", "off"}); !ok) return ok;
            s.foreign_keys = value;
        }
    } else {
        return bad("sqlite: unknown parameter \"" + raw_key +
                   "\"; the SQLite driver knows mode, busy_timeout, journal_mode, synchronous "
                   "and foreign_keys");
    }
    return {};
}

}  // namespace

std::string open_settings::where() const {
    if (memory) return ":memory:";
    return path + " (" + mode + ")";
}

result<open_settings> parse_settings(std::string_view url,
                                     const std::map<std::string, std::string>& extra) {
    open_settings s;
    const auto colon = url.find(':');
    if (colon == std::string_view::npos || lower(url.substr(0, colon)) != "sqlite")
        return bad("sqlite: not a sqlite URL; " + std::string(usage));
    std::string_view rest = url.substr(colon + 1);

    std::string_view query;
    if (auto q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    if (auto h = rest.find('#'); h != std::string_view::npos)
        return bad(
            "sqlite URL: a fragment (#…) is not allowed; percent-encode '#' in a path as %23");

    if (rest.substr(0, 2) == "//") {
        rest.remove_prefix(2);
        const auto slash = rest.find('/');
        std::string_view authority = rest.substr(0, slash);
        if (!authority.empty()) {
            // Never echo the authority: it may hold user:password.
            return bad(
                "sqlite URL: a host, user or password is not allowed (the database is a "
                "local file); " +
                std::string(usage));
        }
        if (slash == std::string_view::npos)
            return bad("sqlite URL: no database path; " + std::string(usage));
        rest = rest.substr(slash);  // keeps the leading '/'
        if (rest == "/:memory:") rest = ":memory:";
    }
    if (rest.empty()) return bad("sqlite URL: no database path; " + std::string(usage));

    auto path = decode(rest, "path");
    if (!path) return std::move(path).err();
    s.path = std::move(path).value();
    s.memory = s.path == ":memory:";

    std::map<std::string, std::string> settings;
    while (!query.empty()) {
        const auto amp = query.find('&');
        std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos || eq == 0)
            return bad("sqlite URL: parameter \"" + std::string(pair.substr(0, 40)) +
                       "\" has no key=value form");
        auto k = decode(pair.substr(0, eq), "parameter name");
        if (!k) return std::move(k).err();
        auto v = decode(pair.substr(eq + 1), "parameter value");
        if (!v) return std::move(v).err();
        settings[std::move(k).value()] = std::move(v).value();
    }
    for (const auto& [k, v] : extra) settings[k] = v;
    for (const auto& [k, v] : settings)
        if (auto ok = apply(s, k, v); !ok) return std::move(ok).err();
    if (s.memory && s.mode == "ro")
        return bad(
            "sqlite: mode=ro makes no sense for :memory: (it would always be empty); "
            "drop mode=ro");
    return s;
}

}  // namespace uvdb::sqlite::detail
