#pragma once
/// \file
/// uvdb::uuid: 16 bytes, read from and written as PostgreSQL's uuid text.

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <uvdb/result_set.hpp>

namespace uvdb {

/// A UUID as its 16 bytes in network order (the order they are written in).
struct uuid {
    std::array<std::uint8_t, 16> bytes{};

    /// Reads what PostgreSQL accepts: 32 hex digits in either case, a hyphen
    /// allowed after any group of four, optionally inside braces
    /// ("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"); nullopt otherwise.
    static std::optional<uuid> parse(std::string_view text) noexcept;
    /// The canonical lower-case 8-4-4-4-12 form.
    std::string str() const;

    friend bool operator==(const uuid&, const uuid&) = default;
    friend auto operator<=>(const uuid&, const uuid&) = default;
    friend std::string to_string(const uuid& u) { return u.str(); }
};

template <>
struct param_traits<uuid> {
    static param to_param(const uuid& u) { return param(u.str()); }
};

template <>
struct value_traits<uuid> {
    static result<uuid> convert(const result_source& src, std::size_t row, std::size_t col);
};

}  // namespace uvdb
