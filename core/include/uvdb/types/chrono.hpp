#pragma once
/// \file
/// date, time, timestamp, timestamptz ↔ std::chrono.
///
/// - date        ↔ std::chrono::sys_days (any sys_time<D> whose D divides a
///                 day or is whole days), std::chrono::year_month_day;
/// - timestamp   ↔ sys_time<D>: a timestamp without time zone is read as a
///                 UTC wall clock (no zone is applied either way);
/// - timestamptz ↔ sys_time<D>: the offset the server prints (it follows the
///                 session's TimeZone, "+05:30", "-03", "+00:19:32") is applied;
///                 parameters are sent with "+00:00";
/// - time        ↔ std::chrono::duration since midnight (microseconds; "24:00:00"
///                 is 24h); a duration parameter is sent as "[-]HH:MM:SS.ffffff",
///                 which reads as a time or an interval.
/// ±infinity is time_point::max() / min() both ways. Years before 1 are
/// astronomical (1 BC is year 0, as in std::chrono); "BC" is read and written.
/// Reading relies on DateStyle ISO (PostgreSQL's default): text in another
/// DateStyle is an error that says so. A value with a finer fraction than D
/// (12:00:00.5 into sys_seconds) is an error, never truncated; a value
/// beyond D's range (or year_month_day's ±32767 years) is an error.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <ratio>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <uvdb/result_set.hpp>
#include <uvdb/types/interval.hpp>
#include <uvdb/types/text_form.hpp>

