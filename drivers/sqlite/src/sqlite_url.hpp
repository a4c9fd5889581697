#pragma once
// sqlite:// URLs and their options → what sqlite3_open_v2 and the first
// pragmas need. Pure parsing, no I/O (the forms are documented in
// <uvdb/sqlite/driver.hpp>).

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <uvdb/result.hpp>

namespace uvdb::sqlite::detail {

struct open_settings {
    std::string path;  ///< file path (percent-decoded) or ":memory:"
    bool memory = false;
    std::string mode = "rwc";  ///< ro | rw | rwc
    std::chrono::milliseconds busy_timeout{5000};
    std::string journal_mode;  ///< empty: leave the file's own
    std::string synchronous;   ///< empty: SQLite's default
    std::string foreign_keys;  ///< empty, "on" or "off"

    /// "app.db (rwc)", ":memory:": for describe() and logs.
    std::string where() const;
};

/// Parses `url` and applies `extra` (which overrides the URL's parameters).
/// Errors are errc::bad_config and say which part is wrong and what to write.
result<open_settings> parse_settings(std::string_view url,
                                     const std::map<std::string, std::string>& extra);

}  // namespace uvdb::sqlite::detail
