// Fuzzes result-value conversion: one cell's text form read as every
// built-in type (core/include/uvdb/detail/value_traits.hpp,
// core/src/result_set.cpp). PostgreSQL's own bytea decoder is fuzzed beside
// it, in drivers/postgres/fuzz/bytea_fuzz.cpp.
//
// Besides "no crash", it checks what a user relies on:
//   - the integer types agree with each other: a narrower type reads a
//     value iff the widest one does and it is in range; an error says
//     "does not fit" exactly when the number is out of range;
//   - an accepted integer or float prints back to the same value;
//   - bool accepts only PostgreSQL's and C++'s spellings;
//   - hex bytea decodes to bytes that print back to the same hex;
//   - error messages name the column and, for valid UTF-8 input, are valid
//     UTF-8 (they end up in logs and JSON).

#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <uvdb/result_set.hpp>

namespace {

[[noreturn]] void fail() { std::abort(); }

/// Whether `s` is well-formed UTF-8 (no overlongs or surrogates checked:
/// only the sequence structure, which is what cutting can break).
bool valid_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t len = c < 0x80           ? 1
                          : (c >> 5) == 0x6  ? 2
                          : (c >> 4) == 0xE  ? 3
                          : (c >> 3) == 0x1E ? 4
                                             : 0;
        if (len == 0 || i + len > s.size()) return false;
        for (std::size_t k = 1; k < len; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        }
        i += len;
    }
    return true;
}

struct cell_result {
    uvdb::result_set rs;
    explicit cell_result(std::string_view text, const char* type) {
        auto src = std::make_unique<uvdb::owned_result>(
            std::vector<uvdb::owned_result::column>{{"c", uvdb::column_kind::text, 0, type}});
        src->add_row({std::string(text)});
        rs = uvdb::result_set(std::move(src));
    }
    template <class T>
    uvdb::result<T> get() const {
        return rs[0].try_get<T>(0);
    }
};

void check_error(const uvdb::error& e, bool utf8_input) {
    const std::string& m = e.message();
    if (e.value() != uvdb::errc::conversion_error) fail();
    if (m.find("column \"c\"") == std::string::npos) fail();
    if (utf8_input && !valid_utf8(m)) fail();
}

template <class T>
void check_integer(const cell_result& c, std::string_view text, bool utf8) {
    auto wide = c.get<std::int64_t>();
    auto uwide = c.get<std::uint64_t>();
    auto r = c.get<T>();
    if (r) {
        // Prints back to the same number (leading zeros and '+' aside).
        const auto v = *r;
        if constexpr (std::is_signed_v<T>) {
            if (!wide || *wide != static_cast<std::int64_t>(v)) fail();
        } else {
            if (!uwide || *uwide != static_cast<std::uint64_t>(v)) fail();
        }
        if (text.find_first_not_of("-0123456789") != std::string_view::npos) fail();
        return;
    }
    check_error(r.err(), utf8);
    const bool says_range = r.err().message().find("does not fit") != std::string::npos;
    if constexpr (std::is_signed_v<T>) {
        // An in-range int64 that T refuses must be out of T's range, and say so.
        if (wide && says_range != (*wide < std::numeric_limits<T>::min() ||
                                   *wide > std::numeric_limits<T>::max())) {
            fail();
        }
        if (wide && !says_range) fail();
    } else {
        if (uwide && (!says_range || *uwide <= std::numeric_limits<T>::max())) fail();
    }
}

template <class F>
void check_float(const cell_result& c, std::string_view text, bool utf8) {
    auto r = c.get<F>();
    if (!r) {
        check_error(r.err(), utf8);
        return;
    }
    const F v = *r;
    if (std::isnan(v) || std::isinf(v)) return;  // "NaN", "Infinity", and from_chars' "nan", "inf"
    // A finite value prints back to itself (shortest round-trip form).
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    if (ec != std::errc()) fail();
    F back{};
    auto [p, ec2] = std::from_chars(buf, end, back);
    if (ec2 != std::errc() || p != end || back != v) fail();
    (void)text;
}

std::string hex_of(const uvdb::bytes& b) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out = "\\x";
    for (std::byte x : b.data) {
        const auto v = static_cast<unsigned>(x);
        out += digits[v >> 4];
        out += digits[v & 0xF];
    }
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& ch : out) {
        if (ch >= 'A' && ch <= 'F') ch = static_cast<char>(ch - 'A' + 'a');
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const bool utf8 = valid_utf8(text);
    const cell_result c(text, "text");

    check_integer<std::int8_t>(c, text, utf8);
    check_integer<std::int16_t>(c, text, utf8);
    check_integer<std::int32_t>(c, text, utf8);
    check_integer<std::int64_t>(c, text, utf8);
    check_integer<std::uint8_t>(c, text, utf8);
    check_integer<std::uint16_t>(c, text, utf8);
    check_integer<std::uint32_t>(c, text, utf8);
    check_integer<std::uint64_t>(c, text, utf8);
    check_float<float>(c, text, utf8);
    check_float<double>(c, text, utf8);

    if (auto b = c.get<bool>(); b) {
        static constexpr std::string_view yes[] = {"t", "true", "1", "TRUE", "True"};
        static constexpr std::string_view no[] = {"f", "false", "0", "FALSE", "False"};
        bool found = false;
        for (auto s : *b ? yes : no) found = found || s == text;
        if (!found) fail();
    } else {
        check_error(b.err(), utf8);
    }

    if (auto s = c.get<std::string>(); !s || *s != text) fail();
    if (auto o = c.get<std::optional<std::int32_t>>(); o.ok() != c.get<std::int32_t>().ok()) fail();

    // bytea, hex form: what core's decoder reads prints back to the input.
    if (auto core_bytes = c.get<uvdb::bytes>(); core_bytes) {
        if (hex_of(*core_bytes) != lower(text)) fail();
    } else {
        check_error(core_bytes.err(), utf8);
    }
    return 0;
}