namespace uvdb {
namespace detail {

enum class decode_status : std::uint8_t { ok, invalid, out_of_range, inexact };

/// A point on the proleptic Gregorian calendar, UTC: days since 1970-01-01
/// and nanoseconds into that day; infinity is +1/-1 for ±infinity.
struct civil_time {
    std::int64_t days = 0;
    std::int64_t ns = 0;
    int infinity = 0;
};

inline constexpr std::int64_t ns_per_day = 86'400'000'000'000;

/// "YYYY-MM-DD[ HH:MM:SS[.fffffffff][±HH[:MM[:SS]]]][ BC]", "infinity",
/// "-infinity" (DateStyle ISO); the offset is applied, giving UTC.
decode_status parse_timestamp_text(std::string_view text, civil_time& out) noexcept;
/// "YYYY-MM-DD[ BC]" (year may be negative: astronomical), or ±infinity.
std::string format_date_text(std::int64_t days);
/// "YYYY-MM-DD HH:MM:SS[.f]+00:00[ BC]".
std::string format_timestamp_text(std::int64_t days, std::int64_t ns_of_day);
/// "[-]HH:MM:SS[.f]" (hours may pass 24).
std::string format_clock_text(bool negative, std::uint64_t seconds, std::uint32_t nanos);
/// Days since 1970-01-01 of a proleptic Gregorian date (astronomical year).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept;
struct civil_date {
    std::int64_t year;
    unsigned month;
    unsigned day;
};
civil_date civil_from_days(std::int64_t days) noexcept;

/// "… holds "…", which is not a valid <target>; uvdb reads dates and times
/// in DateStyle ISO …".
error datestyle_error(const result_source& src, std::size_t row, std::size_t col,
                      std::string_view target);
/// "… which does not fit <target> without dropping its fraction of a second".
error inexact_error(const result_source& src, std::size_t row, std::size_t col,
                    std::string_view target);

template <class D>
constexpr std::string_view duration_name() noexcept {
    using std::chrono::duration;
    if constexpr (std::is_same_v<D, std::chrono::nanoseconds>)
        return "nanoseconds";
    else if constexpr (std::is_same_v<D, std::chrono::microseconds>)
        return "microseconds";
    else if constexpr (std::is_same_v<D, std::chrono::milliseconds>)
        return "milliseconds";
    else if constexpr (std::is_same_v<D, std::chrono::seconds>)
        return "seconds";
    else if constexpr (std::is_same_v<D, std::chrono::minutes>)
        return "minutes";
    else if constexpr (std::is_same_v<D, std::chrono::hours>)
        return "hours";
    else if constexpr (std::is_same_v<D, std::chrono::days>)
        return "days";
    else
        return "duration";
}

template <class D>
std::string time_point_name() {
    if constexpr (std::is_same_v<D, std::chrono::days>) return "std::chrono::sys_days";
    if constexpr (std::is_same_v<D, std::chrono::seconds>) return "std::chrono::sys_seconds";
    return "std::chrono::sys_time<std::chrono::" + std::string(duration_name<D>()) + ">";
}

inline bool mul_overflows(std::int64_t a, std::int64_t b, std::int64_t& out) noexcept {
    return __builtin_mul_overflow(a, b, &out);
}
inline bool add_overflows(std::int64_t a, std::int64_t b, std::int64_t& out) noexcept {
    return __builtin_add_overflow(a, b, &out);
}
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    const std::int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/// The length of one tick of D in nanoseconds (den == 1), or the ticks per
/// nanosecond (num == 1) for durations finer than a nanosecond.
template <class D>
using ticks_vs_ns = std::ratio_divide<typename D::period, std::nano>;

/// A civil time as a duration D since the epoch, exactly or not at all.
template <class D>
decode_status to_duration(std::int64_t days, std::int64_t ns, D& out) noexcept {
    static_assert(std::is_integral_v<typename D::rep>, "uvdb: integral durations only");
    using r = ticks_vs_ns<D>;
    std::int64_t count = 0;
    if constexpr (r::den == 1 && ns_per_day % r::num == 0) {
        constexpr std::int64_t per_day = ns_per_day / r::num;
        if (ns % r::num != 0) return decode_status::inexact;
        if (mul_overflows(days, per_day, count) || add_overflows(count, ns / r::num, count))
            return decode_status::out_of_range;
    } else if constexpr (r::den == 1 && r::num % ns_per_day == 0) {
        constexpr std::int64_t days_per_tick = r::num / ns_per_day;
        if (ns != 0 || days % days_per_tick != 0) return decode_status::inexact;
        count = days / days_per_tick;
    } else {
        static_assert(r::num == 1, "uvdb: the duration's tick must divide a day or be whole days");
        std::int64_t total = 0;
        if (mul_overflows(days, ns_per_day, total) || add_overflows(total, ns, total) ||
            mul_overflows(total, static_cast<std::int64_t>(r::den), count))
            return decode_status::out_of_range;
    }
    using rep = typename D::rep;
    if constexpr (sizeof(rep) < sizeof(std::int64_t) || std::is_unsigned_v<rep>) {
        if (count < static_cast<std::int64_t>(std::numeric_limits<rep>::min()) ||
            (count > 0 && static_cast<std::uint64_t>(count) >
                              static_cast<std::uint64_t>(std::numeric_limits<rep>::max())))
            return decode_status::out_of_range;
    }
    out = D(static_cast<rep>(count));
    return decode_status::ok;
}

/// A duration D since the epoch as days and nanoseconds into the day
/// (finer than nanoseconds: floored). Throws std::out_of_range beyond any date.
template <class D>
void from_duration(D d, std::int64_t& days, std::int64_t& ns) {
    using r = ticks_vs_ns<D>;
    const auto count = static_cast<std::int64_t>(d.count());
    if constexpr (r::den == 1 && ns_per_day % r::num == 0) {
        constexpr std::int64_t per_day = ns_per_day / r::num;
        days = floor_div(count, per_day);
        ns = (count - days * per_day) * r::num;
    } else if constexpr (r::den == 1 && r::num % ns_per_day == 0) {
        if (mul_overflows(count, r::num / ns_per_day, days))
            throw std::out_of_range("uvdb: the time point is beyond any date");
        ns = 0;
    } else {
        static_assert(r::num == 1, "uvdb: the duration's tick must divide a day or be whole days");
        const std::int64_t total = floor_div(count, static_cast<std::int64_t>(r::den));
        days = floor_div(total, ns_per_day);
        ns = total - days * ns_per_day;
    }
}

/// PostgreSQL's text for a time point; max()/min() are ±infinity.
template <class D>
std::string pg_text(const std::chrono::time_point<std::chrono::system_clock, D>& tp) {
    using tp_t = std::chrono::time_point<std::chrono::system_clock, D>;
    if (tp == tp_t::max()) return "infinity";
    if (tp == tp_t::min()) return "-infinity";
    std::int64_t days = 0;
    std::int64_t ns = 0;
    from_duration(tp.time_since_epoch(), days, ns);
    using r = ticks_vs_ns<D>;
    if constexpr (r::den == 1 && r::num % ns_per_day == 0) return format_date_text(days);
    return format_timestamp_text(days, ns);
}

inline std::string pg_text(const std::chrono::year_month_day& ymd) {
    return format_date_text(days_from_civil(static_cast<int>(ymd.year()),
                                            static_cast<unsigned>(ymd.month()),
                                            static_cast<unsigned>(ymd.day())));
}

/// A duration as "[-]HH:MM:SS[.f]": a time of day, or an interval.
template <class Rep, class Period>
std::string pg_text(const std::chrono::duration<Rep, Period>& d) {
    using std::chrono::duration_cast;
    using ns_t = std::chrono::duration<std::int64_t, std::nano>;
    const bool negative = d < d.zero();
    // Whole seconds first so hours-long durations do not overflow nanoseconds.
    const auto secs = duration_cast<std::chrono::seconds>(d);
    const auto frac =
        duration_cast<ns_t>(d - duration_cast<std::chrono::duration<Rep, Period>>(secs));
    const std::int64_t s = secs.count();
    const std::uint64_t abs_s =
        s < 0 ? static_cast<std::uint64_t>(-(s + 1)) + 1 : static_cast<std::uint64_t>(s);
    const std::int64_t f = frac.count();
    return format_clock_text(negative, abs_s, static_cast<std::uint32_t>(f < 0 ? -f : f));
}

template <class D>
struct text_form<std::chrono::time_point<std::chrono::system_clock, D>> {
    static std::string of(const std::chrono::time_point<std::chrono::system_clock, D>& v) {
        return pg_text(v);
    }
};
template <>
struct text_form<std::chrono::year_month_day> {
    static std::string of(const std::chrono::year_month_day& v) { return pg_text(v); }
};
template <class Rep, class Period>
struct text_form<std::chrono::duration<Rep, Period>> {
    static std::string of(const std::chrono::duration<Rep, Period>& v) { return pg_text(v); }
};

}  // namespace detail

template <class D>
struct param_traits<std::chrono::time_point<std::chrono::system_clock, D>> {
    static param to_param(const std::chrono::time_point<std::chrono::system_clock, D>& tp) {
        return param(detail::pg_text(tp));
    }
};

template <>
struct param_traits<std::chrono::year_month_day> {
    static param to_param(const std::chrono::year_month_day& ymd) {
        return param(detail::pg_text(ymd));
    }
};

template <class Rep, class Period>
struct param_traits<std::chrono::duration<Rep, Period>> {
    static param to_param(const std::chrono::duration<Rep, Period>& d) {
        return param(detail::pg_text(d));
    }
};

template <class D>
struct value_traits<std::chrono::time_point<std::chrono::system_clock, D>> {
    using time_point = std::chrono::time_point<std::chrono::system_clock, D>;
    static result<time_point> convert(const result_source& src, std::size_t row, std::size_t col) {
        const std::string name = detail::time_point_name<D>();
        if (src.is_null(row, col)) return detail::null_value_error(src, col, name);
        detail::civil_time c;
        auto st = detail::parse_timestamp_text(src.text(row, col), c);
        if (st == detail::decode_status::ok) {
            if (c.infinity > 0) return time_point::max();
            if (c.infinity < 0) return time_point::min();
            D d{};
            st = detail::to_duration(c.days, c.ns, d);
            if (st == detail::decode_status::ok) return time_point(d);
        }
        if (st == detail::decode_status::inexact) return detail::inexact_error(src, row, col, name);
        if (st == detail::decode_status::out_of_range)
            return detail::out_of_range_error(src, row, col, name);
        return detail::datestyle_error(src, row, col, name);
    }
};

/// A date (or a timestamp at midnight UTC). ±infinity and years beyond
/// ±32767 do not fit.
template <>
struct value_traits<std::chrono::year_month_day> {
    static result<std::chrono::year_month_day> convert(const result_source& src, std::size_t row,
                                                       std::size_t col);
};

/// time (and an interval without months or days) as a duration.
template <class Rep, class Period>
struct value_traits<std::chrono::duration<Rep, Period>> {
    using duration = std::chrono::duration<Rep, Period>;
    static result<duration> convert(const result_source& src, std::size_t row, std::size_t col) {
        const std::string name = "std::chrono::" + std::string(detail::duration_name<duration>());
        if (src.is_null(row, col)) return detail::null_value_error(src, col, name);
        auto iv = interval::parse(src.text(row, col));
        if (!iv) return detail::invalid_value_error(src, row, col, name);
        if (iv->months != 0 || iv->days != 0 || *iv == interval::infinity() ||
            *iv == interval::negative_infinity()) {
            // A month or a day has no fixed length in microseconds.
            return detail::out_of_range_error(src, row, col, name + " (read it as uvdb::interval)");
        }
        const auto us = iv->microseconds;
        duration d{};
        auto st = detail::to_duration(
            detail::floor_div(us, 86'400'000'000),
            (us - detail::floor_div(us, 86'400'000'000) * 86'400'000'000) * 1000, d);
        if (st == detail::decode_status::inexact) return detail::inexact_error(src, row, col, name);
        if (st != detail::decode_status::ok) return detail::out_of_range_error(src, row, col, name);
        return d;
    }
};

}  // namespace uvdb
