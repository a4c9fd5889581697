#pragma once
/// \file
/// The built-in value_traits (text form → C++ value) and row's typed access.
/// Included at the end of <uvdb/result_set.hpp>; include that instead.

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <uvdb/result_set.hpp>

namespace uvdb {
namespace detail {

// Messages, built out of line (core/src/result_set.cpp).

/// "column \"x\" (int4) is NULL; read it as std::optional<int>"
error null_value_error(const result_source& src, std::size_t col, std::string_view cpp_name);
/// "column \"x\" (text) holds \"abc\", which is not a valid int32"
error invalid_value_error(const result_source& src, std::size_t row, std::size_t col,
                          std::string_view target);
/// "column \"n\" (int8) holds 99999999999, which does not fit int16"
error out_of_range_error(const result_source& src, std::size_t row, std::size_t col,
                         std::string_view target);
/// Checks that `rs`, `row` and `col` address a cell; the error names the counts.
result<void> check_cell(const result_set* rs, std::size_t row, std::size_t col);

template <class T>
inline constexpr bool is_character_v =
    std::is_same_v<T, char> || std::is_same_v<T, wchar_t> || std::is_same_v<T, char8_t> ||
    std::is_same_v<T, char16_t> || std::is_same_v<T, char32_t>;

/// Integers read from a cell: every integral type but bool and the character types.
template <class T>
inline constexpr bool is_cell_integer_v =
    std::is_integral_v<T> && !std::is_same_v<T, bool> && !is_character_v<T>;

/// Portable name of a target type, as in "does not fit int16".
template <class T>
constexpr std::string_view value_type_name() noexcept {
    if constexpr (std::is_same_v<T, bool>) {
        return "bool";
    } else if constexpr (is_cell_integer_v<T>) {
        constexpr std::string_view s[] = {"int8", "int16", "int32", "int64"};
        constexpr std::string_view u[] = {"uint8", "uint16", "uint32", "uint64"};
        constexpr std::size_t i = sizeof(T) == 1 ? 0 : sizeof(T) == 2 ? 1 : sizeof(T) == 4 ? 2 : 3;
        return std::is_signed_v<T> ? s[i] : u[i];
    } else if constexpr (std::is_same_v<T, float>) {
        return "float32";
    } else if constexpr (std::is_same_v<T, double>) {
        return "float64";
    } else {
        return "the requested type";
    }
}

/// C++ spelling of a target type, as in "read it as std::optional<int>".
template <class T>
constexpr std::string_view cpp_type_name() noexcept {
    if constexpr (std::is_same_v<T, bool>)
        return "bool";
    else if constexpr (std::is_same_v<T, int>)
        return "int";
    else if constexpr (std::is_same_v<T, float>)
        return "float";
    else if constexpr (std::is_same_v<T, double>)
        return "double";
    else if constexpr (std::is_same_v<T, std::string>)
        return "std::string";
    else if constexpr (std::is_same_v<T, std::string_view>)
        return "std::string_view";
    else if constexpr (std::is_same_v<T, bytes>)
        return "uvdb::bytes";
    else if constexpr (is_cell_integer_v<T>) {
        constexpr std::string_view s[] = {"std::int8_t", "std::int16_t", "std::int32_t",
                                          "std::int64_t"};
        constexpr std::string_view u[] = {"std::uint8_t", "std::uint16_t", "std::uint32_t",
                                          "std::uint64_t"};
        constexpr std::size_t i = sizeof(T) == 1 ? 0 : sizeof(T) == 2 ? 1 : sizeof(T) == 4 ? 2 : 3;
        return std::is_signed_v<T> ? s[i] : u[i];
    } else
        return "T";
}

template <class T>
result<T> parse_integer(const result_source& src, std::size_t row, std::size_t col) {
    std::string_view text = src.text(row, col);
    const char* first = text.data();
    const char* last = text.data() + text.size();
    constexpr auto target = value_type_name<T>();
    if constexpr (std::is_signed_v<T>) {
        long long v = 0;
        auto [ptr, ec] = std::from_chars(first, last, v);
        if (ec == std::errc::invalid_argument || ptr != last)
            return invalid_value_error(src, row, col, target);
        if (ec == std::errc::result_out_of_range ||
            v < static_cast<long long>(std::numeric_limits<T>::min()) ||
            v > static_cast<long long>(std::numeric_limits<T>::max())) {
            return out_of_range_error(src, row, col, target);
        }
        return static_cast<T>(v);
    } else {
        if (!text.empty() && text.front() == '-') {
            // A negative number is out of range for T, anything else invalid.
            long long v = 0;
            auto [ptr, ec] = std::from_chars(first, last, v);
            if ((ec == std::errc() || ec == std::errc::result_out_of_range) && ptr == last) {
                if (ec == std::errc() && v == 0) return T{0};
                return out_of_range_error(src, row, col, target);
            }
            return invalid_value_error(src, row, col, target);
        }
        unsigned long long v = 0;
        auto [ptr, ec] = std::from_chars(first, last, v);
        if (ec == std::errc::invalid_argument || ptr != last)
            return invalid_value_error(src, row, col, target);
        if (ec == std::errc::result_out_of_range ||
            v > static_cast<unsigned long long>(std::numeric_limits<T>::max())) {
            return out_of_range_error(src, row, col, target);
        }
        return static_cast<T>(v);
    }
}

template <class F>
result<F> parse_float(const result_source& src, std::size_t row, std::size_t col) {
    std::string_view text = src.text(row, col);
    constexpr auto target = value_type_name<F>();
    // PostgreSQL's spellings first; from_chars would also take "inf" and "nan".
    if (text == "NaN") return std::numeric_limits<F>::quiet_NaN();
    if (text == "Infinity") return std::numeric_limits<F>::infinity();
    if (text == "-Infinity") return -std::numeric_limits<F>::infinity();
    F v{};
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec == std::errc::invalid_argument || ptr != text.data() + text.size()) {
        return invalid_value_error(src, row, col, target);
    }
    if (ec == std::errc::result_out_of_range) return out_of_range_error(src, row, col, target);
    return v;
}

}  // namespace detail

