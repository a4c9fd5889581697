// Parsing of connection strings: URLs and libpq key=value strings.
//
// Error messages name a position and what was expected, never a piece of the
// input: a misplaced character may sit inside a password (an unencoded '/'
// or '@' shifts every later part), so echoing input could leak it.

#include <cstddef>
#include <string>
#include <utility>
#include <uvdb/percent.hpp>
#include <uvdb/url.hpp>

namespace uvdb {
namespace {

constexpr std::size_t npos = std::string_view::npos;

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
// ASCII only, whatever the C locale says.
bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) noexcept { return is_alpha(c) || is_digit(c); }

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

error url_error(std::size_t pos, std::string_view what) {
    return error(errc::bad_config, "malformed connection URL at position " + std::to_string(pos) +
                                       ": " + std::string(what));
}

error kv_error(std::size_t pos, std::string_view what) {
    return error(errc::bad_config, "malformed connection string at position " +
                                       std::to_string(pos) + ": " + std::string(what));
}

/// Decodes %XX escapes of `s`, which starts at `pos` in the whole text.
result<std::string> decode_component(std::string_view s, std::size_t pos) {
    percent_decoded d = percent_decode(s);
    if (d.ok()) return std::move(d.text);
    return url_error(pos + d.offset,
                     d.fault == percent_fault::nul_byte
                         ? "%00 (a NUL byte) is not allowed"
                         : "'%' must be followed by two hex digits (write a literal '%' as %25)");
}

/// Validates a port: digits only, 1–65535.
result<std::string> check_port(std::string_view port, std::size_t pos, std::size_t colon_pos,
                               bool in_url) {
    auto fail = [&](std::size_t at, std::string_view what) {
        return in_url ? url_error(at, what) : kv_error(at, what);
    };
    if (port.empty()) {
        return fail(colon_pos, "expected a port number after ':'");
    }
    unsigned long value = 0;
    for (std::size_t i = 0; i < port.size(); ++i) {
        if (!is_digit(port[i])) {
            return fail(
                in_url ? colon_pos : pos + i,
                in_url ? "expected a port number after ':' (if the password contains '/', '?' or "
                         "'@', percent-encode them as %2F, %3F, %40)"
                       : "a port must be a number");
        }
        value = value * 10 + static_cast<unsigned long>(port[i] - '0');
        if (value > 65535) break;
    }
    if (value == 0 || value > 65535) return fail(pos, "port number out of range (1-65535)");
    return std::string(port);
}

/// Splits a comma-separated list of ports and pairs it with `hosts` the way
/// libpq does: one port for all hosts, or one per host.
result<void> apply_ports(std::vector<url_host>& hosts, std::string_view ports, std::size_t pos,
                         bool in_url) {
    std::vector<std::string> list;
    std::size_t start = 0;
    while (true) {
        std::size_t comma = ports.find(',', start);
        std::string_view item = ports.substr(start, comma == npos ? npos : comma - start);
        if (!item.empty()) {
            auto p = check_port(item, pos + start, pos + start, in_url);
            if (!p) return std::move(p).err();
            list.push_back(std::move(*p));
        } else {
            list.emplace_back();
        }
        if (comma == npos) break;
        start = comma + 1;
    }
    if (hosts.empty()) {
        for (auto& p : list) hosts.push_back(url_host{{}, std::move(p)});
        return {};
    }
    if (list.size() == 1) {
        for (auto& h : hosts) h.port = list.front();
        return {};
    }
    if (list.size() != hosts.size()) {
        std::string what = std::to_string(list.size()) + " ports given for " +
                           std::to_string(hosts.size()) +
                           " hosts; give one port for all hosts or one per host";
        return in_url ? url_error(pos, what) : kv_error(pos, what);
    }
    for (std::size_t i = 0; i < hosts.size(); ++i) hosts[i].port = std::move(list[i]);
    return {};
}

/// A host list given as a `host` parameter: names, IPv6 in brackets or not,
/// or Unix socket directories; no ports.
std::vector<url_host> split_host_param(std::string_view value) {
    std::vector<url_host> hosts;
    std::size_t start = 0;
    while (true) {
        std::size_t comma = value.find(',', start);
        std::string_view item = value.substr(start, comma == npos ? npos : comma - start);
        if (item.size() >= 2 && item.front() == '[' && item.back() == ']')
            item = item.substr(1, item.size() - 2);
        hosts.push_back(url_host{std::string(item), {}});
        if (comma == npos) break;
        start = comma + 1;
    }
    return hosts;
}

/// Parses one `host[:port]` or `[v6][:port]` element at `pos`.
result<url_host> parse_host_item(std::string_view item, std::size_t pos) {
    url_host h;
    std::size_t colon = npos;
    if (!item.empty() && item.front() == '[') {
        std::size_t close = item.find(']');
        if (close == npos) return url_error(pos, "missing ']' after an IPv6 address");
        if (close == 1) return url_error(pos, "empty IPv6 address in brackets");
        auto host = decode_component(item.substr(1, close - 1), pos + 1);
        if (!host) return std::move(host).err();
        h.host = std::move(*host);
        if (close + 1 < item.size()) {
            if (item[close + 1] != ':')
                return url_error(pos + close + 1, "expected ':' or ',' after ']'");
            colon = close + 1;
        }
    } else {
        colon = item.find(':');
        std::string_view name = item.substr(0, colon);
        if (std::size_t at = name.find('@'); at != npos) {
            return url_error(pos + at,
                             "unexpected '@' in the host; percent-encode '@' in the user name or "
                             "password as %40");
        }
        auto host = decode_component(name, pos);
        if (!host) return std::move(host).err();
        h.host = std::move(*host);
    }
    if (colon != npos) {
        auto port = check_port(item.substr(colon + 1), pos + colon + 1, pos + colon, true);
        if (!port) return std::move(port).err();
        h.port = std::move(*port);
    }
    return h;
}

/// Applies a well-known key (URL query parameter or key=value pair) to `out`;
/// other keys become params.
result<void> apply_key(parsed_url& out, std::string key, std::string value, std::size_t pos,
                       bool in_url, std::string* port_list, std::size_t* port_pos) {
    if (key == "host") {
        out.hosts = split_host_param(value);
    } else if (key == "port") {
        *port_list = std::move(value);
        *port_pos = pos;
    } else if (key == "user") {
        out.user = std::move(value);
    } else if (key == "password") {
        out.password = std::move(value);
        out.has_password = true;
    } else if (key == "dbname") {
        out.database = std::move(value);
    } else if (key.empty()) {
        return in_url ? url_error(pos, "empty parameter name in the query string")
                      : kv_error(pos, "expected a parameter name before '='");
    } else {
        out.params[std::move(key)] = std::move(value);
    }
    return {};
}

result<parsed_url> parse_uri(std::string_view t, std::size_t base) {
    parsed_url out;
    std::size_t sep = t.find("://");
    out.scheme = lower(t.substr(0, sep));
    std::size_t p = sep + 3;
    std::size_t n = t.size();

    // User info, as libpq finds it: up to the first '@' before any '/'.
    std::size_t i = p;
    while (i < n && t[i] != '@' && t[i] != '/' && t[i] != '?') ++i;
    if (i < n && t[i] == '@') {
        std::string_view info = t.substr(p, i - p);
        std::size_t colon = info.find(':');
        auto user = decode_component(info.substr(0, colon), base + p);
        if (!user) return std::move(user).err();
        out.user = std::move(*user);
        if (colon != npos) {
            auto pw = decode_component(info.substr(colon + 1), base + p + colon + 1);
            if (!pw) return std::move(pw).err();
            out.password = std::move(*pw);
            out.has_password = true;
        }
        p = i + 1;
    }

    std::size_t host_end = p;
    while (host_end < n && t[host_end] != '/' && t[host_end] != '?') ++host_end;
    if (host_end > p) {
        std::size_t start = p;
        while (true) {
            std::size_t comma = t.find(',', start);
            if (comma == npos || comma > host_end) comma = host_end;
            std::string_view item = t.substr(start, comma - start);
            if (item.empty()) return url_error(base + start, "empty entry in the host list");
            auto h = parse_host_item(item, base + start);
            if (!h) return std::move(h).err();
            out.hosts.push_back(std::move(*h));
            if (comma == host_end) break;
            start = comma + 1;
        }
    }

    std::size_t q = host_end;
    if (q < n && t[q] == '/') {
        std::size_t db_end = t.find('?', q);
        if (db_end == npos) db_end = n;
        auto db = decode_component(t.substr(q + 1, db_end - q - 1), base + q + 1);
        if (!db) return std::move(db).err();
        out.database = std::move(*db);
        q = db_end;
    }

    std::string port_list;
    std::size_t port_pos = 0;
    bool has_port_param = false;
    if (q < n && t[q] == '?') {
        std::size_t start = q + 1;
        while (start <= n) {
            std::size_t amp = t.find('&', start);
            if (amp == npos) amp = n;
            std::string_view piece = t.substr(start, amp - start);
            if (!piece.empty()) {
                std::size_t eq = piece.find('=');
                if (eq == npos)
                    return url_error(base + start, "expected key=value in the query string");
                auto key = decode_component(piece.substr(0, eq), base + start);
                if (!key) return std::move(key).err();
                auto value = decode_component(piece.substr(eq + 1), base + start + eq + 1);
                if (!value) return std::move(value).err();
                has_port_param = has_port_param || *key == "port";
                auto r = apply_key(out, std::move(*key), std::move(*value), base + start, true,
                                   &port_list, &port_pos);
                if (!r) return std::move(r).err();
            }
            start = amp + 1;
        }
    }
    if (has_port_param) {
        auto r = apply_ports(out.hosts, port_list, port_pos, true);
        if (!r) return std::move(r).err();
    }
    return out;
}

result<parsed_url> parse_kv(std::string_view t, std::size_t base) {
    parsed_url out;
    std::string port_list;
    std::size_t port_pos = 0;
    bool has_port = false;
    std::size_t i = 0;
    std::size_t n = t.size();
    while (true) {
        while (i < n && is_space(t[i])) ++i;
        if (i >= n) break;
        std::size_t key_start = i;
        while (i < n && !is_space(t[i]) && t[i] != '=') ++i;
        std::string key(t.substr(key_start, i - key_start));
        while (i < n && is_space(t[i])) ++i;
        if (i >= n || t[i] != '=') return kv_error(base + i, "expected '=' after a parameter name");
        if (key.empty()) return kv_error(base + i, "expected a parameter name before '='");
        ++i;
        while (i < n && is_space(t[i])) ++i;
        std::size_t value_pos = i;
        std::string value;
        if (i < n && t[i] == '\'') {
            ++i;
            bool closed = false;
            while (i < n) {
                if (t[i] == '\\') {
                    ++i;
                    if (i < n) value += t[i++];
                } else if (t[i] == '\'') {
                    ++i;
                    closed = true;
                    break;
                } else {
                    value += t[i++];
                }
            }
            if (!closed)
                return kv_error(base + value_pos, "unterminated quoted value (missing closing ')");
        } else {
            while (i < n && !is_space(t[i])) {
                if (t[i] == '\\') {
                    ++i;
                    if (i < n) value += t[i++];
                } else {
                    value += t[i++];
                }
            }
        }
        has_port = has_port || key == "port";
        auto r = apply_key(out, std::move(key), std::move(value), base + value_pos, false,
                           &port_list, &port_pos);
        if (!r) return std::move(r).err();
    }
    if (has_port) {
        auto r = apply_ports(out.hosts, port_list, port_pos, false);
        if (!r) return std::move(r).err();
    }
    return out;
}

}  // namespace

