#pragma once
/// \file
/// Rows into C++ values: a tuple per row, a single value, or a struct.
///
///     for (auto [id, name, at] : rs.as<int, std::string, std::chrono::sys_seconds>()) …
///     for (const user& u : rs.as<user>()) …
///     uvdb::result<user> u = rs.one<user>();                // exactly one row
///     uvdb::result<std::optional<user>> o = rs.one_or_none<user>();
///     uvdb::result<std::vector<user>> v = rs.all<user>();
///
/// Every cell converts through row::try_get<F>, so every type with a
/// uvdb::value_traits specialisation works as a tuple element or a field.
///
/// How a single T is read, in this order:
///  1. through a uvdb::row_traits<T> specialisation, when there is one;
///  2. as one column, when T has value_traits (int, std::string, std::optional<…>, …);
///  3. as its elements in column order, when T is a std::tuple;
///  4. as its fields in column order, when T is an aggregate (a plain struct of up
///     to 32 default-constructible, non-const fields, each a type with value_traits).
/// Several types (`as<int, std::string>()`) read one column each into a std::tuple.
///
/// Errors. The column count is checked once, against the number of values,
/// fields or row_traits<T>::columns: "the result has 3 columns (id, name, at) but
/// user has 4 fields". A cell that does not convert gives the error row::get
/// gives, naming the column, its database type and the C++ type. Both are
/// errc::conversion_error. `as()` throws uvdb::conversion_exception (from as()
/// itself for the column count, from the iterator for a cell); inside a uvdb
/// task the exception ends the task and reaches whoever awaits it (spawn's
/// callback, or the log). one(), one_or_none(), all() and
/// row::try_as() return the error instead. one() on a result with no rows gives
/// errc::no_rows, so a handler can answer "not found";
/// more than one row is errc::conversion_error.
///
/// Lifetimes. std::string_view values point into the result: valid while the
/// result_set lives. `as()` on a temporary result_set keeps it inside the range,
/// so `for (auto v : std::move(rs).as<std::string_view>())` is safe for the loop;
/// one()/one_or_none()/all() on a temporary refuse types that point into it
/// (see uvdb::borrows_from_result_v).
///
/// Included at the end of <uvdb/result_set.hpp>; include that instead.

#include <cstddef>
#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <uvdb/detail/aggregate_fields.hpp>
#include <uvdb/result_set.hpp>
#include <vector>

