#include "pg_params.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <uvdb/postgres/driver.hpp>

namespace uvdb::postgres::detail {

error too_many_params(std::size_t n) {
    return error(errc::bad_input, "the statement has " + std::to_string(n) +
                                      " parameters, but PostgreSQL accepts at most 65535 per "
                                      "statement; split it or pass an array parameter");
}

std::optional<error> nul_in_text(const params& p) {
    for (std::size_t i = 0; i < p.size(); ++i) {
        const param_view v = p[i];
        if (v.type() == param::kind::text && v.as_text().find('\0') != std::string_view::npos) {
            return error(errc::bad_input,
                         "parameter $" + std::to_string(i + 1) +
                             " is text with a NUL byte, which PostgreSQL text cannot "
                             "store; bind it as uvdb::bytes (bytea) instead");
        }
    }
    return std::nullopt;
}

namespace {

void put_be(std::array<unsigned char, 8>& out, std::uint64_t v, int n) noexcept {
    for (int i = 0; i < n; ++i)
        out[static_cast<std::size_t>(i)] = static_cast<unsigned char>(v >> (8 * (n - 1 - i)));
}

}  // namespace

bool param_arrays::bind(const params& p) {
    const std::size_t n = p.size();
    if (n > max_params) return false;
    // resize() keeps capacity, so steady-state binds do not allocate.
    types_.resize(n);
    values_.resize(n);
    lengths_.resize(n);
    formats_.resize(n);
    scratch_.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const param_view v = p[i];
        auto& buf = scratch_[i];
        const char* bin = reinterpret_cast<const char*>(buf.data());
        switch (v.type()) {
            case param::kind::null:
                types_[i] = 0;
                values_[i] = nullptr;
                lengths_[i] = 0;
                formats_[i] = 0;
                break;
            case param::kind::boolean:
                buf[0] = v.as_bool() ? 1 : 0;
                types_[i] = oid::boolean;
                values_[i] = bin;
                lengths_[i] = 1;
                formats_[i] = 1;
                break;
            case param::kind::int16:
                put_be(buf, static_cast<std::uint64_t>(v.as_int()), 2);
                types_[i] = oid::int2;
                values_[i] = bin;
                lengths_[i] = 2;
                formats_[i] = 1;
                break;
            case param::kind::int32:
                put_be(buf, static_cast<std::uint64_t>(v.as_int()), 4);
                types_[i] = oid::int4;
                values_[i] = bin;
                lengths_[i] = 4;
                formats_[i] = 1;
                break;
            case param::kind::int64:
                put_be(buf, static_cast<std::uint64_t>(v.as_int()), 8);
                types_[i] = oid::int8;
                values_[i] = bin;
                lengths_[i] = 8;
                formats_[i] = 1;
                break;
            case param::kind::float32: {
                const float f = static_cast<float>(v.as_double());
                std::uint32_t u = 0;
                std::memcpy(&u, &f, sizeof u);
                put_be(buf, u, 4);
                types_[i] = oid::float4;
                values_[i] = bin;
                lengths_[i] = 4;
                formats_[i] = 1;
                break;
            }
            case param::kind::float64: {
                const double d = v.as_double();
                std::uint64_t u = 0;
                std::memcpy(&u, &d, sizeof u);
                put_be(buf, u, 8);
                types_[i] = oid::float8;
                values_[i] = bin;
                lengths_[i] = 8;
                formats_[i] = 1;
                break;
            }
            case param::kind::text:
                // Text format: libpq reads up to the NUL that params stores after each text.
                types_[i] = 0;
                values_[i] = v.text_c_str();
                lengths_[i] = 0;
                formats_[i] = 0;
                break;
            case param::kind::binary: {
                const auto b = v.as_bytes();
                types_[i] = oid::bytea;
                // A null pointer would be SQL NULL to libpq; an empty value must not be one.
                values_[i] = b.empty() ? "" : reinterpret_cast<const char*>(b.data());
                lengths_[i] = static_cast<int>(b.size());
                formats_[i] = 1;
                break;
            }
        }
    }
    return true;
}

}  // namespace uvdb::postgres::detail
