// The slow-query log: one warn line per statement that took at least
// pool_options::slow_query_threshold, and the rule that keeps secrets out of
// it when parameters are shown (slow_query_log_params).

#include "slow_query_log.hpp"

#include <spdlog/logger.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <string>
#include <uvdb/log.hpp>
#include <vector>

#include "pool_core.hpp"

namespace uvdb::detail {

namespace {

constexpr std::size_t secret_window = 64;
constexpr std::array<std::string_view, 6> secret_words = {"password", "passwd",     "secret",
                                                          "token",    "credential", "key"};

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool mentions_secret(std::string_view lowered) {
    return std::any_of(secret_words.begin(), secret_words.end(), [&](std::string_view w) {
        return lowered.find(w) != std::string_view::npos;
    });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

/// The comma-separated items of the parenthesised group that starts at
/// `open` (a '('), at its top level; empty when it is not closed.
std::vector<std::string_view> group_items(std::string_view s, std::size_t open) {
    std::vector<std::string_view> items;
    int depth = 0;
    std::size_t start = open + 1;
    for (std::size_t i = open; i < s.size(); ++i) {
        if (s[i] == '(') {
            ++depth;
        } else if (s[i] == ')') {
            if (--depth == 0) {
                items.push_back(trim(s.substr(start, i - start)));
                return items;
            }
        } else if (s[i] == ',' && depth == 1) {
            items.push_back(trim(s.substr(start, i - start)));
            start = i + 1;
        }
    }
    return {};
}

/// In `INSERT … (a, b, c) VALUES ($1, $2, $3)`, whether the column whose
/// value is exactly `token` has a secret-like name.
bool insert_column_secret(const std::string& sql, std::string_view token) {
    if (sql.find("insert") == std::string::npos) return false;
    const std::size_t values = sql.find("values");
    if (values == std::string::npos) return false;
    const std::size_t cols_close = sql.rfind(')', values);
    const std::size_t vals_open = sql.find('(', values);
    if (cols_close == std::string::npos || vals_open == std::string::npos) return false;
    // The column list: the group closing right before VALUES.
    int depth = 0;
    std::size_t cols_open = std::string::npos;
    for (std::size_t i = cols_close + 1; i-- > 0;) {
        if (sql[i] == ')') ++depth;
        if (sql[i] == '(' && --depth == 0) {
            cols_open = i;
            break;
        }
    }
    if (cols_open == std::string::npos) return false;
    const auto cols = group_items(sql, cols_open);
    const auto vals = group_items(sql, vals_open);
    for (std::size_t i = 0; i < vals.size() && i < cols.size(); ++i) {
        if (vals[i] == token && mentions_secret(cols[i])) return true;
    }
    return false;
}

void append_value(std::string& out, const param_view& v) {
    switch (v.type()) {
        case param_kind::null:
            out += "NULL";
            return;
        case param_kind::boolean:
            out += v.as_bool() ? "true" : "false";
            return;
        case param_kind::int16:
        case param_kind::int32:
        case param_kind::int64:
            out += std::to_string(v.as_int());
            return;
        case param_kind::float32:
        case param_kind::float64: {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%g", v.as_double());
            out += buf;
            return;
        }
        case param_kind::text: {
            const std::string_view t = v.as_text();
            out += '\'';
            out.append(t.substr(0, slow_log_value_max));
            out += t.size() > slow_log_value_max ? "…'" : "'";
            return;
        }
        case param_kind::binary:
            out += '<' + std::to_string(v.as_bytes().size()) + " bytes>";
            return;
    }
}

}  // namespace

bool param_looks_secret(std::string_view sql, std::size_t n) {
    const std::string text = lower(sql);
    const std::string token = '$' + std::to_string(n);
    bool mentioned = false;
    for (std::size_t at = text.find(token); at != std::string::npos;
         at = text.find(token, at + 1)) {
        const std::size_t end = at + token.size();
        if (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) continue;
        mentioned = true;
        const std::size_t from = at > secret_window ? at - secret_window : 0;
        if (mentions_secret(std::string_view(text).substr(from, at - from))) return true;
    }
    // A value the text never names could be anything: not shown.
    if (!mentioned) return true;
    return insert_column_secret(text, token);
}

std::string describe_params(std::string_view sql, const params& p) {
    std::string out;
    std::size_t n = 0;
    for (const param_view v : p) {
        ++n;
        if (n > 1) out += ", ";
        out += '$' + std::to_string(n) + '=';
        if (param_looks_secret(sql, n)) {
            out += "***";
        } else {
            append_value(out, v);
        }
    }
    return out;
}

std::string shorten_sql(std::string_view sql) {
    std::string out(sql.substr(0, slow_log_sql_max));
    for (char& c : out) {
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    }
    if (sql.size() > slow_log_sql_max) {
        out += "… (" + std::to_string(sql.size() - slow_log_sql_max) + " more bytes)";
    }
    return out;
}

void pool_core::log_slow(const stmt_trace& t, const statement_outcome& out) const {
    char took[32];
    std::snprintf(took, sizeof took, "%.1f", static_cast<double>(out.duration.count()) / 1000.0);
    std::string line = "pool: slow query took ";
    line += took;
    line += " ms (slow_query_threshold ";
    line += std::to_string(opts_.slow_query_threshold.count());
    line += " ms) at ";
    line += format_location(t.where);
    line += " on ";
    line += t.conn != nullptr ? t.conn->describe() : std::string("(unknown connection)");
    if (out.err != nullptr) {
        // The code and SQLSTATE only: a server's message may quote values.
        line += ", failed: ";
        line += to_string(out.err->value());
        if (!out.err->sqlstate().empty()) {
            line += " (SQLSTATE ";
            line += out.err->sqlstate();
            line += ')';
        }
    } else {
        line += ", rows ";
        line += std::to_string(out.rows);
    }
    line += ": ";
    line += shorten_sql(t.sql);
    if (t.param_count > 0) {
        if (opts_.slow_query_log_params) {
            line += " -- params: ";
            line += describe_params(t.sql, t.args);
        } else {
            line += " -- ";
            line += std::to_string(t.param_count);
            line += " params (not shown: slow_query_log_params is off)";
        }
    }
    logger().warn("{}", line);
}

}  // namespace uvdb::detail
