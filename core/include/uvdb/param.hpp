#pragma once
/// \file
/// Query parameters: values bound to $1, $2, … and sent apart from the SQL
/// text, so data can never become SQL.
///
/// `uvdb::params` holds a statement's parameters and their bytes inline up to
/// a fixed budget (params::inline_count values, params::inline_bytes bytes of
/// text and binary data), so building and binding the usual statement does
/// not touch the heap; beyond the budget it spills to the heap. Drivers read
/// an element through a `param_view`. `uvdb::param` is one owned value: what
/// `param_traits<T>::to_param` returns and what a caller may build alone.

#include <compare>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace uvdb {

/// Binary data (PostgreSQL bytea), owned.
struct bytes {
    std::vector<std::byte> data;

    bytes() = default;
    explicit bytes(std::vector<std::byte> d) : data(std::move(d)) {}
    bytes(const void* p, std::size_t n)
        : data(static_cast<const std::byte*>(p), static_cast<const std::byte*>(p) + n) {}
    friend bool operator==(const bytes&, const bytes&) = default;
};

/// What a parameter is; also spelled `param::kind`.
enum class param_kind : std::uint8_t {
    null,
    boolean,
    int16,
    int32,
    int64,
    float32,
    float64,
    text,
    binary
};

/// Customisation point: specialise to bind your own type, returning a param
/// (usually its text form):
///   template <> struct uvdb::param_traits<money> {
///       static uvdb::param to_param(const money& m) { return m.to_string(); }
///   };
template <class T>
struct param_traits;

class param_view;
class params;

namespace detail {
using std::to_string;
/// Types with a `to_string(const T&)` found by argument-dependent lookup.
template <class T>
concept has_text_form = !std::is_arithmetic_v<T> && requires(const T& t) {
    { to_string(t) } -> std::convertible_to<std::string>;
};
template <class T>
concept has_param_traits = requires(const T& t) {
    param_traits<T>::to_param(t);
};
/// Integers bind as numbers; bool and char are not integers here.
template <class I>
concept param_integer = std::integral<I> && !std::same_as<I, bool> && !std::same_as<I, char>;

/// The kind an integer type binds as: the smallest PostgreSQL integer that
/// holds every value, or text for uint64 (which int8 may not hold).
template <param_integer I>
constexpr param_kind integer_kind() noexcept {
    if constexpr (std::is_signed_v<I> && sizeof(I) <= 2) {
        return param_kind::int16;
    } else if constexpr (sizeof(I) <= 4 && (std::is_signed_v<I> || sizeof(I) < 4)) {
        return param_kind::int32;
    } else if constexpr (std::is_signed_v<I> || sizeof(I) < 8) {
        return param_kind::int64;
    } else {
        return param_kind::text;
    }
}

/// One element of a params: a number in place, or where its bytes are in the
/// container's byte store (offsets, not pointers, so moving the store is a
/// plain copy).
struct param_slot {
    struct extent {
        std::uint32_t off;
        std::uint32_t len;
    };
    union {
        std::int64_t i;
        double d;
        extent x;
    } v;
    param_kind kind;
};
}  // namespace detail

/// One bound parameter. Owns its data, so the caller's objects may die as soon
/// as the call that took the parameters returns.
class param {
  public:
    using kind = param_kind;

    param() noexcept = default;  ///< SQL NULL
    param(std::nullptr_t) noexcept {}
    param(std::nullopt_t) noexcept {}
    param(bool v) noexcept : kind_(kind::boolean) { num_.i = v ? 1 : 0; }

    template <detail::param_integer I>
    param(I v) : kind_(detail::integer_kind<I>()) {  // NOLINT: implicit by design
        if constexpr (detail::integer_kind<I>() == kind::text) {
            text_ = std::to_string(v);
        } else {
            num_.i = static_cast<std::int64_t>(v);
        }
    }
    param(float v) noexcept : kind_(kind::float32) { num_.d = v; }
    param(double v) noexcept : kind_(kind::float64) { num_.d = v; }

