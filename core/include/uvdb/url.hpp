#pragma once
/// \file
/// Connection strings: URLs (`scheme://user:pw@host:port,host2/db?k=v`) and
/// libpq-style `key=value` strings, parsed without I/O, and printed with the
/// password masked.

#include <map>
#include <string>
#include <string_view>
#include <uvdb/result.hpp>
#include <vector>

namespace uvdb {

struct url_host {
    std::string host;  ///< name, IPv4, IPv6 (without brackets) or a Unix socket directory
    std::string port;  ///< empty when not given
};

/// A parsed connection string. Percent-escapes are decoded.
struct parsed_url {
    std::string scheme;  ///< lower-case; empty for key=value strings
    std::string user;
    std::string password;
    bool has_password = false;
    std::vector<url_host> hosts;
    std::string database;
    std::map<std::string, std::string> params;  ///< query parameters / other keys, in order of name
};

/// Parses a URL or a `key=value` conninfo string. The error (errc::bad_config)
/// says what is wrong and where, and never contains the password.
result<parsed_url> parse_url(std::string_view text);

/// The scheme of a URL ("postgresql" of `postgresql://…`, "sqlite" of
/// `sqlite::memory:` or `sqlite:rel/path.db`): an RFC 3986 scheme (a letter,
/// then letters, digits, '+', '-', '.') followed by ':', leading spaces
/// skipped. A view into `text`, so compare case-insensitively
/// (parsed_url::scheme is lower-cased); empty when there is none (a
/// key=value string such as `host=x port=5432` or `hostaddr=::1`).
std::string_view url_scheme(std::string_view text) noexcept;

/// The same connection string with any password replaced by "***" (URL user
/// info, `password=` keys and `password` query parameters). Safe for logs,
/// even for malformed input.
std::string mask_password(std::string_view text);

/// Percent-encodes a URL component.
std::string url_encode(std::string_view component);

}  // namespace uvdb
