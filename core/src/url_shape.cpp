// The structural scan behind mask_password: whether a connection string
// reads one way only. It checks the shape the drivers' readers need (where
// the user info ends, ports, escapes, quoting) and builds nothing.

#include "url_shape.hpp"

#include <cstddef>
#include <string>
#include <utility>
#include <uvdb/percent.hpp>
#include <uvdb/url.hpp>

#include "ascii.hpp"

namespace uvdb::detail {
namespace {

constexpr std::size_t npos = std::string_view::npos;

using ::uvdb::detail::ascii::is_space;

using ::uvdb::detail::ascii::is_digit;

/// A port as libpq takes it: digits only, 1-65535.
bool is_port(std::string_view p) noexcept {
    if (p.empty()) return false;
    unsigned long value = 0;
    for (char c : p) {
        if (!is_digit(c)) return false;
        value = value * 10 + static_cast<unsigned long>(c - '0');
        if (value > 65535) return false;
    }
    return value != 0;
}

/// One `host[:port]` or `[v6][:port]` entry of a URL's host list.
bool is_host_entry(std::string_view item) {
    if (item.empty()) return false;
    std::size_t colon = npos;
    if (item.front() == '[') {
        const std::size_t close = item.find(']');
        if (close == npos || close == 1 || !percent_decode(item.substr(1, close - 1)).ok())
            return false;
        if (close + 1 < item.size()) {
            if (item[close + 1] != ':') return false;
            colon = close + 1;
        }
    } else {
        colon = item.find(':');
        const std::string_view name = item.substr(0, colon);
        if (name.find('@') != npos || !percent_decode(name).ok()) return false;
    }
    return colon == npos || is_port(item.substr(colon + 1));
}

/// The number of entries of a comma-separated list (at least one).
std::size_t entries(std::string_view list) noexcept {
    std::size_t n = 1;
    for (char c : list) n += c == ',' ? 1 : 0;
    return n;
}

/// A `port` parameter: a comma-separated list of ports or empty entries,
/// one for all `hosts` or one per host, as libpq pairs them.
bool ports_fit(std::string_view list, std::size_t hosts) {
    for (std::size_t start = 0;;) {
        const std::size_t comma = list.find(',', start);
        const std::string_view item = list.substr(start, comma == npos ? npos : comma - start);
        if (!item.empty() && !is_port(item)) return false;
        if (comma == npos) break;
        start = comma + 1;
    }
    const std::size_t n = entries(list);
    return hosts == 0 || n == 1 || n == hosts;
}

/// The path and query after the host list: a database name that decodes and
/// `key=value` pieces with a non-empty key that decode; the last `port`
/// fits the host list (`hosts` entries, unless a `host` parameter says).
bool is_path_and_query(std::string_view rest, std::size_t hosts) {
    const std::size_t q = rest.find('?');
    if (!percent_decode(rest.substr(0, q)).ok()) return false;
    if (q == npos) return true;
    const std::string_view query = rest.substr(q + 1);
    bool has_port = false;
    std::string port;
    for (std::size_t start = 0;;) {
        const std::size_t amp = query.find('&', start);
        const std::string_view piece = query.substr(start, amp == npos ? npos : amp - start);
        if (!piece.empty()) {
            const std::size_t eq = piece.find('=');
            if (eq == npos || eq == 0) return false;
            const percent_decoded key = percent_decode(piece.substr(0, eq));
            const percent_decoded value = percent_decode(piece.substr(eq + 1));
            if (!key.ok() || !value.ok()) return false;
            if (key.text == "host") hosts = entries(value.text);
            if (key.text == "port") {
                has_port = true;
                port = value.text;
            }
        }
        if (amp == npos) return !has_port || ports_fit(port, hosts);
        start = amp + 1;
    }
}

}  // namespace

/// Whether `scheme://[user[:password]@]hosts[/db][?k=v&…]` reads one way
/// only: user info that decodes, ending at the first '@' before any '/' or
/// '?'; after it a host list without '@' whose ports are numbers; then a
/// path and query that decode. Anything else is masked aggressively.
bool well_formed_url(std::string_view text) {
    const std::string_view scheme = url_scheme(text);
    if (scheme.empty()) return false;
    const std::size_t sep = static_cast<std::size_t>(scheme.data() - text.data()) + scheme.size();
    if (text.substr(sep, 3) != "://") return false;
    std::size_t end = text.size();
    while (end > sep && is_space(text[end - 1])) --end;  // trailing blanks are not the port's
    const std::string_view t = text.substr(0, end);
    std::size_t p = sep + 3;
    const std::size_t first = t.find_first_of("@/?", p);
    if (first != npos && t[first] == '@') {
        const std::string_view info = t.substr(p, first - p);
        const std::size_t colon = info.find(':');
        if (!percent_decode(info.substr(0, colon)).ok()) return false;
        if (colon != npos && !percent_decode(info.substr(colon + 1)).ok()) return false;
        p = first + 1;
    }
    std::size_t host_end = t.find_first_of("/?", p);
    if (host_end == npos) host_end = t.size();
    std::size_t hosts = 0;
    if (host_end > p) {  // no host at all: a socket or the default
        for (std::size_t start = p;;) {
            std::size_t comma = t.find(',', start);
            if (comma == npos || comma > host_end) comma = host_end;
            if (!is_host_entry(t.substr(start, comma - start))) return false;
            ++hosts;
            if (comma == host_end) break;
            start = comma + 1;
        }
    }
    std::string_view rest = t.substr(host_end);
    if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
    return is_path_and_query(rest, hosts);
}

/// Whether a libpq-style string is `key = value` pairs throughout: every
/// key non-empty and followed by '=', every quoted value closed, the last
/// `port` fitting the last `host` list.
bool well_formed_kv(std::string_view t) {
    const std::size_t n = t.size();
    std::size_t i = 0;
    bool any = false;
    std::size_t hosts = 0;
    bool has_port = false;
    std::string port;
    while (true) {
        while (i < n && is_space(t[i])) ++i;
        if (i >= n) return any && (!has_port || ports_fit(port, hosts));
        const std::size_t key_start = i;
        while (i < n && !is_space(t[i]) && t[i] != '=') ++i;
        if (i == key_start) return false;
        const std::string_view key = t.substr(key_start, i - key_start);
        while (i < n && is_space(t[i])) ++i;
        if (i >= n || t[i] != '=') return false;
        ++i;
        while (i < n && is_space(t[i])) ++i;
        const bool quoted = i < n && t[i] == '\'';
        if (quoted) ++i;
        std::string value;  // unescaped, for the host and port checks
        while (i < n && (quoted ? t[i] != '\'' : !is_space(t[i]))) {
            if (t[i] == '\\') ++i;
            if (i < n) value += t[i++];
        }
        if (quoted) {
            if (i >= n) return false;  // unterminated
            ++i;
        }
        if (key == "host") hosts = entries(value);
        if (key == "port") {
            has_port = true;
            port = std::move(value);
        }
        any = true;
    }
}

}  // namespace uvdb::detail
