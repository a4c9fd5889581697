// The one place that knows toml++: a TOML document becomes a flat list of
// file_entry values with their positions. Whether a key is known and whether
// its value fits is decided elsewhere, the same way for every layer.

#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <string>

#include "config/config_detail.hpp"

namespace uvdb::detail::cfg {
namespace {

text_pos pos_of(const toml::source_region& r) { return {r.begin.line, r.begin.column}; }

raw_value raw_of(const toml::node& n) {
    raw_value v;
    switch (n.type()) {
        case toml::node_type::string:
            v.t = raw_value::type::string;
            v.text = n.as_string()->get();
            break;
        case toml::node_type::integer:
            v.t = raw_value::type::integer;
            v.integer = n.as_integer()->get();
            break;
        case toml::node_type::floating_point:
            v.t = raw_value::type::floating;
            v.floating = n.as_floating_point()->get();
            break;
        case toml::node_type::boolean:
            v.t = raw_value::type::boolean;
            v.boolean = n.as_boolean()->get();
            break;
        case toml::node_type::table:
            v.t = raw_value::type::other;
            v.text = "table";
            break;
        case toml::node_type::array:
            v.t = raw_value::type::other;
            v.text = "array";
            break;
        case toml::node_type::date:
            v.t = raw_value::type::other;
            v.text = "date";
            break;
        case toml::node_type::time:
            v.t = raw_value::type::other;
            v.text = "time";
            break;
        case toml::node_type::date_time:
            v.t = raw_value::type::other;
            v.text = "date-time";
            break;
        default:
            v.t = raw_value::type::other;
            v.text = "value of unknown type";
            break;
    }
    return v;
}

text_pos key_pos(const toml::key& k, const toml::node& n) {
    text_pos p = pos_of(k.source());
    return p.line != 0 ? p : pos_of(n.source());
}

void add_entries(file_doc& doc, const std::string& section, const toml::table& t) {
    for (auto&& [k, v] : t) {
        file_entry e;
        e.section = section;
        e.key = std::string(k.str());
        e.key_pos = key_pos(k, v);
        e.value_pos = pos_of(v.source());
        if (e.value_pos.line == 0) e.value_pos = e.key_pos;
        if (section == "database" && e.key == "extra" && v.is_table()) {
            add_entries(doc, "database.extra", *v.as_table());
            continue;
        }
        e.value = raw_of(v);
        doc.entries.push_back(std::move(e));
    }
}

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

/// Finds a non-ASCII character where TOML allows none: outside strings and
/// comments, after a backslash in a basic string, and (a case TOML allows)
/// first after a line-ending backslash in a multi-line string. toml++ 3.3
/// checks such characters against a whitespace table that reaches
/// __builtin_unreachable() for many of them (U+00E9 among them; upstream
/// marzer/tomlplusplus#190 and #295), so they must not reach it.
///
/// A quote opens a string only where toml++ would parse one: at the start
/// of a line, after '=', '[', '{' or ',', or after '.' in a key (before the
/// line's '='). Elsewhere (inside a bare value such as `1e3'x`) toml++ reads
/// it as part of the value, and so does this scan.
std::optional<problem> unsupported_character(std::string_view s, const std::string& name) {
    enum class state { normal, comment, basic, literal, ml_basic, ml_literal };
    state st = state::normal;
    bool trimming = false;     // after a line-ending backslash in a multi-line basic string
    char last = '\n';          // last byte that was not a space or tab, outside strings
    bool seen_equals = false;  // an '=' outside strings on this line: now in a value
    std::uint32_t line = 1;
    std::uint32_t column = 1;
    // `ahead`: the character is that many past the current one (on the same line).
    auto refuse = [&](std::size_t i, const char* where, std::uint32_t ahead = 0) {
        char hex[16];
        std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(code_point_at(s, i)));
        const text_pos p{line, column + ahead};
        return problem{p, at(name, p) + "character " + hex + " " + where};
    };
    auto starts = [&](std::size_t i, std::string_view t) { return s.substr(i, t.size()) == t; };
    auto opens_string = [&] {
        return last == '\n' || last == '=' || last == '[' || last == '{' || last == ',' ||
               (last == '.' && !seen_equals);
    };
    // Consumes the closing quotes of a multi-line string (up to two more belong to it).
    auto close_multi_line = [&](std::size_t i, char q) {
        std::size_t skip = 2;
        while (skip < 4 && i + skip + 1 < s.size() && s[i + skip + 1] == q) ++skip;
        st = state::normal;
        last = q;
        return skip;
    };
    constexpr const char* escape_help = "after a backslash (TOML escapes are ASCII)";
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const auto next_non_ascii = [&] {
            return i + 1 < s.size() && (static_cast<unsigned char>(s[i + 1]) & 0x80) != 0;
        };
        const bool non_ascii = (static_cast<unsigned char>(c) & 0x80) != 0;
        std::size_t skip = 0;  // further bytes consumed with this one
        switch (st) {
            case state::normal:
                if (non_ascii) {
                    return refuse(i, "outside a string or comment (TOML allows it only in those)");
                }
                if (c == '\n') {
                    last = '\n';
                    seen_equals = false;
                } else if (c == '#') {
                    st = state::comment;
                } else if ((c == '"' || c == '\'') && opens_string()) {
                    const bool multi = starts(i, c == '"' ? "\"\"\"" : "'''");
                    st = c == '"' ? (multi ? state::ml_basic : state::basic)
                                  : (multi ? state::ml_literal : state::literal);
                    if (multi) skip = 2;
                } else if (c != ' ' && c != '\t' && c != '\r') {
                    if (c == '=') seen_equals = true;
                    last = c;
                }
                break;
            case state::comment:
                if (c == '\n') {
                    st = state::normal;
                    last = '\n';
                    seen_equals = false;
                }
                break;
            case state::basic:
                if (c == '\\') {
                    if (next_non_ascii()) return refuse(i + 1, escape_help, 1);
                    skip = 1;
                } else if (c == '"') {
                    st = state::normal;
                    last = '"';
                } else if (c == '\n') {
                    st = state::normal;
                    last = '\n';
                    seen_equals = false;
                }
                break;
            case state::literal:
                if (c == '\'') {
                    st = state::normal;
                    last = '\'';
                } else if (c == '\n') {
                    st = state::normal;
                    last = '\n';
                    seen_equals = false;
                }
                break;
            case state::ml_basic:
                if (trimming) {
                    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') break;
                    trimming = false;
                    if (non_ascii) {
                        return refuse(i,
                                      "cannot follow a line-ending backslash here; write it as an "
                                      "escape (\\uXXXX)");
                    }
                }
                if (c == '\\') {
                    std::size_t j = i + 1;
                    while (j < s.size() && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r')) ++j;
                    if (j < s.size() && s[j] == '\n') {
                        trimming = true;
                    } else if (next_non_ascii()) {
                        return refuse(i + 1, escape_help, 1);
                    } else {
                        skip = 1;
                    }
                } else if (starts(i, "\"\"\"")) {
                    skip = close_multi_line(i, '"');
                }
                break;
            case state::ml_literal:
                if (starts(i, "'''")) skip = close_multi_line(i, '\'');
                break;
        }
        for (std::size_t k = 0; k <= skip && i + k < s.size(); ++k) {
            const char b = s[i + k];
            if (b == '\n') {
                ++line;
                column = 1;
            } else if ((static_cast<unsigned char>(b) & 0xC0) != 0x80) {
                ++column;  // toml++ counts code points, not bytes
            }
        }
        i += skip;
    }
    return std::nullopt;
}

bool before(text_pos a, text_pos b) {
    return a.line != b.line ? a.line < b.line : a.column < b.column;
}

}  // namespace

