// The scheme split and percent-encoding of connection strings. Parsing is
// the drivers' (driver::check): each reads its own strings, so no second
// parser in core can disagree with the one that connects.

#include <cstddef>
#include <string>
#include <uvdb/url.hpp>

#include "ascii.hpp"

namespace uvdb {
namespace {

using ::uvdb::detail::ascii::is_digit;
using ::uvdb::detail::ascii::is_space;
// ASCII only, whatever the C locale says.
using ::uvdb::detail::ascii::is_alpha;
bool is_alnum(char c) noexcept { return is_alpha(c) || is_digit(c); }

}  // namespace

std::string_view url_scheme(std::string_view text) noexcept {
    // RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":". A key=value
    // string never matches: its first key ends at '=' or a space, not ':'.
    std::size_t b = 0;
    while (b < text.size() && is_space(text[b])) ++b;
    std::size_t i = b;
    if (i >= text.size() || !is_alpha(text[i])) return {};
    while (i < text.size()) {
        char c = text[i];
        if (is_alnum(c) || c == '+' || c == '-' || c == '.') {
            ++i;
        } else {
            break;
        }
    }
    if (i >= text.size() || text[i] != ':') return {};
    return text.substr(b, i - b);
}

std::string url_encode(std::string_view component) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(component.size());
    for (char ch : component) {
        if (is_alnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            out += ch;
        } else {
            auto c = static_cast<unsigned char>(ch);
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0x0F];
        }
    }
    return out;
}

}  // namespace uvdb