namespace uvdb {

/// How T is read from a whole row, for types that are not plain aggregates or
/// whose fields do not follow the column order. Specialise it with
///
///     template <>
///     struct uvdb::row_traits<user> {
///         // Optional: checked once against the result's column count.
///         static constexpr std::size_t columns = 3;
///         static uvdb::result<user> from_row(const uvdb::row& r) {
///             auto id = r.try_get<std::int64_t>("id");
///             if (!id) return std::move(id).err();
///             auto name = r.try_get<std::string>("name");
///             if (!name) return std::move(name).err();
///             return user{*id, std::move(*name), r.get<bool>("admin")};
///         }
///     };
///
/// from_row may return T instead of uvdb::result<T>, and may throw
/// uvdb::conversion_exception (row::get does): the non-throwing forms catch it.
/// An errc::bad_input from from_row (a column name the result lacks) is reported
/// as errc::conversion_error: the row does not fit the type.
template <class T, class = void>
struct row_traits;

/// True for types whose values point into the result they were read from. one(),
/// one_or_none() and all() on a temporary result_set refuse them, fields of
/// aggregates and tuple elements included. Specialise it for your own view types.
template <class T>
inline constexpr bool borrows_from_result_v = false;
template <>
inline constexpr bool borrows_from_result_v<std::string_view> = true;
template <class T>
inline constexpr bool borrows_from_result_v<std::optional<T>> = borrows_from_result_v<T>;

namespace detail {

template <class... T>
struct row_value {
    using type = std::tuple<T...>;
};
template <class T>
struct row_value<T> {
    using type = T;
};

template <class T>
inline constexpr bool has_value_traits_v = requires {
    sizeof(value_traits<T>);
};

/// Readable from one cell. std::optional<T> has value_traits for every T, so it
/// counts only when T does.
template <class T>
inline constexpr bool is_cell_v = has_value_traits_v<T>;
template <class T>
inline constexpr bool is_cell_v<std::optional<T>> = is_cell_v<T>;

template <class T>
inline constexpr bool has_row_traits_v = requires {
    sizeof(row_traits<T>);
};

template <class T>
inline constexpr bool is_tuple_v = false;
template <class... T>
inline constexpr bool is_tuple_v<std::tuple<T...>> = true;

/// What the column count is compared with, for the message.
enum class shape : unsigned char { values, fields, row_traits };

// Out of line (core/src/row_mapping.cpp).

/// Ok when the result has `expected` columns; otherwise the conversion error
/// naming the columns and what wanted a different number.
result<void> check_width(const result_set& rs, std::size_t expected, shape what,
                         std::string_view type);
/// one() on a result without rows: errc::no_rows.
error no_rows_error();
/// one()/one_or_none() on a result with more rows than one: errc::conversion_error.
error too_many_rows_error(std::string_view call, std::size_t rows);
/// An error from row_traits<T>::from_row as the mapping reports it.
error from_row_error(error e);

template <class F>
bool read_cell(const row& r, std::size_t col, F& out, result<void>& status) {
    static_assert(!std::is_const_v<F>,
                  "uvdb: a field read from a row must not be const; give the struct a "
                  "uvdb::row_traits specialisation instead");
    auto v = r.try_get<F>(col);
    if (!v) {
        status = std::move(v).err();
        return false;
    }
    out = std::move(v).value();
    return true;
}

/// Reads column I into element I of a tuple of values or of references,
/// stopping at the first cell that does not convert.
template <class Tuple, std::size_t... I>
result<void> read_cells(const row& r, Tuple&& out, std::index_sequence<I...>) {
    result<void> status;
    (void)(read_cell(r, I, std::get<I>(out), status) && ...);
    return status;
}

template <class Tuple, std::size_t... I>
constexpr bool any_borrows(std::index_sequence<I...>) {
    return (borrows_from_result_v<std::remove_cvref_t<std::tuple_element_t<I, Tuple>>> || ...);
}

/// How one T is read from a row: its column count (or none, unchecked) and read().
template <class T>
struct single_reader {
    static constexpr bool by_traits = has_row_traits_v<T>;
    static constexpr bool by_cell = !by_traits && is_cell_v<T>;
    static constexpr bool by_tuple = !by_traits && !by_cell && is_tuple_v<T>;
    static constexpr bool by_fields =
        !by_traits && !by_cell && !by_tuple && std::is_class_v<T> && std::is_aggregate_v<T>;
    static_assert(by_traits || by_cell || by_tuple || by_fields,
                  "uvdb: this type cannot be read from a row: it has no uvdb::value_traits "
                  "(one column), no uvdb::row_traits (a whole row), and is not an aggregate");

    static result<void> check(const result_set& rs) {
        if constexpr (by_traits) {
            if constexpr (requires { row_traits<T>::columns; }) {
                return check_width(rs, row_traits<T>::columns, shape::row_traits, type_name<T>());
            } else {
                return {};
            }
        } else if constexpr (by_cell) {
            return check_width(rs, 1, shape::values, {});
        } else if constexpr (by_tuple) {
            return check_width(rs, std::tuple_size_v<T>, shape::values, {});
        } else {
            return check_width(rs, field_count<T>(), shape::fields, type_name<T>());
        }
    }