    param(std::string v) noexcept : kind_(kind::text), text_(std::move(v)) {}
    param(std::string_view v) : kind_(kind::text), text_(v) {}
    param(const char* v) : kind_(v ? kind::text : kind::null), text_(v ? v : "") {}
    param(bytes v) noexcept : kind_(kind::binary), bin_(std::move(v.data)) {}
    param(std::span<const std::byte> v) : kind_(kind::binary), bin_(v.begin(), v.end()) {}

    template <class T>
    param(const std::optional<T>& v) : param(v ? param(*v) : param()) {}  // NOLINT

    /// Any type with a param_traits specialisation.
    template <class T>
    requires requires(const T& t) {
        { param_traits<T>::to_param(t) } -> std::convertible_to<param>;
    }
    param(const T& v) : param(param_traits<T>::to_param(v)) {}  // NOLINT

    /// Any type with a `to_string` found by argument-dependent lookup: sent as text.
    template <detail::has_text_form T>
    requires(!detail::has_param_traits<T>) param(const T& v) : kind_(kind::text) {  // NOLINT
        using std::to_string;
        text_ = to_string(v);
    }

    /// An owned copy of an element of a params.
    explicit param(param_view v);

    kind type() const noexcept { return kind_; }
    bool is_null() const noexcept { return kind_ == kind::null; }
    bool as_bool() const noexcept { return num_.i != 0; }
    std::int64_t as_int() const noexcept { return num_.i; }
    double as_double() const noexcept { return num_.d; }
    const std::string& as_text() const noexcept { return text_; }
    const std::vector<std::byte>& as_bytes() const noexcept { return bin_; }

  private:
    kind kind_ = kind::null;
    union {
        std::int64_t i;
        double d;
    } num_{0};
    std::string text_;
    std::vector<std::byte> bin_;
};

/// Read access to one element of a params, with param's accessors. Valid
/// while the params it came from is neither changed nor destroyed. Which
/// accessor applies follows type(): as_bool for boolean, as_int for the
/// integers, as_double for the floats, as_text/text_c_str for text, as_bytes
/// for binary.
class param_view {
  public:
    using kind = param_kind;

    kind type() const noexcept { return s_->kind; }
    bool is_null() const noexcept { return s_->kind == kind::null; }
    bool as_bool() const noexcept { return s_->v.i != 0; }
    std::int64_t as_int() const noexcept { return s_->v.i; }
    double as_double() const noexcept { return s_->v.d; }
    std::string_view as_text() const noexcept { return {base_ + s_->v.x.off, s_->v.x.len}; }
    /// The text followed by a NUL, for APIs that read C strings (libpq's text
    /// format). Text holding a NUL itself reads short there.
    const char* text_c_str() const noexcept { return base_ + s_->v.x.off; }
    /// Never a null pointer, even when empty.
    std::span<const std::byte> as_bytes() const noexcept {
        return {reinterpret_cast<const std::byte*>(base_ + s_->v.x.off), s_->v.x.len};
    }

    /// Same kind and same value (text and binary compare their bytes).
    friend bool operator==(const param_view& a, const param_view& b) noexcept;

  private:
    friend class params;
    param_view(const detail::param_slot* s, const char* base) noexcept : s_(s), base_(base) {}

    const detail::param_slot* s_;
    const char* base_;
};

inline param::param(param_view v) : kind_(v.type()) {
    switch (kind_) {
        case kind::null:
            break;
        case kind::boolean:
        case kind::int16:
        case kind::int32:
        case kind::int64:
            num_.i = v.as_int();
            break;
        case kind::float32:
        case kind::float64:
            num_.d = v.as_double();
            break;
        case kind::text:
            text_.assign(v.as_text());
            break;
        case kind::binary:
            bin_.assign(v.as_bytes().begin(), v.as_bytes().end());
            break;
    }
}