std::string_view url_scheme(std::string_view text) noexcept {
    // RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":". A key=value
    // string never matches: its first key ends at '=' or a space, not ':'.
    std::size_t b = 0;
    while (b < text.size() && is_space(text[b])) ++b;
    std::size_t i = b;
    if (i >= text.size() || !is_alpha(text[i])) return {};
    while (i < text.size()) {
        char c = text[i];
        if (is_alnum(c) || c == '+' || c == '-' || c == '.') {
            ++i;
        } else {
            break;
        }
    }
    if (i >= text.size() || text[i] != ':') return {};
    return text.substr(b, i - b);
}

namespace {
// The scheme of a `scheme://` URL only, the form parse_url reads as a URI.
std::string_view authority_scheme(std::string_view text) noexcept {
    const std::string_view s = url_scheme(text);
    if (s.empty()) return {};
    const std::size_t end = static_cast<std::size_t>(s.data() - text.data()) + s.size();
    return text.substr(end, 3) == "://" ? s : std::string_view{};
}
}  // namespace

result<parsed_url> parse_url(std::string_view text) {
    std::size_t base = 0;
    while (base < text.size() && is_space(text[base])) ++base;
    std::size_t end = text.size();
    while (end > base && is_space(text[end - 1])) --end;
    std::string_view t = text.substr(base, end - base);
    if (t.empty()) {
        return error(
            errc::bad_config,
            "empty connection string; expected a URL like postgresql://user@host:5432/db or "
            "key=value pairs like \"host=localhost dbname=app\"");
    }
    if (!authority_scheme(t).empty()) return parse_uri(t, base);
    std::size_t sep = t.find("://");
    std::size_t eq = t.find('=');
    if (sep != npos && (eq == npos || sep < eq)) {
        return url_error(
            base,
            "the scheme must start with a letter and contain only letters, digits, '+', "
            "'-' or '.' (e.g. postgresql://)");
    }
    if (eq != npos) return parse_kv(t, base);
    return error(
        errc::bad_config,
        "connection string is neither a URL (scheme://…) nor key=value pairs; expected e.g. "
        "postgresql://user@host:5432/db");
}

std::string url_encode(std::string_view component) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(component.size());
    for (char ch : component) {
        if (is_alnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            out += ch;
        } else {
            auto c = static_cast<unsigned char>(ch);
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0x0F];
        }
    }
    return out;
}

}  // namespace uvdb
