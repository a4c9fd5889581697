#pragma once
/// \file
/// Query results: columns (name, type), rows, typed access by index or name,
/// and the number of affected rows. Backend-neutral; a driver supplies a
/// `result_source` that reads its native result in place (no copy).

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <uvdb/error.hpp>
#include <uvdb/param.hpp>
#include <uvdb/result.hpp>
#include <vector>

namespace uvdb {

/// Portable kind of a column, for conversions and for people.
enum class column_kind : std::uint8_t {
    other,
    boolean,
    int16,
    int32,
    int64,
    float32,
    float64,
    numeric,
    text,
    binary,
};

/// Implemented by drivers: read access to one native result in text form.
/// Cells are read in place; the string_views stay valid while the source lives.
class result_source {
  public:
    virtual ~result_source() = default;
    virtual std::size_t rows() const noexcept = 0;
    virtual std::size_t columns() const noexcept = 0;
    virtual std::string_view column_name(std::size_t col) const noexcept = 0;
    virtual column_kind kind(std::size_t col) const noexcept = 0;
    /// The backend's own type id (PostgreSQL: the type OID).
    virtual std::uint32_t type_id(std::size_t col) const noexcept = 0;
    /// The backend's type name for messages ("int8", "text", …).
    virtual std::string_view type_name(std::size_t col) const noexcept = 0;
    virtual bool is_null(std::size_t row, std::size_t col) const noexcept = 0;
    /// The value's text form (empty for NULL).
    virtual std::string_view text(std::size_t row, std::size_t col) const noexcept = 0;
    /// The value of a binary column decoded to raw bytes.
    virtual result<bytes> binary(std::size_t row, std::size_t col) const;
    /// Rows affected by INSERT/UPDATE/DELETE…, or rows returned; 0 if unknown.
    virtual std::uint64_t affected_rows() const noexcept = 0;
    /// The command tag ("SELECT 1", "INSERT 0 3"), or empty.
    virtual std::string_view command_tag() const noexcept { return {}; }
};

class result_set;

/// Rows read as C++ values by result_set::as(); see <uvdb/row_mapping.hpp>.
template <class... T>
class row_range;

namespace detail {
/// What a row reads as: T for one type, std::tuple<T...> for several.
template <class... T>
struct row_value;
}  // namespace detail

/// Conversion of one cell's text form to T. Specialise for your own types.
/// The primary template is defined for bool, integers, float, double,
/// std::string, std::string_view (valid while the result lives), uvdb::bytes
/// and std::optional<T> (NULL → nullopt).
template <class T, class = void>
struct value_traits;

/// One row of a result_set; a cheap view (result set + index).
class row {
  public:
    row(const result_set* rs, std::size_t index) noexcept : rs_(rs), index_(index) {}

    std::size_t index() const noexcept { return index_; }
    std::size_t size() const noexcept;

    bool is_null(std::size_t col) const;
    bool is_null(std::string_view column) const;

    /// The value converted to T. Throws uvdb::conversion_exception (which
    /// carries an uvdb::error naming the column and the types) when it cannot.
    template <class T>
    T get(std::size_t col) const;
    template <class T>
    T get(std::string_view column) const;

    /// Non-throwing form.
    template <class T>
    result<T> try_get(std::size_t col) const;
    template <class T>
    result<T> try_get(std::string_view column) const;

    /// Raw text form of a cell (empty for NULL).
    std::string_view text(std::size_t col) const;

    /// The whole row as T (a struct, a tuple or one value) or, for several
    /// types, as std::tuple<T...>; see <uvdb/row_mapping.hpp>. Throws
    /// uvdb::conversion_exception when the row does not convert.
    template <class... T>
    typename detail::row_value<T...>::type as() const;
    /// Non-throwing form.
    template <class... T>
    result<typename detail::row_value<T...>::type> try_as() const;

  private:
    const result_set* rs_;
    std::size_t index_;
};

/// Thrown by row::get when a value cannot be converted; carries the error.
class conversion_exception : public std::exception {
  public:
    explicit conversion_exception(error e) : err_(std::move(e)) {}
    const char* what() const noexcept override { return err_.message().c_str(); }
    const uvdb::error& err() const noexcept { return err_; }

  private:
    uvdb::error err_;
};

/// The rows of one statement. Move-only; owns the driver's native result.
class result_set {
  public:
    result_set() = default;
    explicit result_set(std::unique_ptr<result_source> src) noexcept : src_(std::move(src)) {}

    std::size_t size() const noexcept { return src_ ? src_->rows() : 0; }
    bool empty() const noexcept { return size() == 0; }
    std::size_t columns() const noexcept { return src_ ? src_->columns() : 0; }
    std::string_view column_name(std::size_t col) const;
    column_kind column_kind_of(std::size_t col) const;
    std::uint32_t column_type_id(std::size_t col) const;
    std::string_view column_type_name(std::size_t col) const;
    /// Index of a column by name, or an error naming the columns there are.
    result<std::size_t> column_index(std::string_view name) const;

