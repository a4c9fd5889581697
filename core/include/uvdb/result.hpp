#pragma once
/// \file
/// `uvdb::result<T>`: a value or an `uvdb::error`, as every callback receives it
/// (std::expected arrives with C++23; uvdb targets C++20).

#include <cassert>
#include <utility>
#include <uvdb/error.hpp>
#include <variant>

namespace uvdb {

template <class T>
class [[nodiscard]] result {
  public:
    result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
    result(error err) : v_(std::in_place_index<1>, std::move(err)) {}  // NOLINT: implicit by design

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    /// The value; only valid when ok().
    T& value() & {
        assert(ok());
        return *std::get_if<0>(&v_);
    }
    const T& value() const& {
        assert(ok());
        return *std::get_if<0>(&v_);
    }
    T&& value() && {
        assert(ok());
        return std::move(*std::get_if<0>(&v_));
    }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    /// The error; only valid when !ok().
    const error& err() const& {
        assert(!ok());
        return *std::get_if<1>(&v_);
    }
    error&& err() && {
        assert(!ok());
        return std::move(*std::get_if<1>(&v_));
    }

  private:
    std::variant<T, error> v_;
};

/// Success or an error, for operations with no value.
template <>
class [[nodiscard]] result<void> {
  public:
    result() = default;
    result(error err) : err_(std::move(err)), ok_(false) {}  // NOLINT: implicit by design

    bool ok() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    const error& err() const& {
        assert(!ok_);
        return err_;
    }
    error&& err() && {
        assert(!ok_);
        return std::move(err_);
    }

  private:
    error err_;
    bool ok_ = true;
};

}  // namespace uvdb
