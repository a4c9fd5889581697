// Messages for rows-into-structs (<uvdb/row_mapping.hpp>), built out of line
// so the templates stay small.

#include <string>
#include <uvdb/result_set.hpp>

namespace uvdb::detail {
namespace {

std::string counted(std::size_t n, std::string_view one, std::string_view many) {
    return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

/// "3 columns (id, name, at)"; long lists are cut short, names are not secret
/// but a 200-column SELECT * would drown the message.
std::string describe_columns(const result_set& rs) {
    constexpr std::size_t shown = 12;
    std::size_t n = rs.columns();
    if (n == 0) return "no columns";
    std::string out = counted(n, "column", "columns") + " (";
    for (std::size_t i = 0; i < n && i < shown; ++i) {
        if (i > 0) out += ", ";
        out += rs.column_name(i);
    }
    if (n > shown) out += ", …";
    out += ')';
    return out;
}

}  // namespace

result<void> check_width(const result_set& rs, std::size_t expected, shape what,
                         std::string_view type) {
    if (rs.columns() == expected) return {};
    std::string msg = "the result has " + describe_columns(rs) + " but ";
    switch (what) {
        case shape::values:
            msg += expected == 1 ? std::string("1 value was asked for")
                                 : std::to_string(expected) + " values were asked for";
            break;
        case shape::fields:
            msg += std::string(type) + " has " + counted(expected, "field", "fields");
            break;
        case shape::row_traits:
            msg += "row_traits<" + std::string(type) + "> reads " +
                   counted(expected, "column", "columns");
            break;
    }
    return error(errc::conversion_error, std::move(msg));
}

error no_rows_error() {
    return error(errc::no_rows,
                 "one() needs exactly one row but the result has 0 rows; use one_or_none() "
                 "when no row is an answer");
}

error too_many_rows_error(std::string_view call, std::size_t rows) {
    return error(errc::conversion_error,
                 std::string(call) + " needs " +
                     (call == "one()" ? "exactly one row" : "at most one row") +
                     " but the result has " + std::to_string(rows) + " rows");
}

error from_row_error(error e) {
    // A column name the result lacks is bad_input from row::get; here it is the
    // row not fitting the struct.
    if (e.value() == errc::bad_input) return error(errc::conversion_error, e.message());
    return e;
}

}  // namespace uvdb::detail
