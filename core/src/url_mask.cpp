// Masking of passwords in connection strings for logs and messages.
//
// A well-formed string is masked along the lines a libpq-style reader takes
// it (user info up to the first '@' before any '/' or '?'), so what a driver
// takes for the password is what gets masked. Core has no parser: a small
// structural scan (url_shape.hpp) decides "well-formed".
// Otherwise the rule is "when unsure, mask": a password with an unencoded
// '@', '/' or '?' makes a URL ambiguous, so a malformed URL is masked from the
// first ':' of the user info up to the LAST '@' of the text, and one without
// '@' loses everything after the first ':' of its authority.

#include <cstddef>
#include <string>
#include <uvdb/url.hpp>

#include "ascii.hpp"
#include "url_shape.hpp"

namespace uvdb {
namespace {

constexpr std::size_t npos = std::string_view::npos;
constexpr std::string_view mask = "***";

using ::uvdb::detail::ascii::is_space;

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
    const bool parses = detail::well_formed_url(text);
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
        if (eq != npos && detail::well_formed_kv(text)) return mask_kv(text, false);
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