    static result<T> read(const row& r) {
        if constexpr (by_traits) {
            using returned = decltype(row_traits<T>::from_row(r));
            try {
                if constexpr (std::is_same_v<returned, result<T>>) {
                    auto v = row_traits<T>::from_row(r);
                    if (!v) return from_row_error(std::move(v).err());
                    return v;
                } else {
                    return row_traits<T>::from_row(r);
                }
            } catch (const conversion_exception& e) {
                return from_row_error(e.err());
            }
        } else if constexpr (by_cell) {
            return r.try_get<T>(0);
        } else if constexpr (by_tuple) {
            T out{};
            auto ok = read_cells(r, out, std::make_index_sequence<std::tuple_size_v<T>>{});
            if (!ok) return std::move(ok).err();
            return out;
        } else {
            static_assert(field_count<T>() > 0, "uvdb: an aggregate read from a row needs fields");
            static_assert(std::is_default_constructible_v<T>,
                          "uvdb: an aggregate read from a row must be default-constructible; "
                          "give it a uvdb::row_traits specialisation instead");
            T out{};
            auto ok = read_cells(r, tie_fields<field_count<T>()>(out),
                                 std::make_index_sequence<field_count<T>()>{});
            if (!ok) return std::move(ok).err();
            return out;
        }
    }

    static constexpr bool borrows() {
        if constexpr (by_traits || by_cell) {
            return borrows_from_result_v<T>;
        } else if constexpr (by_tuple) {
            return any_borrows<T>(std::make_index_sequence<std::tuple_size_v<T>>{});
        } else {
            return borrows_from_result_v<T> ||
                   any_borrows<fields_tuple_t<T>>(std::make_index_sequence<field_count<T>()>{});
        }
    }
};

/// Several types: one column each, into a std::tuple.
template <class... T>
struct tuple_reader {
    static_assert((is_cell_v<T> && ...),
                  "uvdb: as<A, B, …>() reads one column per type, so each type needs "
                  "uvdb::value_traits; read a struct alone: as<S>()");
    using type = std::tuple<T...>;

    static result<void> check(const result_set& rs) {
        return check_width(rs, sizeof...(T), shape::values, {});
    }
    static result<type> read(const row& r) {
        type out{};
        auto ok = read_cells(r, out, std::index_sequence_for<T...>{});
        if (!ok) return std::move(ok).err();
        return out;
    }
    static constexpr bool borrows() { return (borrows_from_result_v<T> || ...); }
};

template <class... T>
struct pick_reader {
    using type = tuple_reader<T...>;
};
template <class T>
struct pick_reader<T> {
    using type = single_reader<T>;
};
template <class... T>
using reader_t = typename pick_reader<std::remove_cv_t<T>...>::type;

}  // namespace detail

/// The rows of a result_set read as row_value_t<T...>, converted as the loop
/// reaches them (nothing is stored). A cell that does not convert throws
/// uvdb::conversion_exception from the iterator. Borrows the result_set, or
/// owns it when as() was called on a temporary.
template <class... T>
class row_range {
    using reader = detail::reader_t<T...>;

  public:
    using value_type = typename detail::row_value<T...>::type;

    class iterator {
      public:
        // Each dereference makes a new value, so this is an input iterator for
        // the C++17 algorithms and a forward iterator for std::ranges.
        using iterator_concept = std::forward_iterator_tag;
        using iterator_category = std::input_iterator_tag;
        using value_type = row_range::value_type;
        using difference_type = std::ptrdiff_t;
        using reference = value_type;
        using pointer = void;

        iterator() = default;
        iterator(const result_set* rs, std::size_t i) noexcept : rs_(rs), i_(i) {}

        value_type operator*() const {
            auto v = reader::read(row(rs_, i_));
            if (!v) throw conversion_exception(std::move(v).err());
            return std::move(v).value();
        }
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

    iterator begin() const noexcept { return {&set(), 0}; }
    iterator end() const noexcept { return {&set(), set().size()}; }
    std::size_t size() const noexcept { return set().size(); }
    bool empty() const noexcept { return set().empty(); }

  private:
    friend class result_set;
    explicit row_range(const result_set* borrowed) noexcept : borrowed_(borrowed) {}
    explicit row_range(result_set&& owned) noexcept : owned_(std::move(owned)) {}

