#pragma once
/// \file
/// uvdb::interval: PostgreSQL's interval as its three fields.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <uvdb/result_set.hpp>

namespace uvdb {

/// PostgreSQL's interval: months, days and microseconds are kept apart, as
/// the server does, because a month or a day has no fixed length in
/// microseconds ('1 mon' is not '30 days'). The fields may have different
/// signs ("1 mon -2 days"). ±infinity (PostgreSQL 17) is every field at its
/// maximum / minimum, the server's own representation.
struct interval {
    std::int32_t months = 0;
    std::int32_t days = 0;
    std::int64_t microseconds = 0;

    static constexpr interval infinity() noexcept {
        return {std::numeric_limits<std::int32_t>::max(), std::numeric_limits<std::int32_t>::max(),
                std::numeric_limits<std::int64_t>::max()};
    }
    static constexpr interval negative_infinity() noexcept {
        return {std::numeric_limits<std::int32_t>::min(), std::numeric_limits<std::int32_t>::min(),
                std::numeric_limits<std::int64_t>::min()};
    }

    /// Reads the output of IntervalStyle postgres (the default):
    /// "1 year 2 mons -3 days +04:05:06.789", "00:00:00", "infinity".
    /// nullopt for other styles or a value that does not fit the fields.
    static std::optional<interval> parse(std::string_view text) noexcept;
    /// "<m> mons <d> days [-]HH:MM:SS.ffffff", which PostgreSQL reads back
    /// exactly; "infinity" / "-infinity".
    std::string str() const;

    friend bool operator==(const interval&, const interval&) = default;
    friend std::string to_string(const interval& i) { return i.str(); }
};

template <>
struct param_traits<interval> {
    static param to_param(const interval& i) { return param(i.str()); }
};

template <>
struct value_traits<interval> {
    static result<interval> convert(const result_source& src, std::size_t row, std::size_t col);
};

}  // namespace uvdb