namespace detail {
/// What params' variadic constructor and push_back take: whatever makes a
/// param, or an element of another params.
template <class T>
concept bindable =
    !std::same_as<std::remove_cvref_t<T>, params> &&
    (std::same_as<std::remove_cvref_t<T>, param_view> || std::constructible_from<param, T>);
}  // namespace detail

/// The parameters of one statement, in order ($1 is p[0]).
///
/// Layout: a small header, then room for inline_count slots (16 bytes each: a
/// number in place, or the offset and length of text/binary data) and an
/// inline byte store of inline_bytes. Text is stored with a trailing NUL so
/// drivers can hand libpq a C string without a copy. Past either budget that
/// part moves to the heap (one allocation, doubling as it grows), the other
/// part stays where it is. Moving copies only the used part of the inline
/// storage, or steals the heap blocks; it never allocates and never throws.
class params {
    using slot = detail::param_slot;

  public:
    /// Parameters held without allocating. Eight covers the statements a
    /// service mostly runs (a key, a few columns of a row).
    static constexpr std::size_t inline_count = 8;
    /// Text and binary bytes held without allocating (each text also takes a
    /// NUL). 224 holds, say, a UUID, an e-mail address, a name and an ISO
    /// timestamp as text, and makes sizeof(params) 384.
    static constexpr std::size_t inline_bytes = 224;

    using value_type = param_view;
    using reference = param_view;
    using const_reference = param_view;
    using size_type = std::size_t;
    using difference_type = std::ptrdiff_t;

    /// A random-access iterator whose elements are param_views.
    class const_iterator {
      public:
        using iterator_concept = std::random_access_iterator_tag;
        using iterator_category = std::input_iterator_tag;  // it yields values, not references
        using value_type = param_view;
        using difference_type = std::ptrdiff_t;
        using reference = param_view;
        using pointer = void;

        const_iterator() noexcept = default;
        param_view operator*() const noexcept { return {s_, base_}; }
        param_view operator[](difference_type n) const noexcept { return {s_ + n, base_}; }
        const_iterator& operator++() noexcept {
            ++s_;
            return *this;
        }
        const_iterator operator++(int) noexcept {
            auto old = *this;
            ++s_;
            return old;
        }
        const_iterator& operator--() noexcept {
            --s_;
            return *this;
        }
        const_iterator operator--(int) noexcept {
            auto old = *this;
            --s_;
            return old;
        }
        const_iterator& operator+=(difference_type n) noexcept {
            s_ += n;
            return *this;
        }
        const_iterator& operator-=(difference_type n) noexcept {
            s_ -= n;
            return *this;
        }
        friend const_iterator operator+(const_iterator i, difference_type n) noexcept {
            return i += n;
        }
        friend const_iterator operator+(difference_type n, const_iterator i) noexcept {
            return i += n;
        }
        friend const_iterator operator-(const_iterator i, difference_type n) noexcept {
            return i -= n;
        }
        friend difference_type operator-(const const_iterator& a,
                                         const const_iterator& b) noexcept {
            return a.s_ - b.s_;
        }
        friend bool operator==(const const_iterator& a, const const_iterator& b) noexcept {
            return a.s_ == b.s_;
        }
        friend std::strong_ordering operator<=>(const const_iterator& a,
                                                const const_iterator& b) noexcept {
            return a.s_ <=> b.s_;
        }

      private:
        friend class params;
        const_iterator(const slot* s, const char* base) noexcept : s_(s), base_(base) {}

        const slot* s_ = nullptr;
        const char* base_ = nullptr;
    };
    using iterator = const_iterator;

    params() noexcept {}

