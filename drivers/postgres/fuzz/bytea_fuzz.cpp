// Fuzzes the PostgreSQL driver's bytea decoder (hex and escape forms,
// drivers/postgres/src/pg_result.cpp) against core's fallback decoder of the
// hex form (uvdb::bytes from a text cell, core/src/result_set.cpp).
//
// Besides "no crash", it checks:
//   - for hex input, core's decoder and the driver's agree;
//   - whatever the driver decoded re-encodes in escape form and decodes to
//     the same bytes.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <uvdb/result_set.hpp>
#include <vector>

#include "pg_result.hpp"

namespace {

[[noreturn]] void fail() { std::abort(); }

/// Core's reading of `text` as bytea, through a one-cell text result.
uvdb::result<uvdb::bytes> core_decode(std::string_view text) {
    auto src = std::make_unique<uvdb::owned_result>(
        std::vector<uvdb::owned_result::column>{{"c", uvdb::column_kind::text, 0, "bytea"}});
    src->add_row({std::string(text)});
    const uvdb::result_set rs(std::move(src));
    return rs[0].try_get<uvdb::bytes>(0);
}

/// PostgreSQL's escape form of `b` (bytea_output = escape).
std::string escape_of(const uvdb::bytes& b) {
    std::string out;
    for (std::byte x : b.data) {
        const auto v = static_cast<unsigned>(x);
        if (v == '\\') {
            out += "\\\\";
        } else if (v < 0x20 || v > 0x7e) {
            out += '\\';
            out += static_cast<char>('0' + (v >> 6));
            out += static_cast<char>('0' + ((v >> 3) & 7));
            out += static_cast<char>('0' + (v & 7));
        } else {
            out += static_cast<char>(v);
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto pg_bytes = uvdb::postgres::detail::decode_bytea(text);
    if (auto core_bytes = core_decode(text); core_bytes) {
        if (!pg_bytes || pg_bytes->data != core_bytes->data) fail();
    }
    if (pg_bytes && !(text.size() >= 2 && text[0] == '\\' && text[1] == 'x')) {
        auto again = uvdb::postgres::detail::decode_bytea(escape_of(*pg_bytes));
        if (!again || again->data != pg_bytes->data) fail();
    }
    return 0;
}
