// Fuzzes the text decoders of <uvdb/types.hpp> (core/src/types/): numeric,
// uuid, interval, date/timestamp and PostgreSQL's array text.
//
// Besides "no crash", whatever a decoder accepts must re-encode to text that
// decodes to the same value (the encoders are what parameters send), and
// numeric's canonical text must be a fixed point.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <uvdb/types.hpp>
#include <vector>

namespace {

[[noreturn]] void fail() { std::abort(); }

void check_numeric(std::string_view text) {
    auto n = uvdb::numeric::parse(text);
    if (!n) return;
    auto again = uvdb::numeric::parse(n->str());
    if (!again || *again != *n) fail();
    (void)n->to_double();
}

void check_uuid(std::string_view text) {
    auto u = uvdb::uuid::parse(text);
    if (u && uvdb::uuid::parse(u->str()) != u) fail();
}

void check_interval(std::string_view text) {
    auto iv = uvdb::interval::parse(text);
    if (iv && uvdb::interval::parse(iv->str()) != iv) fail();
}

void check_timestamp(std::string_view text) {
    uvdb::detail::civil_time c;
    if (uvdb::detail::parse_timestamp_text(text, c) != uvdb::detail::decode_status::ok) return;
    if (c.infinity != 0) return;
    if (c.ns < 0 || c.ns >= uvdb::detail::ns_per_day) fail();
    uvdb::detail::civil_time back;
    const std::string s = uvdb::detail::format_timestamp_text(c.days, c.ns);
    if (uvdb::detail::parse_timestamp_text(s, back) != uvdb::detail::decode_status::ok ||
        back.days != c.days || back.ns != c.ns)
        fail();
}

void check_array(std::string_view text) {
    std::vector<std::optional<std::string>> cells;
    if (uvdb::detail::parse_array_text(text, cells) != uvdb::detail::array_status::ok) return;
    std::string out = "{";
    for (std::size_t i = 0; i < cells.size(); ++i) {
        if (i != 0) out += ',';
        if (cells[i])
            uvdb::detail::append_quoted_element(out, *cells[i]);
        else
            out += "NULL";
    }
    out += '}';
    std::vector<std::optional<std::string>> again;
    if (uvdb::detail::parse_array_text(out, again) != uvdb::detail::array_status::ok ||
        again != cells)
        fail();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    check_numeric(text);
    check_uuid(text);
    check_interval(text);
    check_timestamp(text);
    check_array(text);
    return 0;
}