std::string at(const std::string& name, text_pos pos) {
    if (pos.line == 0) return name + ": ";
    return name + ':' + std::to_string(pos.line) + ':' + std::to_string(pos.column) + ": ";
}

file_doc parse_toml(std::string_view text, const std::string& name) {
    file_doc doc;
    if (auto bad = unsupported_character(text, name)) {
        doc.problems.push_back(std::move(*bad));
        return doc;
    }
    toml::table root;
    try {
        root = toml::parse(text, std::string_view(name));
    } catch (const toml::parse_error& e) {
        const text_pos p = pos_of(e.source());
        doc.problems.push_back(
            {p, at(name, p) + "TOML syntax error: " + printable(e.description(), 200)});
        return doc;
    }
    for (auto&& [k, v] : root) {
        const std::string key(k.str());
        const text_pos p = key_pos(k, v);
        const auto& sections = section_names();
        const bool known = std::find(sections.begin(), sections.end(), key) != sections.end();
        if (v.is_table() && known) {
            add_entries(doc, key, *v.as_table());
            continue;
        }
        if (v.is_table()) {
            std::string hint = did_you_mean(key, sections);
            if (!hint.empty()) hint = "; did you mean [" + *closest(key, sections) + "]?";
            doc.problems.push_back(
                {p, at(name, p) + "unknown table [" + printable(key) + "]" +
                        (hint.empty() ? " (tables: [database], [pool], [log])" : hint)});
            continue;
        }
        if (known) {
            doc.problems.push_back({p, at(name, p) + "\"" + key + "\" must be a table ([" + key +
                                           "]), got " + describe_type(raw_of(v))});
            continue;
        }
        // A key above the first [table]: say which table it belongs in.
        std::string where;
        for (const auto& s : settings()) {
            if (s.key == key) where = "; put it under [" + std::string(s.section) + "]";
        }
        doc.problems.push_back(
            {p, at(name, p) + "key " + quote(printable(key)) + " is outside any table" +
                    (where.empty() ? " (tables: [database], [pool], [log])" : where)});
    }
    std::stable_sort(
        doc.entries.begin(), doc.entries.end(),
        [](const file_entry& a, const file_entry& b) { return before(a.key_pos, b.key_pos); });
    return doc;
}

}  // namespace uvdb::detail::cfg
