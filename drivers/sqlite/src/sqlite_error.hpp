#pragma once
// SQLite result codes → uvdb errors (the mapping is documented in
// <uvdb/sqlite/driver.hpp>). Pure functions: callable on any thread.

#include <string>
#include <string_view>
#include <uvdb/error.hpp>

namespace uvdb::sqlite::detail {

/// "SQLITE_CONSTRAINT_UNIQUE" for 2067; the primary code's name for extended
/// codes this table does not know; "SQLITE_<n>" for unknown primary codes.
std::string code_name(int extended_code);

/// The uvdb error for a failed statement. `code` is the extended result code,
/// `library_text` sqlite3_errmsg() (it may quote user data: kept as the
/// server text, never in message()). `what` names the step ("the statement",
/// "ROLLBACK").
error statement_error(int code, std::string library_text, std::string_view what);

/// The uvdb error for a failed sqlite3_open_v2 of `path` (the path is not a
/// secret; it is named so the user can fix it). `mode` is the mode= value.
error open_error(int code, std::string library_text, const std::string& path,
                 std::string_view mode);

/// True for codes after which the handle cannot be trusted (corruption, I/O).
bool code_is_fatal(int extended_code) noexcept;

}  // namespace uvdb::sqlite::detail
