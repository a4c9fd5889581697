#pragma once
/// \file
/// uvdb::numeric: PostgreSQL's numeric held exactly, as its decimal text.

#include <compare>
#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <uvdb/result_set.hpp>

namespace uvdb {

/// An exact decimal (PostgreSQL numeric/decimal), kept as canonical decimal
/// text: an optional '-', digits, optionally '.' and digits; or "NaN",
/// "Infinity", "-Infinity". No rounding happens anywhere: the scale the
/// server printed is kept ("1.50" stays "1.50"), so == compares the text and
/// 1.5 != 1.50. Conversion to double happens only through to_double().
class numeric {
  public:
    numeric() : text_("0") {}
    template <std::integral I>
    requires(!std::same_as<I, bool>) numeric(I v) : text_(std::to_string(v)) {}  // NOLINT

    /// Reads PostgreSQL's input forms: [+-]digits[.digits][e[+-]digits],
    /// ".5", "5.", and NaN/Infinity/inf in any case. Canonicalises (no '+',
    /// no leading zeros, the exponent applied, "-0" is "0"); nullopt when
    /// the text is not a number.
    static std::optional<numeric> parse(std::string_view text);
    /// The shortest decimal that reads back as `d` (NaN and ±inf included).
    static numeric from_double(double d);
    static numeric nan() { return numeric(tag{}, "NaN"); }
    static numeric infinity() { return numeric(tag{}, "Infinity"); }
    static numeric negative_infinity() { return numeric(tag{}, "-Infinity"); }

    const std::string& str() const noexcept { return text_; }
    bool is_nan() const noexcept { return text_ == "NaN"; }
    bool is_infinite() const noexcept { return text_ == "Infinity" || text_ == "-Infinity"; }
    /// The nearest double (asked for explicitly: it may round); ±inf when
    /// the value is beyond double's range.
    double to_double() const noexcept;

    friend bool operator==(const numeric&, const numeric&) = default;
    friend std::string to_string(const numeric& n) { return n.text_; }

  private:
    struct tag {};
    numeric(tag, std::string canonical) : text_(std::move(canonical)) {}
    std::string text_;
};

template <>
struct param_traits<numeric> {
    static param to_param(const numeric& n) { return param(n.str()); }
};

template <>
struct value_traits<numeric> {
    static result<numeric> convert(const result_source& src, std::size_t row, std::size_t col);
};

}  // namespace uvdb
