#include <uvdb/types/chrono.hpp>
#include <uvdb/types/interval.hpp>

namespace uvdb {
namespace {

bool read_int(std::string_view t, std::int64_t& v) noexcept {
    std::size_t i = 0;
    bool negative = false;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) negative = t[i++] == '-';
    if (i == t.size()) return false;
    v = 0;
    for (; i < t.size(); ++i) {
        if (t[i] < '0' || t[i] > '9') return false;
        if (detail::mul_overflows(v, 10, v) || detail::add_overflows(v, t[i] - '0', v))
            return false;
    }
    if (negative) v = -v;
    return true;
}

/// "[+-]H+:MM[:SS[.ffffff]]" as microseconds.
bool read_clock(std::string_view t, std::int64_t& us) noexcept {
    bool negative = false;
    if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
        negative = t[0] == '-';
        t.remove_prefix(1);
    }
    const auto c1 = t.find(':');
    if (c1 == 0 || c1 == std::string_view::npos) return false;
    std::int64_t h = 0, m = 0, s = 0, frac = 0;
    if (!read_int(t.substr(0, c1), h) || h < 0) return false;
    std::string_view rest = t.substr(c1 + 1);
    std::string_view mm = rest.substr(0, rest.find(':'));
    if (mm.size() != 2 || !read_int(mm, m) || m > 59 || mm[0] == '+' || mm[0] == '-') return false;
    if (mm.size() < rest.size()) {
        std::string_view ss = rest.substr(3);
        std::string_view f;
        if (auto dot = ss.find('.'); dot != std::string_view::npos) {
            f = ss.substr(dot + 1);
            ss = ss.substr(0, dot);
            if (f.empty() || f.size() > 6) return false;
        }
        if (ss.size() != 2 || ss[0] < '0' || ss[0] > '9' || !read_int(ss, s) || s > 59)
            return false;
        if (!f.empty()) {
            if (f[0] < '0' || f[0] > '9' || !read_int(f, frac)) return false;
            for (std::size_t n = f.size(); n < 6; ++n) frac *= 10;
        }
    }
    std::int64_t v = 0;
    if (detail::mul_overflows(h, 3600, v) || detail::add_overflows(v, m * 60 + s, v) ||
        detail::mul_overflows(v, 1'000'000, v) || detail::add_overflows(v, frac, v)) {
        // The most negative interval's hours overflow only in magnitude.
        if (!negative) return false;
        std::int64_t nv = 0;
        if (detail::mul_overflows(-h, 3600, nv) || detail::add_overflows(nv, -(m * 60 + s), nv) ||
            detail::mul_overflows(nv, 1'000'000, nv) || detail::add_overflows(nv, -frac, nv))
            return false;
        us = nv;
        return true;
    }
    us = negative ? -v : v;
    return true;
}

}  // namespace

std::optional<interval> interval::parse(std::string_view t) noexcept {
    if (t == "infinity") return infinity();
    if (t == "-infinity") return negative_infinity();
    std::int64_t months = 0, days = 0, us = 0;
    bool any = false, seen_clock = false;
    while (!t.empty()) {
        const auto sp = t.find(' ');
        const std::string_view token = t.substr(0, sp);
        t = sp == std::string_view::npos ? std::string_view{} : t.substr(sp + 1);
        if (token.find(':') != std::string_view::npos) {
            if (seen_clock || !read_clock(token, us)) return std::nullopt;
            seen_clock = true;
            any = true;
            continue;
        }
        std::int64_t n = 0;
        if (seen_clock || !read_int(token, n) || t.empty()) return std::nullopt;
        const auto sp2 = t.find(' ');
        const std::string_view unit = t.substr(0, sp2);
        t = sp2 == std::string_view::npos ? std::string_view{} : t.substr(sp2 + 1);
        std::int64_t* field = nullptr;
        std::int64_t scale = 1;
        if (unit == "year" || unit == "years") {
            field = &months;
            scale = 12;
        } else if (unit == "mon" || unit == "mons") {
            field = &months;
        } else if (unit == "day" || unit == "days") {
            field = &days;
        } else {
            return std::nullopt;
        }
        if (detail::mul_overflows(n, scale, n) || detail::add_overflows(*field, n, *field))
            return std::nullopt;
        any = true;
    }
    constexpr auto lo = std::numeric_limits<std::int32_t>::min();
    constexpr auto hi = std::numeric_limits<std::int32_t>::max();
    if (!any || months < lo || months > hi || days < lo || days > hi) return std::nullopt;
    return interval{static_cast<std::int32_t>(months), static_cast<std::int32_t>(days), us};
}

std::string interval::str() const {
    if (*this == infinity()) return "infinity";
    if (*this == negative_infinity()) return "-infinity";
    const bool negative = microseconds < 0;
    const std::uint64_t mag = negative ? static_cast<std::uint64_t>(-(microseconds + 1)) + 1
                                       : static_cast<std::uint64_t>(microseconds);
    return std::to_string(months) + " mons " + std::to_string(days) + " days " +
           detail::format_clock_text(negative, mag / 1'000'000,
                                     static_cast<std::uint32_t>(mag % 1'000'000 * 1000));
}

result<interval> value_traits<interval>::convert(const result_source& src, std::size_t row,
                                                 std::size_t col) {
    if (src.is_null(row, col)) return detail::null_value_error(src, col, "uvdb::interval");
    auto iv = interval::parse(src.text(row, col));
    if (iv) return *iv;
    error e = detail::invalid_value_error(src, row, col, "uvdb::interval");
    return error(e.value(), e.message() +
                                "; uvdb reads intervals as PostgreSQL prints them in "
                                "IntervalStyle postgres (its default): SET IntervalStyle TO "
                                "postgres");
}

}  // namespace uvdb
