#pragma once
/// \file
/// One-dimensional PostgreSQL arrays ↔ std::vector<T>, through their text
/// form ("{1,NULL,\"a,b\"}"). Every element converts with value_traits<T> /
/// its text form, so arrays of any supported scalar work, user types with a
/// value_traits specialisation included. NULL elements need
/// std::vector<std::optional<T>>; reading one into std::vector<T> is an error
/// naming the element. Multi-dimensional arrays and arrays with a lower
/// bound other than 1 are an error. Parameters are sent as array text with
/// every element quoted, so `$1::int4[]`, `$1::text[]`… read them as sent.
/// (SQLite has no arrays: there the same text is stored and read back.)

#include <charconv>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <uvdb/result_set.hpp>
#include <uvdb/types/text_form.hpp>
#include <vector>

namespace uvdb {
namespace detail {

enum class array_status : std::uint8_t { ok, invalid, multi_dimensional, lower_bound };

/// Splits PostgreSQL's array text into its elements, unquoted and
/// unescaped; nullopt for a NULL element.
array_status parse_array_text(std::string_view text, std::vector<std::optional<std::string>>& out);
/// Appends `element` double-quoted, with '"' and '\\' escaped.
void append_quoted_element(std::string& out, std::string_view element);
/// The shortest text that reads back as `v`, in PostgreSQL's spellings of
/// NaN and ±Infinity.
std::string float_text(double v);
std::string float_text(float v);
std::string bytea_hex_text(const bytes& b);
/// "column \"c\" (_int4) holds a NULL at index 3 (1-based); read it as …".
error null_element_error(const result_source& src, std::size_t col, std::size_t index,
                         std::string_view cpp_name);
error array_shape_error(const result_source& src, std::size_t row, std::size_t col,
                        array_status why);

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

/// The text of one array element, or nullopt for NULL.
template <class T>
std::optional<std::string> element_text(const T& v) {
    if constexpr (is_optional<T>::value) {
        if (!v) return std::nullopt;
        return element_text(*v);
    } else if constexpr (std::is_same_v<T, bool>) {
        return std::string(v ? "t" : "f");
    } else if constexpr (is_cell_integer_v<T>) {
        return std::to_string(v);
    } else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        return float_text(v);
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
        return std::string(std::string_view(v));
    } else if constexpr (std::is_same_v<T, bytes>) {
        return bytea_hex_text(v);
    } else if constexpr (requires { text_form<T>::of(v); }) {
        return text_form<T>::of(v);
    } else {
        using std::to_string;
        return std::string(to_string(v));
    }
}

/// A single element of an array column seen as a cell, so value_traits<T>
/// converts it and its messages name "column[i]".
class array_element_source final : public result_source {
  public:
    array_element_source(const result_source& parent, std::size_t col)
        : parent_(parent), base_(parent.column_name(col)) {}
    void select(std::size_t index, const std::optional<std::string>* cell) {
        cell_ = cell;
        name_ = base_ + "[" + std::to_string(index + 1) + "]";
    }
    std::size_t rows() const noexcept override { return 1; }
    std::size_t columns() const noexcept override { return parent_.columns(); }
    std::string_view column_name(std::size_t) const noexcept override { return name_; }
    column_kind kind(std::size_t) const noexcept override { return column_kind::other; }
    std::uint32_t type_id(std::size_t c) const noexcept override { return parent_.type_id(c); }
    std::string_view type_name(std::size_t c) const noexcept override {
        return parent_.type_name(c);
    }
    bool is_null(std::size_t, std::size_t) const noexcept override { return !cell_->has_value(); }
    std::string_view text(std::size_t, std::size_t) const noexcept override {
        return cell_->has_value() ? std::string_view(**cell_) : std::string_view{};
    }
    std::uint64_t affected_rows() const noexcept override { return 0; }

  private:
    const result_source& parent_;
    std::string base_;
    std::string name_;
    const std::optional<std::string>* cell_ = nullptr;
};

}  // namespace detail

template <class T>
requires(!std::is_same_v<T, std::byte>) struct param_traits<std::vector<T>> {
    static param to_param(const std::vector<T>& v) {
        std::string out = "{";
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (i != 0) out += ',';
            auto e = detail::element_text(v[i]);
            if (e)
                detail::append_quoted_element(out, *e);
            else
                out += "NULL";
        }
        out += '}';
        return param(std::move(out));
    }
};

template <class T>
struct value_traits<std::vector<T>, std::enable_if_t<!std::is_same_v<T, std::byte>>> {
    static result<std::vector<T>> convert(const result_source& src, std::size_t row,
                                          std::size_t col) {
        if (src.is_null(row, col)) return detail::null_value_error(src, col, "std::vector<…>");
        std::vector<std::optional<std::string>> cells;
        auto st = detail::parse_array_text(src.text(row, col), cells);
        if (st != detail::array_status::ok) return detail::array_shape_error(src, row, col, st);
        std::vector<T> out;
        out.reserve(cells.size());
        detail::array_element_source element(src, col);
        for (std::size_t i = 0; i < cells.size(); ++i) {
            if constexpr (!detail::is_optional<T>::value) {
                if (!cells[i])
                    return detail::null_element_error(src, col, i, detail::cpp_type_name<T>());
            }
            element.select(i, &cells[i]);
            auto v = value_traits<T>::convert(element, 0, col);
            if (!v) return std::move(v).err();
            out.push_back(std::move(v).value());
        }
        return out;
    }
};

}  // namespace uvdb
