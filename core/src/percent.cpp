// Percent-decoding for <uvdb/percent.hpp>: one loop for the strict and the
// lenient form, so they agree on what a well-formed escape is.

#include <uvdb/percent.hpp>

namespace uvdb {
namespace {

percent_decoded decode(std::string_view s, bool lenient) {
    percent_decoded out;
    out.text.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out.text += s[i];
            continue;
        }
        const int hi = i + 2 < s.size() ? hex_digit_value(s[i + 1]) : -1;
        const int lo = i + 2 < s.size() ? hex_digit_value(s[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            if (lenient) {
                out.text += s[i];
                continue;
            }
            return {{}, percent_fault::bad_escape, i};
        }
        const char c = static_cast<char>(hi * 16 + lo);
        if (c == '\0' && !lenient) return {{}, percent_fault::nul_byte, i};
        out.text += c;
        i += 2;
    }
    return out;
}

}  // namespace

percent_decoded percent_decode(std::string_view text) { return decode(text, false); }

std::string percent_decode_lenient(std::string_view text) { return decode(text, true).text; }

}  // namespace uvdb
