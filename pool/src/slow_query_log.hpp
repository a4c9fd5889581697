#pragma once
// Not installed: the slow-query log's text (slow_query_log.cpp), apart from
// the pool so the unit tests check the masking rule directly.

#include <cstddef>
#include <string>
#include <string_view>
#include <uvdb/param.hpp>

namespace uvdb::detail {

/// The longest SQL text a slow-query line shows; longer text is cut and the
/// line says how many bytes were left out.
inline constexpr std::size_t slow_log_sql_max = 500;
/// The longest text value shown for one parameter.
inline constexpr std::size_t slow_log_value_max = 64;

/// Whether parameter $`n` (1-based) must be masked: the 64 characters of SQL
/// before any of its `$n` mention a secret-like word (password, passwd,
/// secret, token, key, credential; any case, also inside longer names such
/// as api_key), or it is the value of such a column in an
/// `INSERT … (columns) VALUES (…)`, or the text does not mention `$n` at all.
bool param_looks_secret(std::string_view sql, std::size_t n);

/// `$1=42, $2=***, $3='text'`: each value shown (text cut at
/// slow_log_value_max, binary as its size), secret-looking ones masked.
std::string describe_params(std::string_view sql, const params& p);

/// `sql` on one line (line breaks as spaces), cut at slow_log_sql_max.
std::string shorten_sql(std::string_view sql);

}  // namespace uvdb::detail
