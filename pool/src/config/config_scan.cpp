// A scan of the TOML text before toml++ sees it, for the characters toml++
// 3.3 cannot take.
//
// toml++ 3.3 (Debian 12's) checks characters against a whitespace table
// whose lookup reaches __builtin_unreachable() for many non-ASCII code
// points, U+00E9 and U+3001 among them (upstream marzer/tomlplusplus#190 and
// #295). It does so for every character outside a string (bare keys and
// values, the space between tokens), for the character after a backslash
// in a multi-line string, and for the first character after a line-ending
// backslash. TOML allows no non-ASCII character in the first two places and
// needs none in the third, so the scan refuses them there, with their
// position, and lets strings and comments hold any Unicode.
//
// The scan must never take for a string what toml++ reads as a bare value:
// in `timeout = 1e3'é'` the quote is part of the bare value, and é would
// reach the table. So a quote opens a string only where toml++ certainly
// parses one (or stops with an error first): wherever it reads a key, and
// in a value after '=', '[' or ',' that are not themselves inside a bare
// value. Anywhere else the quote is taken as part of a bare token; at worst
// that refuses an odd document toml++ would have refused anyway.

#include <cstdio>
#include <optional>
#include <string>

#include "config/config_detail.hpp"

namespace uvdb::detail::cfg {
namespace {

/// The code point starting at s[i] (lenient: a malformed sequence yields its first byte).
std::uint32_t code_point_at(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    const std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (n == 1 || i + n > s.size()) return c;
    std::uint32_t cp = c & (0x3F >> (n - 1));
    for (std::size_t k = 1; k < n; ++k) {
        if ((b(i + k) & 0xC0) != 0x80) return c;
        cp = (cp << 6) | (b(i + k) & 0x3F);
    }
    return cp;
}

bool is_non_ascii(char c) { return (static_cast<unsigned char>(c) & 0x80) != 0; }
bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

class scanner {
  public:
    scanner(std::string_view s, const std::string& name) : s_(s), name_(name) {}

    std::optional<problem> run() {
        for (i_ = 0; i_ < s_.size(); ++i_) {
            skip_ = 0;
            if (auto p = step(s_[i_])) return p;
            advance_position();
        }
        return std::nullopt;
    }

  private:
    enum class state { normal, comment, basic, literal, ml_basic, ml_literal };

    std::optional<problem> step(char c) {
        switch (st_) {
            case state::normal:
                return normal(c);
            case state::comment:
                if (c == '\n') end_line();
                return std::nullopt;
            case state::basic:
                if (c == '\\') {
                    if (i_ + 1 < s_.size() && is_non_ascii(s_[i_ + 1]))
                        return refuse(i_ + 1, 1, escape_help);
                    skip_ = 1;
                } else if (c == '"') {
                    close('"');
                } else if (c == '\n') {
                    st_ = state::normal;
                    end_line();
                }
                return std::nullopt;
            case state::literal:
                if (c == '\'') {
                    close('\'');
                } else if (c == '\n') {
                    st_ = state::normal;
                    end_line();
                }
                return std::nullopt;
            case state::ml_basic:
                return multi_line_basic(c);
            case state::ml_literal:
                if (starts("'''")) close_multi_line('\'');
                return std::nullopt;
        }
        return std::nullopt;
    }

    std::optional<problem> normal(char c) {
        if (is_non_ascii(c))
            return refuse(i_, 0, "outside a string or comment (TOML allows it only in those)");
        if (c == '\n') {
            end_line();
            return std::nullopt;
        }
        if (in_bare_) {
            // toml++ reads a bare value up to a value terminator, quotes and all.
            const bool terminator = is_blank(c) || c == ']' || c == '}' || c == ',' || c == '#';
            if (!terminator) return std::nullopt;
            in_bare_ = false;
        }
        if (is_blank(c)) return std::nullopt;
        if (c == '#') {
            st_ = state::comment;
            return std::nullopt;
        }
        if (c == '"' || c == '\'') {
            if (opens_string()) {
                open(c);
                return std::nullopt;
            }
            in_bare_ = true;
            last_ = c;
            return std::nullopt;
        }
        last_ = c;
        if (!in_value_) {
            if (c == '=') in_value_ = true;
            return std::nullopt;
        }
        if (inline_key_) {
            if (c == '=') inline_key_ = false;
            if (c == '}' && !nesting_.empty()) nesting_.pop_back();
            return std::nullopt;
        }
        switch (c) {
            case '[':
                nesting_.push_back('[');
                break;
            case '{':
                nesting_.push_back('{');
                inline_key_ = true;
                break;
            case ']':
            case '}':
                if (!nesting_.empty()) nesting_.pop_back();
                break;
            case ',':
                if (!nesting_.empty() && nesting_.back() == '{') inline_key_ = true;
                break;
            case '=':
                break;
            default:
                in_bare_ = true;  // a number, boolean, date or garbage
        }
        return std::nullopt;
    }

