#pragma once
/// \file
/// Query parameters: values bound to $1, $2, … and sent apart from the SQL
/// text, so data can never become SQL.

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace uvdb {

/// Binary data (PostgreSQL bytea), owned.
struct bytes {
    std::vector<std::byte> data;

    bytes() = default;
    explicit bytes(std::vector<std::byte> d) : data(std::move(d)) {}
    bytes(const void* p, std::size_t n)
        : data(static_cast<const std::byte*>(p), static_cast<const std::byte*>(p) + n) {}
    friend bool operator==(const bytes&, const bytes&) = default;
};

/// Customisation point: specialise to bind your own type, returning a param
/// (usually its text form):
///   template <> struct uvdb::param_traits<money> {
///       static uvdb::param to_param(const money& m) { return m.to_string(); }
///   };
template <class T>
struct param_traits;

namespace detail {
using std::to_string;
/// Types with a `to_string(const T&)` found by argument-dependent lookup.
template <class T>
concept has_text_form = !std::is_arithmetic_v<T> && requires(const T& t) {
    { to_string(t) } -> std::convertible_to<std::string>;
};
template <class T>
concept has_param_traits = requires(const T& t) {
    param_traits<T>::to_param(t);
};
}  // namespace detail

/// One bound parameter. Owns its data, so the caller's objects may die as soon
/// as the call that took the parameters returns.
class param {
  public:
    enum class kind : std::uint8_t {
        null,
        boolean,
        int16,
        int32,
        int64,
        float32,
        float64,
        text,
        binary
    };

    param() noexcept = default;  ///< SQL NULL
    param(std::nullptr_t) noexcept {}
    param(std::nullopt_t) noexcept {}
    param(bool v) noexcept : kind_(kind::boolean) { num_.i = v ? 1 : 0; }

    template <std::integral I>
    requires(!std::same_as<I, bool> && !std::same_as<I, char>)
        param(I v) {  // NOLINT: implicit by design
        if constexpr (std::is_signed_v<I> && sizeof(I) <= 2) {
            kind_ = kind::int16;
            num_.i = v;
        } else if constexpr (sizeof(I) <= 4 && (std::is_signed_v<I> || sizeof(I) < 4)) {
            kind_ = kind::int32;
            num_.i = v;
        } else if constexpr (std::is_signed_v<I> || sizeof(I) < 8) {
            kind_ = kind::int64;
            num_.i = static_cast<std::int64_t>(v);
        } else {
            // uint64 may not fit int64: send its decimal text, the server picks the type.
            kind_ = kind::text;
            text_ = std::to_string(v);
        }
    }
    param(float v) noexcept : kind_(kind::float32) { num_.d = v; }
    param(double v) noexcept : kind_(kind::float64) { num_.d = v; }

    param(std::string v) noexcept : kind_(kind::text), text_(std::move(v)) {}
    param(std::string_view v) : kind_(kind::text), text_(v) {}
    param(const char* v) : kind_(v ? kind::text : kind::null), text_(v ? v : "") {}
    param(bytes v) noexcept : kind_(kind::binary), bin_(std::move(v.data)) {}
    param(std::span<const std::byte> v) : kind_(kind::binary), bin_(v.begin(), v.end()) {}

    template <class T>
    param(const std::optional<T>& v) : param(v ? param(*v) : param()) {}  // NOLINT

    /// Any type with a param_traits specialisation.
    template <class T>
    requires requires(const T& t) {
        { param_traits<T>::to_param(t) } -> std::convertible_to<param>;
    }
    param(const T& v) : param(param_traits<T>::to_param(v)) {}  // NOLINT

    /// Any type with a `to_string` found by argument-dependent lookup: sent as text.
    template <detail::has_text_form T>
    requires(!detail::has_param_traits<T>) param(const T& v) : kind_(kind::text) {  // NOLINT
        using std::to_string;
        text_ = to_string(v);
    }

    kind type() const noexcept { return kind_; }
    bool is_null() const noexcept { return kind_ == kind::null; }
    bool as_bool() const noexcept { return num_.i != 0; }
    std::int64_t as_int() const noexcept { return num_.i; }
    double as_double() const noexcept { return num_.d; }
    const std::string& as_text() const noexcept { return text_; }
    const std::vector<std::byte>& as_bytes() const noexcept { return bin_; }

  private:
    kind kind_ = kind::null;
    union {
        std::int64_t i;
        double d;
    } num_{0};
    std::string text_;
    std::vector<std::byte> bin_;
};

/// The parameters of one statement, in order ($1 is params[0]).
using params = std::vector<param>;

/// Builds params from a list of values: `uvdb::make_params(42, "x", std::nullopt)`.
template <class... Ts>
params make_params(Ts&&... values) {
    params p;
    p.reserve(sizeof...(Ts));
    (p.emplace_back(std::forward<Ts>(values)), ...);
    return p;
}

}  // namespace uvdb