    /// Builds the parameters in place from values: `uvdb::params(42, "x",
    /// std::nullopt)`. Built-in types are written straight into the storage,
    /// with no temporary param; other types go through param (param_traits,
    /// to_string).
    template <class... Ts>
    requires(sizeof...(Ts) > 0 && (detail::bindable<Ts> && ...)) explicit params(Ts&&... values) {
        if constexpr (sizeof...(Ts) > inline_count) reserve(sizeof...(Ts));
        const std::size_t need = (data_size(values) + ...);
        if (need > inline_bytes) reserve_bytes(need);
        (append(std::forward<Ts>(values)), ...);
    }
    /// `params{1, "x"}`: each element goes through a param first.
    params(std::initializer_list<param> values);

    params(const params& o);
    params(params&& o) noexcept { take(o); }
    params& operator=(const params& o);
    params& operator=(params&& o) noexcept {
        if (this != &o) {
            release();
            take(o);
        }
        return *this;
    }
    ~params() { release(); }

    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    /// Parameters it holds before it allocates (again).
    std::size_t capacity() const noexcept { return slot_cap_; }
    /// Text and binary bytes (NULs included) it holds before it allocates (again).
    std::size_t byte_capacity() const noexcept { return byte_cap_; }
    /// Text and binary bytes in use, NULs included.
    std::size_t bytes_used() const noexcept { return used_; }
    /// Whether anything spilled to the heap.
    bool spilled() const noexcept { return heap_slots_ != nullptr || heap_bytes_ != nullptr; }

    /// Unchecked, as std::vector's.
    param_view operator[](std::size_t i) const noexcept { return {slots() + i, store()}; }
    /// Throws std::out_of_range past the end.
    param_view at(std::size_t i) const;
    param_view front() const noexcept { return (*this)[0]; }
    param_view back() const noexcept { return (*this)[size_ - 1]; }
    const_iterator begin() const noexcept { return {slots(), store()}; }
    const_iterator end() const noexcept { return {slots() + size_, store()}; }

    /// Removes every element and keeps the storage, as std::vector's.
    void clear() noexcept {
        size_ = 0;
        used_ = 0;
    }
    /// Room for `n` parameters.
    void reserve(std::size_t n) {
        if (n > slot_cap_) grow_slots(n);
    }
    /// Room for `n` bytes of text and binary data (count one more per text for its NUL).
    void reserve_bytes(std::size_t n) {
        if (n > byte_cap_) grow_bytes(n);
    }
    /// Grows with NULLs or drops from the end.
    void resize(std::size_t n);

    /// Appends one value, written in place as the variadic constructor does.
    template <detail::bindable T>
    void push_back(T&& v) {
        append(std::forward<T>(v));
    }
    void push_back(const param& v) { append(v); }
    /// push_back, or with several arguments a param built from them.
    template <class... A>
    param_view emplace_back(A&&... a) {
        if constexpr (sizeof...(A) == 1 && (detail::bindable<A> && ...)) {
            (append(std::forward<A>(a)), ...);
        } else {
            append(param(std::forward<A>(a)...));
        }
        return back();
    }

    /// Same values in the same order.
    friend bool operator==(const params& a, const params& b) noexcept;

  private:
    const slot* slots() const noexcept { return heap_slots_ ? heap_slots_ : inline_slots_; }
    slot* slots() noexcept { return heap_slots_ ? heap_slots_ : inline_slots_; }
    const char* store() const noexcept { return heap_bytes_ ? heap_bytes_ : inline_bytes_; }
    char* store() noexcept { return heap_bytes_ ? heap_bytes_ : inline_bytes_; }

    void grow_slots(std::size_t need);
    void grow_bytes(std::size_t need);
    /// Takes o's contents and leaves o empty; this must hold no heap block.
    void take(params& o) noexcept;
    /// Frees the heap blocks and goes back to the inline storage, empty.
    void release() noexcept;

    slot& new_slot(param_kind k) {
        if (size_ == slot_cap_) grow_slots(std::size_t{size_} + 1);
        slot& s = slots()[size_++];
        s.kind = k;
        s.v.i = 0;
        return s;
    }
    void add_number(param_kind k, std::int64_t i) { new_slot(k).v.i = i; }
    void add_float(param_kind k, double d) { new_slot(k).v.d = d; }
    /// Copies `n` bytes in, plus a NUL for text.
    void add_data(param_kind k, const void* p, std::size_t n);
    void add_uint64(std::uint64_t v);
    void add_param(const param& v);
    void add_view(param_view v);

