#include <uvdb/types/uuid.hpp>

namespace uvdb {
namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::optional<uuid> uuid::parse(std::string_view t) noexcept {
    if (!t.empty() && t.front() == '{') {
        if (t.size() < 2 || t.back() != '}') return std::nullopt;
        t = t.substr(1, t.size() - 2);
    }
    uuid u;
    std::size_t nibbles = 0;
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (t[i] == '-') {
            // PostgreSQL allows a hyphen after any group of four digits.
            if (nibbles == 0 || nibbles % 4 != 0 || nibbles == 32 || t[i - 1] == '-')
                return std::nullopt;
            continue;
        }
        const int v = hex_value(t[i]);
        if (v < 0 || nibbles == 32) return std::nullopt;
        auto& b = u.bytes[nibbles / 2];
        b = static_cast<std::uint8_t>(nibbles % 2 == 0 ? v << 4 : b | v);
        ++nibbles;
    }
    if (nibbles != 32 || t.back() == '-') return std::nullopt;
    return u;
}

std::string uuid::str() const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
        out += digits[bytes[i] >> 4];
        out += digits[bytes[i] & 0xF];
    }
    return out;
}

result<uuid> value_traits<uuid>::convert(const result_source& src, std::size_t row,
                                         std::size_t col) {
    if (src.is_null(row, col)) return detail::null_value_error(src, col, "uvdb::uuid");
    auto u = uuid::parse(src.text(row, col));
    if (!u) return detail::invalid_value_error(src, row, col, "uuid");
    return *u;
}

}  // namespace uvdb
