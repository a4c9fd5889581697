#pragma once
/// \file
/// Connection strings, as far as core needs them: the scheme that picks a
/// driver, printing with the password masked, and percent-encoding. Each
/// driver parses and checks its own strings (driver::check).

#include <string>
#include <string_view>

namespace uvdb {

/// The scheme of a URL ("postgresql" of `postgresql://…`, "sqlite" of
/// `sqlite::memory:` or `sqlite:rel/path.db`): an RFC 3986 scheme (a letter,
/// then letters, digits, '+', '-', '.') followed by ':', leading spaces
/// skipped. A view into `text`, so compare case-insensitively; empty when
/// there is none (a key=value string such as `host=x port=5432` or
/// `hostaddr=::1`).
std::string_view url_scheme(std::string_view text) noexcept;

/// The same connection string with any password replaced by "***" (URL user
/// info, `password=` keys and `password` query parameters). Safe for logs,
/// even for malformed input.
std::string mask_password(std::string_view text);

/// Percent-encodes a URL component.
std::string url_encode(std::string_view component);

}  // namespace uvdb