    std::uint64_t affected_rows() const noexcept { return src_ ? src_->affected_rows() : 0; }
    std::string_view command_tag() const noexcept {
        return src_ ? src_->command_tag() : std::string_view{};
    }

    uvdb::row operator[](std::size_t i) const noexcept { return {this, i}; }
    uvdb::row at(std::size_t i) const;  ///< throws std::out_of_range

    /// Convenience: the single value of a one-row, one-column result.
    template <class T>
    T value() const {
        return at(0).template get<T>(0);
    }

    class iterator {
      public:
        using iterator_category = std::random_access_iterator_tag;
        using value_type = uvdb::row;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = uvdb::row;
        iterator() = default;
        iterator(const result_set* rs, std::size_t i) noexcept : rs_(rs), i_(i) {}
        uvdb::row operator*() const noexcept { return {rs_, i_}; }
        iterator& operator++() noexcept {
            ++i_;
            return *this;
        }
        iterator operator++(int) noexcept {
            auto t = *this;
            ++i_;
            return t;
        }
        friend bool operator==(const iterator& a, const iterator& b) noexcept {
            return a.i_ == b.i_;
        }

      private:
        const result_set* rs_ = nullptr;
        std::size_t i_ = 0;
    };
    iterator begin() const noexcept { return {this, 0}; }
    iterator end() const noexcept { return {this, size()}; }

    const result_source* source() const noexcept { return src_.get(); }

    // Rows into C++ values, as in `for (auto [id, name] : rs.as<int, std::string>())`
    // or `rs.one<user>()`; see <uvdb/row_mapping.hpp> for the mapping and errors.

    /// The rows as T (a struct, a tuple or one value) or std::tuple<T...>.
    /// Throws uvdb::conversion_exception here when the column count does not
    /// match, and from the iterator when a cell does not convert. On a
    /// temporary the range keeps the result_set alive.
    template <class... T>
    row_range<T...> as() const&;
    template <class... T>
    row_range<T...> as() &&;
    /// The single row; errc::no_rows when there are none, errc::conversion_error
    /// when there are more or it does not convert.
    template <class... T>
    result<typename detail::row_value<T...>::type> one() const&;
    template <class... T>
    result<typename detail::row_value<T...>::type> one() &&;
    /// The single row or std::nullopt when there are none; more rows are an error.
    template <class... T>
    result<std::optional<typename detail::row_value<T...>::type>> one_or_none() const&;
    template <class... T>
    result<std::optional<typename detail::row_value<T...>::type>> one_or_none() &&;
    /// Every row, converted; the first cell that does not convert is the error.
    template <class... T>
    result<std::vector<typename detail::row_value<T...>::type>> all() const&;
    template <class... T>
    result<std::vector<typename detail::row_value<T...>::type>> all() &&;

  private:
    std::unique_ptr<result_source> src_;
};

/// A result_source holding its own copies of the cells, for drivers whose
/// native results do not outlive the call (SQLite) and for tests/fakes.
class owned_result : public result_source {
  public:
    struct column {
        std::string name;
        column_kind kind = column_kind::text;
        std::uint32_t type_id = 0;
        std::string type_name = "text";
    };
    owned_result() = default;
    explicit owned_result(std::vector<column> cols) : cols_(std::move(cols)) {}

    void add_row(std::vector<std::optional<std::string>> cells) {
        rows_.push_back(std::move(cells));
    }
    void set_affected_rows(std::uint64_t n) noexcept { affected_ = n; }
    void set_command_tag(std::string tag) { tag_ = std::move(tag); }

    std::size_t rows() const noexcept override { return rows_.size(); }
    std::size_t columns() const noexcept override { return cols_.size(); }
    std::string_view column_name(std::size_t c) const noexcept override { return cols_[c].name; }
    column_kind kind(std::size_t c) const noexcept override { return cols_[c].kind; }
    std::uint32_t type_id(std::size_t c) const noexcept override { return cols_[c].type_id; }
    std::string_view type_name(std::size_t c) const noexcept override { return cols_[c].type_name; }
    bool is_null(std::size_t r, std::size_t c) const noexcept override {
        return !rows_[r][c].has_value();
    }
    std::string_view text(std::size_t r, std::size_t c) const noexcept override {
        const auto& v = rows_[r][c];
        return v ? std::string_view(*v) : std::string_view{};
    }
    std::uint64_t affected_rows() const noexcept override {
        return affected_ ? affected_ : rows_.size();
    }
    std::string_view command_tag() const noexcept override { return tag_; }

  private:
    std::vector<column> cols_;
    std::vector<std::vector<std::optional<std::string>>> rows_;
    std::uint64_t affected_ = 0;
    std::string tag_;
};

}  // namespace uvdb

#include <uvdb/detail/value_traits.hpp>
#include <uvdb/row_mapping.hpp>
