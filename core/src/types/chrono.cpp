#include <uvdb/types/chrono.hpp>

namespace uvdb {
namespace detail {
namespace {

struct cursor {
    std::string_view t;
    std::size_t i = 0;
    bool done() const noexcept { return i == t.size(); }
    bool eat(char c) noexcept {
        if (i < t.size() && t[i] == c) {
            ++i;
            return true;
        }
        return false;
    }
    /// Reads between min_n and max_n decimal digits; the count read in `n`.
    bool digits(std::size_t min_n, std::size_t max_n, std::int64_t& v, std::size_t* n = nullptr) {
        std::size_t k = 0;
        v = 0;
        while (i < t.size() && k < max_n && t[i] >= '0' && t[i] <= '9') {
            v = v * 10 + (t[i++] - '0');
            ++k;
        }
        if (n != nullptr) *n = k;
        return k >= min_n && !(k == max_n && i < t.size() && t[i] >= '0' && t[i] <= '9');
    }
};

bool is_leap(std::int64_t y) noexcept { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

unsigned days_in_month(std::int64_t y, std::int64_t m) noexcept {
    static constexpr unsigned d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

void append_padded(std::string& out, std::uint64_t v, std::size_t width) {
    std::string s = std::to_string(v);
    if (s.size() < width) out.append(width - s.size(), '0');
    out += s;
}

/// ".fffffffff" without trailing zeros, or nothing.
void append_fraction(std::string& out, std::uint64_t nanos) {
    if (nanos == 0) return;
    std::string f;
    append_padded(f, nanos, 9);
    while (f.back() == '0') f.pop_back();
    out += '.';
    out += f;
}

void append_clock(std::string& out, std::uint64_t seconds, std::uint64_t nanos) {
    append_padded(out, seconds / 3600, 2);
    out += ':';
    append_padded(out, seconds / 60 % 60, 2);
    out += ':';
    append_padded(out, seconds % 60, 2);
    append_fraction(out, nanos);
}

}  // namespace

std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    // Count from 0000-03-01 in 400-year eras (146097 days each), so that the
    // leap day is the last day of a "year".
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = floor_div(y, 400);
    const std::int64_t year_of_era = y - era * 400;
    const std::int64_t day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const std::int64_t day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;  // 719468: 0000-03-01 to 1970-01-01
}

civil_date civil_from_days(std::int64_t days) noexcept {
    const std::int64_t z = days + 719468;
    const std::int64_t era = floor_div(z, 146097);
    const std::int64_t day_of_era = z - era * 146097;
    const std::int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    const std::int64_t day_of_year =
        day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    const std::int64_t mp = (5 * day_of_year + 2) / 153;
    const auto d = static_cast<unsigned>(day_of_year - (153 * mp + 2) / 5 + 1);
    const auto m = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
    return {year_of_era + era * 400 + (m <= 2 ? 1 : 0), m, d};
}

decode_status parse_timestamp_text(std::string_view text, civil_time& out) noexcept {
    out = {};
    if (text == "infinity") {
        out.infinity = 1;
        return decode_status::ok;
    }
    if (text == "-infinity") {
        out.infinity = -1;
        return decode_status::ok;
    }
    bool bc = false;
    if (text.size() > 3 && text.substr(text.size() - 3) == " BC") {
        bc = true;
        text.remove_suffix(3);
    }
    cursor c{text};
    std::int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, nanos = 0;
    if (!c.digits(4, 9, year) || !c.eat('-') || !c.digits(2, 2, month) || !c.eat('-') ||
        !c.digits(2, 2, day))
        return decode_status::invalid;
    std::int64_t offset = 0;  // seconds east of UTC
    if (!c.done()) {
        if (!c.eat(' ') && !c.eat('T')) return decode_status::invalid;
        if (!c.digits(2, 2, hour) || !c.eat(':') || !c.digits(2, 2, minute) || !c.eat(':') ||
            !c.digits(2, 2, second))
            return decode_status::invalid;
        if (c.eat('.')) {
            std::size_t n = 0;
            if (!c.digits(1, 9, nanos, &n)) return decode_status::invalid;
            for (; n < 9; ++n) nanos *= 10;
        }
        if (c.eat('Z')) {
            // UTC
        } else if (!c.done()) {
            const bool west = c.t[c.i] == '-';
            if (!c.eat('+') && !c.eat('-')) return decode_status::invalid;
            std::int64_t oh = 0, om = 0, os = 0;
            if (!c.digits(2, 2, oh)) return decode_status::invalid;
            if (c.eat(':')) {
                if (!c.digits(2, 2, om)) return decode_status::invalid;
                if (c.eat(':') && !c.digits(2, 2, os)) return decode_status::invalid;
            }
            if (om > 59 || os > 59) return decode_status::invalid;
            offset = (oh * 60 + om) * 60 + os;
            if (west) offset = -offset;
        }
    }
    if (!c.done()) return decode_status::invalid;
    if (bc && year == 0) return decode_status::invalid;
    const std::int64_t astronomical = bc ? 1 - year : year;
    if (month < 1 || month > 12 || day < 1 ||
        day > static_cast<std::int64_t>(days_in_month(astronomical, month)))
        return decode_status::invalid;
    if (minute > 59 || second > 59 || hour > 24 ||
        (hour == 24 && (minute != 0 || second != 0 || nanos != 0)))
        return decode_status::invalid;
    out.days =
        days_from_civil(astronomical, static_cast<unsigned>(month), static_cast<unsigned>(day));
    std::int64_t ns = ((hour * 60 + minute) * 60 + second - offset) * 1'000'000'000 + nanos;
    out.days += floor_div(ns, ns_per_day);
    out.ns = ns - floor_div(ns, ns_per_day) * ns_per_day;
    // Nine-digit years both ways, also after the offset moved the day, so
    // that what is read can be written back.
    static const std::int64_t first_day = days_from_civil(-999'999'998, 1, 1);
    static const std::int64_t past_last_day = days_from_civil(1'000'000'000, 1, 1);
    if (out.days < first_day || out.days >= past_last_day) return decode_status::out_of_range;
    return decode_status::ok;
}

std::string format_date_text(std::int64_t days) {
    const civil_date d = civil_from_days(days);
    const bool bc = d.year <= 0;
    std::string out;
    append_padded(out, static_cast<std::uint64_t>(bc ? 1 - d.year : d.year), 4);
    out += '-';
    append_padded(out, d.month, 2);
    out += '-';
    append_padded(out, d.day, 2);
    if (bc) out += " BC";
    return out;
}

std::string format_timestamp_text(std::int64_t days, std::int64_t ns_of_day) {
    std::string out = format_date_text(days);
    const bool bc = out.size() > 3 && out.compare(out.size() - 3, 3, " BC") == 0;
    if (bc) out.resize(out.size() - 3);
    out += ' ';
    const auto ns = static_cast<std::uint64_t>(ns_of_day);
    append_clock(out, ns / 1'000'000'000, ns % 1'000'000'000);
    out += "+00:00";
    if (bc) out += " BC";
    return out;
}

std::string format_clock_text(bool negative, std::uint64_t seconds, std::uint32_t nanos) {
    std::string out = negative ? "-" : "";
    append_clock(out, seconds, nanos);
    return out;
}

error datestyle_error(const result_source& src, std::size_t row, std::size_t col,
                      std::string_view target) {
    error e = invalid_value_error(src, row, col, target);
    return error(e.value(), e.message() +
                                "; uvdb reads dates and times as PostgreSQL prints them in "
                                "DateStyle ISO (its default): SET DateStyle TO ISO");
}

error inexact_error(const result_source& src, std::size_t row, std::size_t col,
                    std::string_view target) {
    error e = out_of_range_error(src, row, col, target);
    return error(e.value(),
                 e.message() + " without dropping part of it; read it with a finer duration");
}

}  // namespace detail

result<std::chrono::year_month_day> value_traits<std::chrono::year_month_day>::convert(
    const result_source& src, std::size_t row, std::size_t col) {
    constexpr std::string_view name = "std::chrono::year_month_day";
    if (src.is_null(row, col)) return detail::null_value_error(src, col, name);
    detail::civil_time c;
    if (detail::parse_timestamp_text(src.text(row, col), c) != detail::decode_status::ok)
        return detail::datestyle_error(src, row, col, name);
    if (c.ns != 0) return detail::inexact_error(src, row, col, name);
    const auto d = detail::civil_from_days(c.days);
    if (c.infinity != 0 || d.year < -32767 || d.year > 32767)
        return detail::out_of_range_error(src, row, col, name);
    return std::chrono::year_month_day(std::chrono::year(static_cast<int>(d.year)),
                                       std::chrono::month(d.month), std::chrono::day(d.day));
}

}  // namespace uvdb
