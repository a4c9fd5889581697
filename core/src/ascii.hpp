#pragma once
// Locale-free character classes for the parsers in core/src: <cctype>'s
// depend on the C locale and take an int that must not be a negative char.
// Defined once here, not per file, so that the files using them can be
// compiled together (UVDB_UNITY_LIBRARIES).

namespace uvdb::detail::ascii {

constexpr bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

}  // namespace uvdb::detail::ascii
