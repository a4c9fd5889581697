#include <stdexcept>
#include <string>
#include <uvdb/result_set.hpp>

namespace uvdb {
namespace {

std::string quoted_column(const result_source& src, std::size_t col) {
    return "column \"" + std::string(src.column_name(col)) + "\" (" +
           std::string(src.type_name(col)) + ")";
}

/// A cell's text for a message, cut short: it is user data and may be long.
std::string shown_value(std::string_view text, bool quote) {
    constexpr std::size_t limit = 40;
    std::string out = quote ? "\"" : "";
    if (text.size() > limit) {
        // Cut at a character boundary: half a UTF-8 sequence would make the
        // message invalid UTF-8, which breaks JSON log sinks and terminals.
        std::size_t cut = limit;
        while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
        out += text.substr(0, cut);
        out += "…";
    } else {
        out += text;
    }
    if (quote) out += '"';
    return out;
}

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

[[noreturn]] void throw_bad_column(const result_set& rs, std::size_t col) {
    throw std::out_of_range("column index " + std::to_string(col) +
                            " is out of range; the result has " + std::to_string(rs.columns()) +
                            " column(s)");
}

}  // namespace

namespace detail {

error null_value_error(const result_source& src, std::size_t col, std::string_view cpp_name) {
    return error(errc::conversion_error, quoted_column(src, col) +
                                             " is NULL; read it as std::optional<" +
                                             std::string(cpp_name) + ">");
}

error invalid_value_error(const result_source& src, std::size_t row, std::size_t col,
                          std::string_view target) {
    return error(errc::conversion_error, quoted_column(src, col) + " holds " +
                                             shown_value(src.text(row, col), true) +
                                             ", which is not a valid " + std::string(target));
}

error out_of_range_error(const result_source& src, std::size_t row, std::size_t col,
                         std::string_view target) {
    return error(errc::conversion_error, quoted_column(src, col) + " holds " +
                                             shown_value(src.text(row, col), false) +
                                             ", which does not fit " + std::string(target));
}

result<void> check_cell(const result_set* rs, std::size_t row, std::size_t col) {
    if (rs == nullptr || rs->source() == nullptr)
        return error(errc::bad_input, "row: the result is empty");
    if (row >= rs->size()) {
        return error(errc::bad_input, "row index " + std::to_string(row) +
                                          " is out of range; the result has " +
                                          std::to_string(rs->size()) + " row(s)");
    }
    if (col >= rs->columns()) {
        return error(errc::bad_input, "column index " + std::to_string(col) +
                                          " is out of range; the result has " +
                                          std::to_string(rs->columns()) + " column(s)");
    }
    return {};
}

}  // namespace detail

result<bytes> result_source::binary(std::size_t row, std::size_t col) const {
    if (is_null(row, col)) return detail::null_value_error(*this, col, "uvdb::bytes");
    std::string_view t = text(row, col);
    if (t.size() < 2 || t[0] != '\\' || t[1] != 'x') {
        return error(errc::conversion_error, quoted_column(*this, col) +
                                                 " is not in PostgreSQL's hex bytea form (\\x…); "
                                                 "read it as std::string, or select a "
                                                 "bytea value");
    }
    t.remove_prefix(2);
    if (t.size() % 2 != 0) {
        return error(errc::conversion_error,
                     quoted_column(*this, col) + " holds hex data of odd length");
    }
    std::vector<std::byte> out(t.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        int hi = hex_digit(t[2 * i]);
        int lo = hex_digit(t[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return error(errc::conversion_error, quoted_column(*this, col) +
                                                     " holds a non-hex character at offset " +
                                                     std::to_string(2 * i + 2));
        }
        out[i] = static_cast<std::byte>(hi * 16 + lo);
    }
    return bytes(std::move(out));
}

std::size_t row::size() const noexcept { return rs_ != nullptr ? rs_->columns() : 0; }

bool row::is_null(std::size_t col) const {
    if (auto ok = detail::check_cell(rs_, index_, col); !ok)
        throw conversion_exception(std::move(ok).err());
    return rs_->source()->is_null(index_, col);
}

bool row::is_null(std::string_view column) const {
    if (rs_ == nullptr)
        throw conversion_exception(error(errc::bad_input, "row: not attached to a result"));
    auto idx = rs_->column_index(column);
    if (!idx) throw conversion_exception(std::move(idx).err());
    return is_null(*idx);
}

std::string_view row::text(std::size_t col) const {
    if (auto ok = detail::check_cell(rs_, index_, col); !ok)
        throw conversion_exception(std::move(ok).err());
    return rs_->source()->text(index_, col);
}

std::string_view result_set::column_name(std::size_t col) const {
    if (col >= columns()) throw_bad_column(*this, col);
    return src_->column_name(col);
}

column_kind result_set::column_kind_of(std::size_t col) const {
    if (col >= columns()) throw_bad_column(*this, col);
    return src_->kind(col);
}

std::uint32_t result_set::column_type_id(std::size_t col) const {
    if (col >= columns()) throw_bad_column(*this, col);
    return src_->type_id(col);
}

std::string_view result_set::column_type_name(std::size_t col) const {
    if (col >= columns()) throw_bad_column(*this, col);
    return src_->type_name(col);
}

result<std::size_t> result_set::column_index(std::string_view name) const {
    std::size_t n = columns();
    for (std::size_t i = 0; i < n; ++i) {
        if (src_->column_name(i) == name) return i;
    }
    std::string names;
    for (std::size_t i = 0; i < n; ++i) {
        if (!names.empty()) names += ", ";
        names += src_->column_name(i);
    }
    return error(errc::bad_input, "no column named \"" + std::string(name) + "\"; the result has " +
                                      (n == 0 ? std::string("no columns") : "columns: " + names));
}

row result_set::at(std::size_t i) const {
    if (i >= size()) {
        throw std::out_of_range("row index " + std::to_string(i) +
                                " is out of range; the result has " + std::to_string(size()) +
                                " row(s)");
    }
    return {this, i};
}

}  // namespace uvdb