    const result_set& set() const noexcept { return borrowed_ != nullptr ? *borrowed_ : owned_; }

    const result_set* borrowed_ = nullptr;
    result_set owned_;
};

template <class... T>
row_range<T...> result_set::as() const& {
    if (auto ok = detail::reader_t<T...>::check(*this); !ok)
        throw conversion_exception(std::move(ok).err());
    return row_range<T...>(this);
}

template <class... T>
row_range<T...> result_set::as() && {
    if (auto ok = detail::reader_t<T...>::check(*this); !ok)
        throw conversion_exception(std::move(ok).err());
    return row_range<T...>(std::move(*this));
}

template <class... T>
result<typename detail::row_value<T...>::type> result_set::one() const& {
    using reader = detail::reader_t<T...>;
    if (auto ok = reader::check(*this); !ok) return std::move(ok).err();
    if (size() == 0) return detail::no_rows_error();
    if (size() > 1) return detail::too_many_rows_error("one()", size());
    return reader::read((*this)[0]);
}

template <class... T>
result<typename detail::row_value<T...>::type> result_set::one() && {
    static_assert(!detail::reader_t<T...>::borrows(),
                  "uvdb: one() on a temporary result_set would return views into it that "
                  "dangle at the end of the statement; read std::string, or keep the "
                  "result_set in a variable");
    return static_cast<const result_set&>(*this).one<T...>();
}

template <class... T>
result<std::optional<typename detail::row_value<T...>::type>> result_set::one_or_none() const& {
    using reader = detail::reader_t<T...>;
    using value = typename detail::row_value<T...>::type;
    if (auto ok = reader::check(*this); !ok) return std::move(ok).err();
    if (size() == 0) return std::optional<value>();
    if (size() > 1) return detail::too_many_rows_error("one_or_none()", size());
    auto v = reader::read((*this)[0]);
    if (!v) return std::move(v).err();
    return std::optional<value>(std::move(v).value());
}

template <class... T>
result<std::optional<typename detail::row_value<T...>::type>> result_set::one_or_none() && {
    static_assert(!detail::reader_t<T...>::borrows(),
                  "uvdb: one_or_none() on a temporary result_set would return views into it "
                  "that dangle at the end of the statement; read std::string, or keep the "
                  "result_set in a variable");
    return static_cast<const result_set&>(*this).one_or_none<T...>();
}

template <class... T>
result<std::vector<typename detail::row_value<T...>::type>> result_set::all() const& {
    using reader = detail::reader_t<T...>;
    if (auto ok = reader::check(*this); !ok) return std::move(ok).err();
    std::vector<typename detail::row_value<T...>::type> out;
    out.reserve(size());
    for (std::size_t i = 0, n = size(); i < n; ++i) {
        auto v = reader::read((*this)[i]);
        if (!v) return std::move(v).err();
        out.push_back(std::move(v).value());
    }
    return out;
}

template <class... T>
result<std::vector<typename detail::row_value<T...>::type>> result_set::all() && {
    static_assert(!detail::reader_t<T...>::borrows(),
                  "uvdb: all() on a temporary result_set would return views into it that "
                  "dangle at the end of the statement; read std::string, or keep the "
                  "result_set in a variable");
    return static_cast<const result_set&>(*this).all<T...>();
}

template <class... T>
result<typename detail::row_value<T...>::type> row::try_as() const {
    using reader = detail::reader_t<T...>;
    if (rs_ == nullptr) return error(errc::bad_input, "row: not attached to a result");
    if (auto ok = reader::check(*rs_); !ok) return std::move(ok).err();
    return reader::read(*this);
}

template <class... T>
typename detail::row_value<T...>::type row::as() const {
    auto v = try_as<T...>();
    if (!v) throw conversion_exception(std::move(v).err());
    return std::move(v).value();
}

}  // namespace uvdb
