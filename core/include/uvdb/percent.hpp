#pragma once
/// \file
/// Percent-decoding (`%XX` escapes) of connection-string components, shared by
/// core's password masking and the drivers. Decoding reports what is wrong
/// and where rather than a finished message: only the caller knows what the
/// text was (a host, a SQLite path) and how to count positions in it.

#include <cstddef>
#include <string>
#include <string_view>

namespace uvdb {

/// The value of one hex digit ('0'-'9', 'a'-'f', 'A'-'F'), or -1 for any other
/// character, whatever the C locale says.
constexpr int hex_digit_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// Why percent_decode refused a text.
enum class percent_fault {
    none,        ///< decoded
    bad_escape,  ///< a '%' not followed by two hex digits
    nul_byte,    ///< %00: a NUL byte would end the text early in any C API
};

/// What percent_decode returns: the decoded text, or the fault and where it is.
struct percent_decoded {
    std::string text;  ///< the decoded text; empty when there is a fault
    percent_fault fault = percent_fault::none;
    std::size_t offset = 0;  ///< with a fault: the offset of its '%' in the input

    bool ok() const noexcept { return fault == percent_fault::none; }
};

/// Decodes the `%XX` escapes of `text` (hex digits in either case). '+' stays
/// '+': these are URL components, not HTML form data. Stops at the first
/// malformed escape or %00, whichever comes first. Pure; any thread.
percent_decoded percent_decode(std::string_view text);

/// The lenient form, for text that may be malformed and must not be refused
/// (e.g. looking for every spelling of a password to scrub): a '%' that does
/// not start two hex digits is kept as it is, and %00 becomes a NUL byte.
std::string percent_decode_lenient(std::string_view text);

}  // namespace uvdb
