// Conversions of configuration values: whole numbers, durations, booleans,
// fractions and strings, from TOML values or from text (environment,
// presets). Refusals say what was expected; they quote numbers but never a
// string, which might be a secret typed into the wrong key.

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

#include "config/config_detail.hpp"

namespace uvdb::detail::cfg {
namespace {

using std::chrono::milliseconds;

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string got(const raw_value& v) {
    std::string s = ", got " + describe_type(v);
    if (v.t == raw_value::type::string && !v.textual) s += " (write it without quotes)";
    return s;
}

constexpr const char* duration_help =
    "expected a duration such as \"500ms\", \"30s\", \"10m\", \"1h\" or a number of seconds";

converted<milliseconds> check_duration(milliseconds d, milliseconds min) {
    if (d > max_duration) return {std::nullopt, "is too long (at most 87600h, 10 years)"};
    if (d < min) {
        return {std::nullopt, min.count() <= 1 ? "must be longer than 0, got " + format_duration(d)
                                               : "must be at least " + format_duration(min) +
                                                     ", got " + format_duration(d)};
    }
    return {d, {}};
}

}  // namespace

std::string describe_type(const raw_value& v) {
    switch (v.t) {
        case raw_value::type::string:
            return "a string";
        case raw_value::type::integer:
            return std::to_string(v.integer);
        case raw_value::type::floating: {
            char buf[40];
            std::snprintf(buf, sizeof buf, "%g", v.floating);
            return buf;
        }
        case raw_value::type::boolean:
            return v.boolean ? "true" : "false";
        case raw_value::type::other:
            return "a " + v.text;
    }
    return "a value";
}

converted<std::size_t> to_count(const raw_value& v, std::size_t min) {
    const std::string expected = "expected a whole number \u2265 " + std::to_string(min);
    std::int64_t n = 0;
    if (v.t == raw_value::type::integer) {
        n = v.integer;
    } else if (v.t == raw_value::type::string && v.textual) {
        std::string_view s = trim(v.text);
        if (s.empty() || !is_digit(s.front())) return {std::nullopt, expected};
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (ec == std::errc::result_out_of_range) {
            return {std::nullopt, "is too large (at most " + std::to_string(max_count) + ")"};
        }
        if (ec != std::errc{} || end != s.data() + s.size()) return {std::nullopt, expected};
    } else {
        return {std::nullopt, expected + got(v)};
    }
    if (n < static_cast<std::int64_t>(min))
        return {std::nullopt, expected + ", got " + std::to_string(n)};
    if (n > max_count) {
        return {std::nullopt, "is too large (at most " + std::to_string(max_count) + "), got " +
                                  std::to_string(n)};
    }
    return {static_cast<std::size_t>(n), {}};
}

converted<milliseconds> parse_duration(std::string_view text) {
    std::string_view s = trim(text);
    if (s.empty()) return {std::nullopt, std::string(duration_help) + ", got an empty string"};
    if (s.front() == '-') return {std::nullopt, "must not be negative"};
    std::size_t i = 0;
    std::uint64_t whole = 0;
    constexpr std::uint64_t whole_cap = 1'000'000'000'000'000ULL;  // far beyond any limit
    while (i < s.size() && is_digit(s[i])) {
        whole = whole * 10 + static_cast<std::uint64_t>(s[i] - '0');
        if (whole > whole_cap) return {std::nullopt, "is too long (at most 87600h, 10 years)"};
        ++i;
    }
    const bool had_whole = i > 0;
    std::uint64_t frac = 0;
    std::uint64_t frac_scale = 1;
    if (i < s.size() && s[i] == '.') {
        ++i;
        const std::size_t start = i;
        while (i < s.size() && is_digit(s[i])) {
            // Digits past the ninth cannot matter at millisecond resolution.
            if (frac_scale < 1'000'000'000ULL) {
                frac = frac * 10 + static_cast<std::uint64_t>(s[i] - '0');
                frac_scale *= 10;
            }
            ++i;
        }
        if (i == start) return {std::nullopt, duration_help};
    } else if (!had_whole) {
        return {std::nullopt, duration_help};
    }
    std::string_view unit = trim(s.substr(i));
    std::uint64_t factor = 0;  // milliseconds per unit
    if (unit.empty() || iequals(unit, "s")) {
        factor = 1000;
    } else if (iequals(unit, "ms")) {
        factor = 1;
    } else if (iequals(unit, "m")) {
        factor = 60'000;
    } else if (iequals(unit, "h")) {
        factor = 3'600'000;
    } else {
        return {std::nullopt, std::string(duration_help) + " (the unit must be ms, s, m or h)"};
    }
    if (whole > static_cast<std::uint64_t>(max_duration.count()) / factor + 1) {
        return {std::nullopt, "is too long (at most 87600h, 10 years)"};
    }
    const std::uint64_t ms = whole * factor + (frac * factor + frac_scale / 2) / frac_scale;
    if (ms == 0 && (whole != 0 || frac != 0)) {
        return {std::nullopt, "is shorter than a millisecond"};
    }
    if (ms > static_cast<std::uint64_t>(max_duration.count())) {
        return {std::nullopt, "is too long (at most 87600h, 10 years)"};
    }
    return {milliseconds(static_cast<std::int64_t>(ms)), {}};
}

converted<milliseconds> to_duration(const raw_value& v, milliseconds min) {
    switch (v.t) {
        case raw_value::type::integer: {
            if (v.integer < 0)
                return {std::nullopt, "must not be negative, got " + std::to_string(v.integer)};
            if (v.integer > max_duration.count() / 1000) {
                return {std::nullopt, "is too long (at most 87600h, 10 years)"};
            }
            return check_duration(milliseconds(v.integer * 1000), min);
        }
        case raw_value::type::floating: {
            if (std::isnan(v.floating))
                return {std::nullopt, std::string(duration_help) + ", got nan"};
            if (v.floating < 0)
                return {std::nullopt, "must not be negative, got " + describe_type(v)};
            if (!(v.floating * 1000.0 <= static_cast<double>(max_duration.count()))) {
                return {std::nullopt, "is too long (at most 87600h, 10 years)"};
            }
            const auto ms = static_cast<std::int64_t>(std::llround(v.floating * 1000.0));
            if (ms == 0 && v.floating != 0.0)
                return {std::nullopt, "is shorter than a millisecond"};
            return check_duration(milliseconds(ms), min);
        }
        case raw_value::type::string: {
            auto d = parse_duration(v.text);
            if (!d.value) return d;
            return check_duration(*d.value, min);
        }
        default:
            return {std::nullopt, duration_help + got(v)};
    }
}

converted<bool> to_bool(const raw_value& v) {
    if (v.t == raw_value::type::boolean) return {v.boolean, {}};
    if (v.t == raw_value::type::string && v.textual) {
        std::string_view s = trim(v.text);
        for (std::string_view yes : {"true", "1", "yes"}) {
            if (iequals(s, yes)) return {true, {}};
        }
        for (std::string_view no : {"false", "0", "no"}) {
            if (iequals(s, no)) return {false, {}};
        }
        return {std::nullopt, "expected true or false (also 1/0, yes/no)"};
    }
    return {std::nullopt, "expected true or false" + got(v)};
}

converted<double> to_fraction(const raw_value& v) {
    double d = 0.0;
    if (v.t == raw_value::type::floating) {
        d = v.floating;
    } else if (v.t == raw_value::type::integer) {
        d = static_cast<double>(v.integer);
    } else if (v.t == raw_value::type::string && v.textual) {
        std::string_view s = trim(v.text);
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) {
            return {std::nullopt, "expected a number from 0 up to (not including) 1"};
        }
    } else {
        return {std::nullopt, "expected a number from 0 up to (not including) 1" + got(v)};
    }
    if (!(d >= 0.0 && d < 1.0)) {
        raw_value shown;
        shown.t = raw_value::type::floating;
        shown.floating = d;
        return {std::nullopt,
                "expected a number from 0 up to (not including) 1, got " + describe_type(shown)};
    }
    return {d, {}};
}

converted<std::string> to_string_value(const raw_value& v) {
    if (v.t == raw_value::type::string) return {v.text, {}};
    return {std::nullopt, "expected a string" + got(v)};
}

std::string format_duration(milliseconds d) {
    const auto ms = d.count();
    if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

std::string quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (u < 0x20 || u == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

std::string printable(std::string_view s, std::size_t max) {
    std::string out;
    for (char c : s) {
        if (out.size() >= max) {
            out += "...";
            break;
        }
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace uvdb::detail::cfg