template <>
struct value_traits<bool> {
    static result<bool> convert(const result_source& src, std::size_t row, std::size_t col) {
        if (src.is_null(row, col)) return detail::null_value_error(src, col, "bool");
        std::string_view t = src.text(row, col);
        if (t == "t" || t == "true" || t == "1" || t == "TRUE" || t == "True") return true;
        if (t == "f" || t == "false" || t == "0" || t == "FALSE" || t == "False") return false;
        return detail::invalid_value_error(src, row, col, "bool");
    }
};

template <class T>
struct value_traits<T, std::enable_if_t<detail::is_cell_integer_v<T>>> {
    static result<T> convert(const result_source& src, std::size_t row, std::size_t col) {
        if (src.is_null(row, col))
            return detail::null_value_error(src, col, detail::cpp_type_name<T>());
        return detail::parse_integer<T>(src, row, col);
    }
};

template <class T>
struct value_traits<T, std::enable_if_t<std::is_same_v<T, float> || std::is_same_v<T, double>>> {
    static result<T> convert(const result_source& src, std::size_t row, std::size_t col) {
        if (src.is_null(row, col))
            return detail::null_value_error(src, col, detail::cpp_type_name<T>());
        return detail::parse_float<T>(src, row, col);
    }
};

template <>
struct value_traits<std::string> {
    static result<std::string> convert(const result_source& src, std::size_t row, std::size_t col) {
        if (src.is_null(row, col)) return detail::null_value_error(src, col, "std::string");
        return std::string(src.text(row, col));
    }
};

/// The view points into the result: valid while the result_set lives.
template <>
struct value_traits<std::string_view> {
    static result<std::string_view> convert(const result_source& src, std::size_t row,
                                            std::size_t col) {
        if (src.is_null(row, col)) return detail::null_value_error(src, col, "std::string_view");
        return src.text(row, col);
    }
};

template <>
struct value_traits<bytes> {
    static result<bytes> convert(const result_source& src, std::size_t row, std::size_t col) {
        if (src.is_null(row, col)) return detail::null_value_error(src, col, "uvdb::bytes");
        return src.binary(row, col);
    }
};

/// NULL becomes std::nullopt; anything else converts as T.
template <class T>
struct value_traits<std::optional<T>> {
    static result<std::optional<T>> convert(const result_source& src, std::size_t row,
                                            std::size_t col) {
        if (src.is_null(row, col)) return std::optional<T>{};
        auto r = value_traits<T>::convert(src, row, col);
        if (!r) return std::move(r).err();
        return std::optional<T>(std::move(r).value());
    }
};

template <class T>
result<T> row::try_get(std::size_t col) const {
    if (auto ok = detail::check_cell(rs_, index_, col); !ok) return std::move(ok).err();
    return value_traits<std::remove_cv_t<T>>::convert(*rs_->source(), index_, col);
}

template <class T>
result<T> row::try_get(std::string_view column) const {
    if (rs_ == nullptr) return error(errc::bad_input, "row: not attached to a result");
    auto idx = rs_->column_index(column);
    if (!idx) return std::move(idx).err();
    return try_get<T>(*idx);
}

template <class T>
T row::get(std::size_t col) const {
    auto r = try_get<T>(col);
    if (!r) throw conversion_exception(std::move(r).err());
    return std::move(r).value();
}

template <class T>
T row::get(std::string_view column) const {
    auto r = try_get<T>(column);
    if (!r) throw conversion_exception(std::move(r).err());
    return std::move(r).value();
}

}  // namespace uvdb

// numeric, uuid, json, interval, std::chrono, std::vector (arrays).
#include <uvdb/types.hpp>
