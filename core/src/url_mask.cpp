// Masking of passwords in connection strings for logs and messages.
//
// A well-formed string is masked along the lines a libpq-style reader takes
// it (user info up to the first '@' before any '/' or '?'), so what a driver
// takes for the password is what gets masked. Core has no parser: a small
// structural scan (well_formed_url, well_formed_kv) decides "well-formed".
// Otherwise the rule is "when unsure, mask": a password with an unencoded
// '@', '/' or '?' makes a URL ambiguous, so a malformed URL is masked from the
// first ':' of the user info up to the LAST '@' of the text, and one without
// '@' loses everything after the first ':' of its authority.

#include <cstddef>
#include <string>
#include <utility>
#include <uvdb/percent.hpp>
#include <uvdb/url.hpp>

namespace uvdb {
namespace {

constexpr std::size_t npos = std::string_view::npos;
constexpr std::string_view mask = "***";

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Keys whose value is secret: "password", "sslpassword", "PASSWORD", and
/// percent-encoded spellings of them.
bool is_secret_key(std::string_view key) {
    std::string k;
    for (std::size_t i = 0; i < key.size(); ++i) {
        char c = key[i];
        if (c == '%' && i + 2 < key.size()) {
            auto hex = [](char h) {
                if (h >= '0' && h <= '9') return h - '0';
                h = ascii_lower(h);
                if (h >= 'a' && h <= 'f') return h - 'a' + 10;
                return -1;
            };
            int hi = hex(key[i + 1]);
            int lo = hex(key[i + 2]);
            if (hi >= 0 && lo >= 0) {
                c = static_cast<char>(hi * 16 + lo);
                i += 2;
            }
        }
        k += ascii_lower(c);
    }
    constexpr std::string_view word = "password";
    return k.size() >= word.size() && k.compare(k.size() - word.size(), word.size(), word) == 0;
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

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

/// Masks `password`-like parameters of a query string (the part after '?').
void mask_query(std::string_view query, std::string& out) {
    std::size_t start = 0;
    while (true) {
        std::size_t amp = query.find('&', start);
        std::string_view piece = query.substr(start, amp == npos ? npos : amp - start);
        std::size_t eq = piece.find('=');
        if (eq != npos && is_secret_key(piece.substr(0, eq))) {
            out += piece.substr(0, eq + 1);
            out += mask;
        } else {
            out += piece;
        }
        if (amp == npos) break;
        out += '&';
        start = amp + 1;
    }
}

std::string mask_url(std::string_view text) {
    std::size_t sep = text.find("://");
    std::size_t start = sep == npos ? 0 : sep + 3;
    std::string out(text.substr(0, start));
    std::size_t rest = start;

    // A well-formed URL is masked the way a driver reads it: user info up
    // to the first '@' before any '/' or '?'. Only a malformed one gets the
    // "up to the last '@'" rule, which would take an '@' inside the query
    // for the end of the user info and print the password after it.
    const bool parses = well_formed_url(text);
    std::size_t at = npos;
    if (parses) {
        const std::size_t end = text.find_first_of("@/?", start);
        if (end != npos && text[end] == '@') at = end;
    } else {
        at = text.rfind('@');
    }
    if (at != npos && at >= start) {
        std::string_view info = text.substr(start, at - start);
        std::size_t colon = info.find(':');
        if (colon != npos) {
            out += info.substr(0, colon + 1);
            out += mask;
        } else {
            out += info;
        }
        out += '@';
        rest = at + 1;
    } else if (!parses) {
        // No '@', and not a URL we understand: "scheme://user:secret" looks
        // like a host and a bad port; mask what could be a password.
        std::size_t auth_end = text.find_first_of("/?", start);
        if (auth_end == npos) auth_end = text.size();
        std::size_t colon = text.find(':', start);
        if (colon != npos && colon < auth_end) {
            out += text.substr(start, colon + 1 - start);
            out += mask;
            rest = auth_end;
        }
    }

    // The last '@' may sit inside the query string ("?host=a@b&password=x");
    // then the rest is still query: mask it as such, or a password
    // parameter after that '@' would be shown.
    if (text.substr(start, rest - start).find('?') != npos) {
        mask_query(text.substr(rest), out);
        return out;
    }
    std::size_t q = text.find('?', rest);
    if (q == npos) {
        out += text.substr(rest);
    } else {
        out += text.substr(rest, q + 1 - rest);
        mask_query(text.substr(q + 1), out);
    }
    return out;
}

/// `malformed`: the string is not well-formed key=value pairs, so a value may have swallowed the
/// next token (an unquoted space in a password); mask to the end instead.
std::string mask_kv(std::string_view t, bool malformed) {
    std::string out;
    std::size_t n = t.size();
    std::size_t i = 0;
    while (i < n) {
        if (is_space(t[i])) {
            out += t[i++];
            continue;
        }
        std::size_t key_start = i;
        while (i < n && !is_space(t[i]) && t[i] != '=') ++i;
        std::string_view key = t.substr(key_start, i - key_start);
        std::size_t j = i;
        while (j < n && is_space(t[j])) ++j;
        if (j >= n || t[j] != '=') {
            // Not key=value. If it names a password, whatever follows may be it.
            if (is_secret_key(key)) {
                out += key;
                out += ' ';
                out += mask;
                return out;
            }
            out += key;
            continue;
        }
        ++j;
        while (j < n && is_space(t[j])) ++j;
        out += t.substr(key_start, j - key_start);
        i = j;
        std::size_t value_start = i;
        if (i < n && t[i] == '\'') {
            ++i;
            while (i < n && t[i] != '\'') i += (t[i] == '\\') ? 2 : 1;
            i = i < n ? i + 1 : n;  // an unterminated quote runs to the end
        } else {
            while (i < n && !is_space(t[i])) i += (t[i] == '\\') ? 2 : 1;
            if (i > n) i = n;
        }
        if (is_secret_key(key)) {
            out += mask;
            if (malformed) return out;
        } else {
            out += t.substr(value_start, i - value_start);
        }
    }
    return out;
}

}  // namespace

std::string mask_password(std::string_view text) {
    try {
        std::size_t sep = text.find("://");
        std::size_t eq = text.find('=');
        const std::string_view scheme = url_scheme(text);
        const bool authority_url =
            !scheme.empty() &&
            text.substr(static_cast<std::size_t>(scheme.data() - text.data()) + scheme.size(), 3) ==
                "://";
        if (authority_url || (sep != npos && (eq == npos || sep < eq))) return mask_url(text);
        // A well-formed key=value string is masked the way a driver reads
        // it, even when an '@' comes before the first '=' ("a@b=c
        // password=x"): masking it as a URL would miss the password key.
        if (eq != npos && well_formed_kv(text)) return mask_kv(text, false);
        // "user:secret@host" without a scheme is still masked as a URL; when
        // an '=' follows it may be key=value after all, so mask that too.
        std::size_t at = text.find('@');
        if (at != npos && (eq == npos || at < eq)) {
            std::string out = mask_url(text);
            return eq == npos ? out : mask_kv(out, true);
        }
        if (eq != npos) return mask_kv(text, true);
        // Free text that names a password ("password s3cret"): drop what follows.
        std::string folded;
        for (char c : text) folded += ascii_lower(c);
        if (std::size_t w = folded.find("password"); w != npos) {
            std::size_t end = w + 8;
            std::string out(text.substr(0, end));
            if (end < text.size()) {
                out += ' ';
                out += mask;
            }
            return out;
        }
        return std::string(text);
    } catch (...) {
        return std::string(mask);  // short enough not to allocate
    }
}

}  // namespace uvdb
