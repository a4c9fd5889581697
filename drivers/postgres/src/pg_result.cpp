#include "pg_result.hpp"

#include <charconv>
#include <cstring>
#include <string>
#include <uvdb/percent.hpp>
#include <uvdb/postgres/driver.hpp>

namespace uvdb::postgres::detail {

column_kind kind_of_oid(std::uint32_t type) noexcept {
    switch (type) {
        case oid::boolean:
            return column_kind::boolean;
        case oid::int2:
            return column_kind::int16;
        case oid::int4:
            return column_kind::int32;
        case oid::int8:
        case oid::oid_:
            return column_kind::int64;
        case oid::float4:
            return column_kind::float32;
        case oid::float8:
            return column_kind::float64;
        case oid::numeric:
            return column_kind::numeric;
        case oid::bytea:
            return column_kind::binary;
        case oid::text:
        case oid::varchar:
        case oid::unknown:
        case 18:    // "char"
        case 19:    // name
        case 114:   // json
        case 142:   // xml
        case 1042:  // bpchar
        case 3802:  // jsonb
            return column_kind::text;
        default:
            return column_kind::other;
    }
}

std::string_view name_of_oid(std::uint32_t type) noexcept {
    switch (type) {
        case 16:
            return "bool";
        case 17:
            return "bytea";
        case 18:
            return "char";
        case 19:
            return "name";
        case 20:
            return "int8";
        case 21:
            return "int2";
        case 23:
            return "int4";
        case 24:
            return "regproc";
        case 25:
            return "text";
        case 26:
            return "oid";
        case 114:
            return "json";
        case 142:
            return "xml";
        case 199:
            return "_json";
        case 650:
            return "cidr";
        case 651:
            return "_cidr";
        case 700:
            return "float4";
        case 701:
            return "float8";
        case 705:
            return "unknown";
        case 790:
            return "money";
        case 829:
            return "macaddr";
        case 869:
            return "inet";
        case 1000:
            return "_bool";
        case 1001:
            return "_bytea";
        case 1002:
            return "_char";
        case 1003:
            return "_name";
        case 1005:
            return "_int2";
        case 1007:
            return "_int4";
        case 1009:
            return "_text";
        case 1014:
            return "_bpchar";
        case 1015:
            return "_varchar";
        case 1016:
            return "_int8";
        case 1021:
            return "_float4";
        case 1022:
            return "_float8";
        case 1041:
            return "_inet";
        case 1042:
            return "bpchar";
        case 1043:
            return "varchar";
        case 1082:
            return "date";
        case 1083:
            return "time";
        case 1114:
            return "timestamp";
        case 1115:
            return "_timestamp";
        case 1182:
            return "_date";
        case 1183:
            return "_time";
        case 1184:
            return "timestamptz";
        case 1185:
            return "_timestamptz";
        case 1186:
            return "interval";
        case 1187:
            return "_interval";
        case 1231:
            return "_numeric";
        case 1266:
            return "timetz";
        case 1270:
            return "_timetz";
        case 1560:
            return "bit";
        case 1562:
            return "varbit";
        case 1700:
            return "numeric";
        case 2249:
            return "record";
        case 2278:
            return "void";
        case 2950:
            return "uuid";
        case 2951:
            return "_uuid";
        case 3614:
            return "tsvector";
        case 3802:
            return "jsonb";
        case 3807:
            return "_jsonb";
        case 3904:
            return "int4range";
        case 3926:
            return "int8range";
        case 4089:
            return "regnamespace";
        default:
            return "other";
    }
}

namespace {

error bad_bytea(std::string_view why) {
    return error(errc::conversion_error, "the bytea value is malformed: " + std::string(why));
}

}  // namespace

result<bytes> decode_bytea(std::string_view text) {
    bytes out;
    if (text.size() >= 2 && text[0] == '\\' && text[1] == 'x') {
        std::string_view hex = text.substr(2);
        if (hex.size() % 2 != 0) return bad_bytea("odd number of hex digits");
        out.data.resize(hex.size() / 2);
        for (std::size_t i = 0; i < out.data.size(); ++i) {
            const int hi = hex_digit_value(hex[2 * i]);
            const int lo = hex_digit_value(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) return bad_bytea("not a hex digit");
            out.data[i] = static_cast<std::byte>(hi * 16 + lo);
        }
        return out;
    }
    // bytea_output = escape: backslash-backslash or backslash + three octal digits.
    out.data.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\') {
            out.data.push_back(static_cast<std::byte>(text[i]));
        } else if (i + 1 < text.size() && text[i + 1] == '\\') {
            out.data.push_back(std::byte{'\\'});
            ++i;
        } else if (i + 3 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '3' &&
                   text[i + 2] >= '0' && text[i + 2] <= '7' && text[i + 3] >= '0' &&
                   text[i + 3] <= '7') {
            out.data.push_back(static_cast<std::byte>(
                (text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 + (text[i + 3] - '0')));
            i += 3;
        } else {
            return bad_bytea("bad escape sequence");
        }
    }
    return out;
}

pg_result::pg_result(pg_result_ptr r) noexcept
    : res_(std::move(r)),
      rows_(static_cast<std::size_t>(PQntuples(res_.get()))),
      cols_(static_cast<std::size_t>(PQnfields(res_.get()))) {}

std::string_view pg_result::column_name(std::size_t col) const noexcept {
    const char* n = PQfname(res_.get(), static_cast<int>(col));
    return n != nullptr ? std::string_view(n) : std::string_view{};
}

column_kind pg_result::kind(std::size_t col) const noexcept { return kind_of_oid(type_id(col)); }

std::uint32_t pg_result::type_id(std::size_t col) const noexcept {
    return static_cast<std::uint32_t>(PQftype(res_.get(), static_cast<int>(col)));
}

std::string_view pg_result::type_name(std::size_t col) const noexcept {
    return name_of_oid(type_id(col));
}

bool pg_result::is_null(std::size_t row, std::size_t col) const noexcept {
    return PQgetisnull(res_.get(), static_cast<int>(row), static_cast<int>(col)) != 0;
}

std::string_view pg_result::text(std::size_t row, std::size_t col) const noexcept {
    const int r = static_cast<int>(row);
    const int c = static_cast<int>(col);
    return {PQgetvalue(res_.get(), r, c), static_cast<std::size_t>(PQgetlength(res_.get(), r, c))};
}

result<bytes> pg_result::binary(std::size_t row, std::size_t col) const {
    if (type_id(col) == oid::bytea && !is_null(row, col)) return decode_bytea(text(row, col));
    return result_source::binary(row, col);
}

std::uint64_t pg_result::affected_rows() const noexcept {
    // PQcmdTuples takes a non-const pointer but does not modify the result.
    const char* n = PQcmdTuples(res_.get());
    std::uint64_t v = 0;
    if (n != nullptr && *n != '\0') {
        std::from_chars(n, n + std::strlen(n), v);
        return v;
    }
    return PQresultStatus(res_.get()) == PGRES_TUPLES_OK ? rows_ : 0;
}

std::string_view pg_result::command_tag() const noexcept {
    const char* t = PQcmdStatus(res_.get());
    return t != nullptr ? std::string_view(t) : std::string_view{};
}

}  // namespace uvdb::postgres::detail
