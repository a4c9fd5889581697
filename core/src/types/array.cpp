#include <charconv>
#include <cmath>
#include <limits>
#include <uvdb/types/array.hpp>

#include "../ascii.hpp"

namespace uvdb::detail {
namespace {

using ::uvdb::detail::ascii::is_space;

bool is_null_word(std::string_view s) noexcept {
    if (s.size() != 4) return false;
    constexpr std::string_view word = "null";
    for (std::size_t i = 0; i < 4; ++i) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != word[i]) return false;
    }
    return true;
}

template <class F>
std::string float_text_of(F v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;  // 64 characters hold the shortest form of any double
    return std::string(buf, end);
}

}  // namespace

array_status parse_array_text(std::string_view t, std::vector<std::optional<std::string>>& out) {
    out.clear();
    std::size_t i = 0;
    auto skip_space = [&] {
        while (i < t.size() && is_space(t[i])) ++i;
    };
    skip_space();
    if (i < t.size() && t[i] == '[') return array_status::lower_bound;
    if (i == t.size() || t[i] != '{') return array_status::invalid;
    ++i;
    skip_space();
    if (i < t.size() && t[i] == '{') return array_status::multi_dimensional;
    if (i < t.size() && t[i] == '}') {
        ++i;
        skip_space();
        return i == t.size() ? array_status::ok : array_status::invalid;
    }
    for (;;) {
        skip_space();
        if (i == t.size()) return array_status::invalid;
        std::string element;
        if (t[i] == '"') {
            ++i;
            for (;;) {
                if (i == t.size()) return array_status::invalid;
                const char c = t[i++];
                if (c == '"') break;
                if (c == '\\') {
                    if (i == t.size()) return array_status::invalid;
                    element += t[i++];
                } else {
                    element += c;
                }
            }
            skip_space();
            out.emplace_back(std::move(element));
        } else {
            // Unquoted: up to ',' or '}', without the trailing blanks an
            // escape did not protect.
            std::size_t keep = 0;
            bool escaped = false;
            while (i < t.size() && t[i] != ',' && t[i] != '}') {
                const char c = t[i++];
                if (c == '{' || c == '"')
                    return c == '{' ? array_status::multi_dimensional : array_status::invalid;
                if (c == '\\') {
                    if (i == t.size()) return array_status::invalid;
                    element += t[i++];
                    escaped = true;
                    keep = element.size();
                } else {
                    element += c;
                    if (!is_space(c)) keep = element.size();
                }
            }
            element.resize(keep);
            if (element.empty() && !escaped) return array_status::invalid;
            // NULL unquoted is SQL NULL; "NULL" quoted is the string.
            if (!escaped && is_null_word(element))
                out.emplace_back(std::nullopt);
            else
                out.emplace_back(std::move(element));
        }
        if (i == t.size()) return array_status::invalid;
        if (t[i] == ',') {
            ++i;
            continue;
        }
        if (t[i] != '}') return array_status::invalid;
        ++i;
        skip_space();
        return i == t.size() ? array_status::ok : array_status::invalid;
    }
}

void append_quoted_element(std::string& out, std::string_view element) {
    out += '"';
    for (char c : element) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
}

std::string float_text(double v) { return float_text_of(v); }
std::string float_text(float v) { return float_text_of(v); }

std::string bytea_hex_text(const bytes& b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out = "\\x";
    out.reserve(2 + 2 * b.data.size());
    for (std::byte x : b.data) {
        const auto v = static_cast<unsigned>(x);
        out += digits[v >> 4];
        out += digits[v & 0xF];
    }
    return out;
}

error null_element_error(const result_source& src, std::size_t col, std::size_t index,
                         std::string_view cpp_name) {
    return error(errc::conversion_error,
                 "column \"" + std::string(src.column_name(col)) + "\" (" +
                     std::string(src.type_name(col)) + ") holds a NULL element at index " +
                     std::to_string(index + 1) + "; read it as std::vector<std::optional<" +
                     std::string(cpp_name) + ">>");
}

error array_shape_error(const result_source& src, std::size_t row, std::size_t col,
                        array_status why) {
    if (why == array_status::invalid) return invalid_value_error(src, row, col, "array");
    error e = invalid_value_error(src, row, col, "one-dimensional array");
    return error(e.value(), e.message() + (why == array_status::multi_dimensional
                                               ? "; uvdb reads one-dimensional arrays only (select "
                                                 "unnest(…) or one slice)"
                                               : "; its lower bound is not 1 (select array_agg(x) "
                                                 "FROM unnest(…) x to renumber it)"));
}

}  // namespace uvdb::detail