    std::optional<problem> multi_line_basic(char c) {
        if (trimming_) {
            if (is_blank(c) || c == '\n') return std::nullopt;
            trimming_ = false;
            if (is_non_ascii(c)) {
                return refuse(
                    i_, 0,
                    "cannot follow a line-ending backslash here; write it as an escape (\\uXXXX)");
            }
        }
        if (c == '\\') {
            std::size_t j = i_ + 1;
            while (j < s_.size() && is_blank(s_[j])) ++j;
            if (j < s_.size() && s_[j] == '\n') {
                trimming_ = true;
            } else if (i_ + 1 < s_.size() && is_non_ascii(s_[i_ + 1])) {
                return refuse(i_ + 1, 1, escape_help);
            } else {
                skip_ = 1;
            }
        } else if (starts("\"\"\"")) {
            close_multi_line('"');
        }
        return std::nullopt;
    }

    bool opens_string() const {
        if (in_bare_) return false;
        // Where toml++ reads a key, a quote is a quoted key or an error.
        if (!in_value_ || inline_key_) return true;
        return last_ == '=' || last_ == '[' || last_ == ',';
    }

    void open(char q) {
        const bool multi = starts(q == '"' ? "\"\"\"" : "'''");
        if (multi) skip_ = 2;
        st_ = q == '"' ? (multi ? state::ml_basic : state::basic)
                       : (multi ? state::ml_literal : state::literal);
    }
    void close(char q) {
        st_ = state::normal;
        last_ = q;
    }
    void close_multi_line(char q) {
        // Up to two more quotes belong to the string: """a"""" is `a"`.
        skip_ = 2;
        while (skip_ < 4 && i_ + skip_ + 1 < s_.size() && s_[i_ + skip_ + 1] == q) ++skip_;
        close(q);
    }
    void end_line() {
        st_ = state::normal;
        last_ = '\n';
        in_bare_ = false;
        // A value goes on past the end of the line only inside an array.
        if (nesting_.empty()) {
            in_value_ = false;
            inline_key_ = false;
        }
    }

    bool starts(std::string_view t) const { return s_.substr(i_, t.size()) == t; }

    problem refuse(std::size_t at_byte, std::uint32_t ahead, const char* why) const {
        char hex[16];
        std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(code_point_at(s_, at_byte)));
        const text_pos p{line_, column_ + ahead};
        return problem{p, at(name_, p) + "character " + hex + " " + why};
    }

    void advance_position() {
        for (std::size_t k = 0; k <= skip_ && i_ + k < s_.size(); ++k) {
            const char b = s_[i_ + k];
            if (b == '\n') {
                ++line_;
                column_ = 1;
            } else if ((static_cast<unsigned char>(b) & 0xC0) != 0x80) {
                ++column_;  // toml++ counts code points, not bytes
            }
        }
        i_ += skip_;
    }

    static constexpr const char* escape_help = "after a backslash (TOML escapes are ASCII)";

    std::string_view s_;
    const std::string& name_;
    std::size_t i_ = 0;
    std::size_t skip_ = 0;  // bytes consumed with the current one
    state st_ = state::normal;
    bool trimming_ = false;    // after a line-ending backslash in a """ string
    bool in_value_ = false;    // after the '=' of a key/value pair (or inside an array)
    bool in_bare_ = false;     // inside a bare value (number, boolean, date, garbage)
    bool inline_key_ = false;  // at a key inside an inline table
    std::string nesting_;      // open '[' and '{' of the value
    char last_ = '\n';         // the last structural byte outside strings
    std::uint32_t line_ = 1;
    std::uint32_t column_ = 1;
};

}  // namespace

std::optional<problem> unsupported_character(std::string_view text, const std::string& name) {
    return scanner(text, name).run();
}

}  // namespace uvdb::detail::cfg
