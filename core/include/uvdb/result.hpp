#pragma once
/// \file
/// `uvdb::result<T>`: a value or an `uvdb::error`, as every callback receives it.
///
/// It speaks `std::expected`'s vocabulary (C++23; uvdb targets C++20):
/// `has_value()`, `error()`, `value()` (throws `uvdb::bad_result_access`),
/// `value_or`, `and_then`, `transform`, `or_else`, and unchecked `*`/`->`.
/// `ok()` and `err()` are the older spellings of `has_value()` and `error()`
/// and stay.
///
/// ```cpp
/// uvdb::result<int> n = count(...);
/// int v = n.value_or(0);
/// auto text = n.transform([](int i) { return std::to_string(i); });   // result<std::string>
/// uvdb::result<void> done = n;                                        // keeps only the error
/// ```

#include <cassert>
#include <exception>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <uvdb/error.hpp>
#include <variant>

namespace uvdb {

/// Thrown by `result<T>::value()` when the result holds an error. Carries that
/// error; what() is its to_string().
class bad_result_access : public std::exception {
  public:
    explicit bad_result_access(uvdb::error e) : error_(std::move(e)), what_(error_.to_string()) {}

    const char* what() const noexcept override { return what_.c_str(); }
    const uvdb::error& error() const noexcept { return error_; }

  private:
    uvdb::error error_;
    std::string what_;
};

/// Success with no value: what `uvdb::ok()` returns, and what awaiting a
/// `result<void>` operation gives inside a `task<result<…>>` (see task.hpp).
/// `result<void>` is built from it, so `co_return uvdb::ok();` ends a
/// `task<result<void>>` successfully.
struct ok_t {
    friend bool operator==(ok_t, ok_t) noexcept { return true; }
};

/// Success for a `result<void>`: `co_return uvdb::ok();`, `return uvdb::ok();`.
constexpr ok_t ok() noexcept { return {}; }

template <class T>
class result;

namespace detail {
template <class T>
struct is_result : std::false_type {};
template <class T>
struct is_result<result<T>> : std::true_type {};
template <class T>
inline constexpr bool is_result_v = is_result<std::remove_cvref_t<T>>::value;
}  // namespace detail

/// A value or an error. Implicitly built from either.
template <class T>
class [[nodiscard]] result {
    static_assert(!std::is_reference_v<T>, "result<T&> is not supported");

  public:
    using value_type = T;
    using error_type = uvdb::error;

    result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
    result(uvdb::error err)
        : v_(std::in_place_index<1>, std::move(err)) {}  // NOLINT: implicit by design

    bool has_value() const noexcept { return v_.index() == 0; }
    /// The older spelling of has_value().
    bool ok() const noexcept { return has_value(); }
    explicit operator bool() const noexcept { return has_value(); }

    /// The value; throws bad_result_access (carrying the error) when there is none.
    T& value() & {
        check();
        return *std::get_if<0>(&v_);
    }
    const T& value() const& {
        check();
        return *std::get_if<0>(&v_);
    }
    T&& value() && {
        check();
        return std::move(*std::get_if<0>(&v_));
    }

    /// The value, unchecked (the caller knows has_value()), like std::expected.
    T& operator*() & noexcept {
        assert(has_value());
        return *std::get_if<0>(&v_);
    }
    const T& operator*() const& noexcept {
        assert(has_value());
        return *std::get_if<0>(&v_);
    }
    T&& operator*() && noexcept {
        assert(has_value());
        return std::move(*std::get_if<0>(&v_));
    }
    T* operator->() noexcept { return &**this; }
    const T* operator->() const noexcept { return &**this; }

    /// The error; only valid when !has_value().
    const uvdb::error& error() const& noexcept {
        assert(!has_value());
        return *std::get_if<1>(&v_);
    }
    uvdb::error&& error() && noexcept {
        assert(!has_value());
        return std::move(*std::get_if<1>(&v_));
    }
    /// The older spelling of error().
    const uvdb::error& err() const& noexcept { return error(); }
    uvdb::error&& err() && noexcept { return std::move(*this).error(); }

    /// The value, or `fallback` converted to T when there is an error.
    template <class U>
    T value_or(U&& fallback) const& {
        return has_value() ? **this : static_cast<T>(std::forward<U>(fallback));
    }
    template <class U>
    T value_or(U&& fallback) && {
        return has_value() ? std::move(**this) : static_cast<T>(std::forward<U>(fallback));
    }

    /// f(value) -> result<U>; an error passes through unchanged as result<U>.
    template <class F>
    auto and_then(F&& f) & {
        return and_then_impl(*this, std::forward<F>(f));
    }
    template <class F>
    auto and_then(F&& f) const& {
        return and_then_impl(*this, std::forward<F>(f));
    }
    template <class F>
    auto and_then(F&& f) && {
        return and_then_impl(std::move(*this), std::forward<F>(f));
    }

    /// f(value) -> U gives result<U> (result<void> when f returns void); an
    /// error passes through unchanged.
    template <class F>
    auto transform(F&& f) & {
        return transform_impl(*this, std::forward<F>(f));
    }
    template <class F>
    auto transform(F&& f) const& {
        return transform_impl(*this, std::forward<F>(f));
    }
    template <class F>
    auto transform(F&& f) && {
        return transform_impl(std::move(*this), std::forward<F>(f));
    }

