#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <uvdb/types/numeric.hpp>

#include "../ascii.hpp"

namespace uvdb {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
        if (x != b[i]) return false;
    }
    return true;
}

using ::uvdb::detail::ascii::is_digit;

// An exponent beyond this would make a string of that many zeros; PostgreSQL
// itself refuses exponents past ±1000.
constexpr long max_exponent = 100000;

}  // namespace

std::optional<numeric> numeric::parse(std::string_view t) {
    if (iequals(t, "nan")) return nan();
    if (iequals(t, "infinity") || iequals(t, "+infinity") || iequals(t, "inf") ||
        iequals(t, "+inf"))
        return infinity();
    if (iequals(t, "-infinity") || iequals(t, "-inf")) return negative_infinity();
    std::size_t i = 0;
    bool negative = false;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) negative = t[i++] == '-';
    std::string digits;  // all significant digits, integer part then fraction
    std::size_t int_digits = 0;
    bool any = false;
    while (i < t.size() && is_digit(t[i])) {
        digits += t[i++];
        ++int_digits;
        any = true;
    }
    if (i < t.size() && t[i] == '.') {
        ++i;
        while (i < t.size() && is_digit(t[i])) {
            digits += t[i++];
            any = true;
        }
    }
    if (!any) return std::nullopt;
    long exponent = 0;
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
        ++i;
        bool exp_negative = false;
        if (i < t.size() && (t[i] == '+' || t[i] == '-')) exp_negative = t[i++] == '-';
        if (i == t.size() || !is_digit(t[i])) return std::nullopt;
        while (i < t.size() && is_digit(t[i])) {
            exponent = exponent * 10 + (t[i++] - '0');
            if (exponent > max_exponent) return std::nullopt;
        }
        if (exp_negative) exponent = -exponent;
    }
    if (i != t.size()) return std::nullopt;
    // Scale: the digits after the point, as written, shifted by the exponent.
    long scale = static_cast<long>(digits.size() - int_digits) - exponent;
    if (scale < 0) {
        digits.append(static_cast<std::size_t>(-scale), '0');
        scale = 0;
    }
    const auto frac = static_cast<std::size_t>(scale);
    if (digits.size() < frac + 1) digits.insert(0, frac + 1 - digits.size(), '0');
    std::size_t lead = 0;
    while (lead + 1 < digits.size() - frac && digits[lead] == '0') ++lead;
    std::string out;
    if (negative && digits.find_first_not_of('0') != std::string::npos) out += '-';
    out.append(digits, lead, digits.size() - frac - lead);
    if (frac > 0) {
        out += '.';
        out.append(digits, digits.size() - frac, frac);
    }
    return numeric(tag{}, std::move(out));
}

numeric numeric::from_double(double d) {
    if (std::isnan(d)) return nan();
    if (std::isinf(d)) return d > 0 ? infinity() : negative_infinity();
    char buf[400];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
    (void)ec;  // 400 characters hold any double in fixed notation
    return *parse(std::string_view(buf, static_cast<std::size_t>(end - buf)));
}

double numeric::to_double() const noexcept {
    if (is_nan()) return std::numeric_limits<double>::quiet_NaN();
    if (text_ == "Infinity") return std::numeric_limits<double>::infinity();
    if (text_ == "-Infinity") return -std::numeric_limits<double>::infinity();
    double v = 0;
    auto [p, ec] = std::from_chars(text_.data(), text_.data() + text_.size(), v);
    (void)p;
    if (ec == std::errc::result_out_of_range) {
        // Too large: ±inf; too small: a signed zero.
        const bool neg = !text_.empty() && text_[0] == '-';
        const auto point = text_.find('.');
        const std::size_t int_len = point == std::string::npos ? text_.size() : point;
        const bool big = int_len > (neg ? 2u : 1u) || text_[neg ? 1 : 0] != '0';
        const double mag = big ? std::numeric_limits<double>::infinity() : 0.0;
        return neg ? -mag : mag;
    }
    return v;
}

result<numeric> value_traits<numeric>::convert(const result_source& src, std::size_t row,
                                               std::size_t col) {
    if (src.is_null(row, col)) return detail::null_value_error(src, col, "uvdb::numeric");
    auto n = numeric::parse(src.text(row, col));
    if (!n) return detail::invalid_value_error(src, row, col, "numeric");
    return std::move(*n);
}

}  // namespace uvdb