    /// Inline-budget estimate of a value's bytes, so one reservation covers
    /// the variadic constructor's values (0 where it cannot tell cheaply).
    template <class T>
    static std::size_t data_size(const T& v) noexcept {
        using U = std::remove_cvref_t<T>;
        if constexpr (std::same_as<U, std::string> || std::same_as<U, std::string_view>) {
            return v.size() + 1;
        } else if constexpr (std::same_as<U, uvdb::bytes>) {
            return v.data.size();
        } else {
            return 0;
        }
    }

    template <class T>
    void append(T&& v) {
        using U = std::remove_cvref_t<T>;
        if constexpr (std::same_as<U, param_view>) {
            add_view(v);
        } else if constexpr (std::same_as<U, param>) {
            add_param(v);
        } else if constexpr (std::same_as<U, std::nullptr_t> || std::same_as<U, std::nullopt_t>) {
            new_slot(param_kind::null);
        } else if constexpr (std::same_as<U, bool>) {
            add_number(param_kind::boolean, v ? 1 : 0);
        } else if constexpr (detail::param_integer<U>) {
            if constexpr (detail::integer_kind<U>() == param_kind::text) {
                add_uint64(v);
            } else {
                add_number(detail::integer_kind<U>(), static_cast<std::int64_t>(v));
            }
        } else if constexpr (std::same_as<U, float>) {
            add_float(param_kind::float32, v);
        } else if constexpr (std::same_as<U, double>) {
            add_float(param_kind::float64, v);
        } else if constexpr (std::same_as<U, std::string> || std::same_as<U, std::string_view>) {
            add_data(param_kind::text, v.data(), v.size());
        } else if constexpr (std::is_convertible_v<T, const char*> &&
                             !detail::has_param_traits<U>) {
            // A C string; a null pointer is SQL NULL, as for param.
            const char* s = v;
            if (s == nullptr) {
                new_slot(param_kind::null);
            } else {
                add_data(param_kind::text, s, std::char_traits<char>::length(s));
            }
        } else if constexpr (std::same_as<U, uvdb::bytes>) {
            add_data(param_kind::binary, v.data.data(), v.data.size());
        } else if constexpr (std::is_convertible_v<const U&, std::span<const std::byte>>) {
            const std::span<const std::byte> b = v;
            add_data(param_kind::binary, b.data(), b.size());
        } else if constexpr (is_optional<U>::value) {
            if (v) {
                append(*std::forward<T>(v));
            } else {
                new_slot(param_kind::null);
            }
        } else {
            // param_traits, to_string and conversions: through a param.
            add_param(param(std::forward<T>(v)));
        }
    }

    template <class T>
    struct is_optional : std::false_type {};
    template <class T>
    struct is_optional<std::optional<T>> : std::true_type {};

    std::uint32_t size_ = 0;
    std::uint32_t slot_cap_ = inline_count;
    std::uint32_t used_ = 0;
    std::uint32_t byte_cap_ = inline_bytes;
    slot* heap_slots_ = nullptr;  // null: the slots are inline_slots_
    char* heap_bytes_ = nullptr;  // null: the bytes are inline_bytes_
    // Not initialised: only the first size_ slots and used_ bytes are ever read.
    slot inline_slots_[inline_count];
    char inline_bytes_[inline_bytes];
};

/// Builds params from a list of values: `uvdb::make_params(42, "x", std::nullopt)`.
/// The same as params' variadic constructor: no allocation while the values
/// fit the inline budget.
template <class... Ts>
params make_params(Ts&&... values) {
    if constexpr (sizeof...(Ts) == 0) {
        return params();
    } else {
        return params(std::forward<Ts>(values)...);
    }
}

}  // namespace uvdb