    /// f(error) -> result<T> (recover or replace the error); a value passes
    /// through unchanged.
    template <class F>
    result or_else(F&& f) const& {
        if (has_value()) return *this;
        return std::invoke(std::forward<F>(f), error());
    }
    template <class F>
    result or_else(F&& f) && {
        if (has_value()) return std::move(*this);
        return std::invoke(std::forward<F>(f), std::move(*this).error());
    }

  private:
    void check() const {
        if (!has_value()) throw bad_result_access(*std::get_if<1>(&v_));
    }

    template <class Self, class F>
    static auto and_then_impl(Self&& self, F&& f) {
        using R = std::remove_cvref_t<std::invoke_result_t<F, decltype(*std::forward<Self>(self))>>;
        static_assert(detail::is_result_v<R>, "and_then: the function must return a uvdb::result");
        if (!self.has_value()) return R(std::forward<Self>(self).error());
        return std::invoke(std::forward<F>(f), *std::forward<Self>(self));
    }

    template <class Self, class F>
    static auto transform_impl(Self&& self, F&& f) {
        using U = std::remove_cv_t<std::invoke_result_t<F, decltype(*std::forward<Self>(self))>>;
        if (!self.has_value()) return result<U>(std::forward<Self>(self).error());
        if constexpr (std::is_void_v<U>) {
            std::invoke(std::forward<F>(f), *std::forward<Self>(self));
            return result<U>();
        } else {
            return result<U>(std::invoke(std::forward<F>(f), *std::forward<Self>(self)));
        }
    }

    std::variant<T, uvdb::error> v_;
};

/// Success or an error, for operations with no value. Default-constructed (or
/// built from `uvdb::ok()`) it is success.
template <>
class [[nodiscard]] result<void> {
  public:
    using value_type = void;
    using error_type = uvdb::error;

    result() = default;
    result(ok_t) noexcept {}                                       // NOLINT: implicit by design
    result(uvdb::error err) : err_(std::move(err)), ok_(false) {}  // NOLINT: implicit by design
    /// Keeps the error of any result and drops its value.
    template <class U>
    result(const result<U>& other) : ok_(other.has_value()) {  // NOLINT: implicit by design
        if (!ok_) err_ = other.error();
    }
    template <class U>
    result(result<U>&& other) : ok_(other.has_value()) {  // NOLINT: implicit by design
        if (!ok_) err_ = std::move(other).error();
    }

    bool has_value() const noexcept { return ok_; }
    /// The older spelling of has_value().
    bool ok() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }

    /// Throws bad_result_access (carrying the error) when there is an error.
    void value() const {
        if (!ok_) throw bad_result_access(err_);
    }
    /// Unchecked, like std::expected<void, E>::operator*.
    void operator*() const noexcept { assert(ok_); }

    /// The error; only valid when !has_value().
    const uvdb::error& error() const& noexcept {
        assert(!ok_);
        return err_;
    }
    uvdb::error&& error() && noexcept {
        assert(!ok_);
        return std::move(err_);
    }
    /// The older spelling of error().
    const uvdb::error& err() const& noexcept { return error(); }
    uvdb::error&& err() && noexcept { return std::move(*this).error(); }

    /// f() -> result<U>; an error passes through unchanged as result<U>.
    template <class F>
    auto and_then(F&& f) const& {
        using R = std::remove_cvref_t<std::invoke_result_t<F>>;
        static_assert(detail::is_result_v<R>, "and_then: the function must return a uvdb::result");
        if (!ok_) return R(err_);
        return std::invoke(std::forward<F>(f));
    }
    template <class F>
    auto and_then(F&& f) && {
        using R = std::remove_cvref_t<std::invoke_result_t<F>>;
        static_assert(detail::is_result_v<R>, "and_then: the function must return a uvdb::result");
        if (!ok_) return R(std::move(err_));
        return std::invoke(std::forward<F>(f));
    }

    /// f() -> U gives result<U> (result<void> when f returns void).
    template <class F>
    auto transform(F&& f) const& {
        return transform_impl(*this, std::forward<F>(f));
    }
    template <class F>
    auto transform(F&& f) && {
        return transform_impl(std::move(*this), std::forward<F>(f));
    }

    /// f(error) -> result<void>; success passes through.
    template <class F>
    result or_else(F&& f) const& {
        if (ok_) return {};
        return std::invoke(std::forward<F>(f), err_);
    }
    template <class F>
    result or_else(F&& f) && {
        if (ok_) return {};
        return std::invoke(std::forward<F>(f), std::move(err_));
    }

  private:
    template <class Self, class F>
    static auto transform_impl(Self&& self, F&& f) {
        using U = std::remove_cv_t<std::invoke_result_t<F>>;
        if (!self.ok_) return result<U>(std::forward<Self>(self).err_);
        if constexpr (std::is_void_v<U>) {
            std::invoke(std::forward<F>(f));
            return result<U>();
        } else {
            return result<U>(std::invoke(std::forward<F>(f)));
        }
    }

    uvdb::error err_;
    bool ok_ = true;
};

}  // namespace uvdb
