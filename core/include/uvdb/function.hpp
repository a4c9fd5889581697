#pragma once
/// \file
/// `uvdb::unique_function`: a move-only callable used for every callback.
///
/// std::function needs copyable targets and allocates for anything larger than
/// two pointers; a completion callback usually captures a move-only lease or
/// another callback, so uvdb uses its own move-only wrapper with a 48-byte
/// inline buffer. Targets that fit (and are nothrow-movable) never allocate.

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace uvdb {

template <class Signature>
class unique_function;

template <class R, class... Args>
class unique_function<R(Args...)> {
    static constexpr std::size_t inline_size = 48;
    static constexpr std::size_t inline_align = alignof(std::max_align_t);

    struct ops {
        R (*invoke)(void* self, Args&&... args);
        // Move-constructs into dst from src and destroys src (nullptr: heap target, swap pointer).
        void (*relocate)(void* dst, void* src) noexcept;
        void (*destroy)(void* self) noexcept;
    };

    template <class F>
    static constexpr bool fits_inline =
        sizeof(F) <= inline_size &&
        alignof(F) <= inline_align&& std::is_nothrow_move_constructible_v<F>;

    template <class F>
    static const ops* ops_for() noexcept {
        if constexpr (fits_inline<F>) {
            static constexpr ops table{
                [](void* self, Args&&... args) -> R {
                    return (*static_cast<F*>(self))(std::forward<Args>(args)...);
                },
                [](void* dst, void* src) noexcept {
                    ::new (dst) F(std::move(*static_cast<F*>(src)));
                    static_cast<F*>(src)->~F();
                },
                [](void* self) noexcept { static_cast<F*>(self)->~F(); },
            };
            return &table;
        } else {
            static constexpr ops table{
                [](void* self, Args&&... args) -> R {
                    return (**static_cast<F**>(self))(std::forward<Args>(args)...);
                },
                [](void* dst, void* src) noexcept {
                    *static_cast<F**>(dst) = *static_cast<F**>(src);
                },
                [](void* self) noexcept { delete *static_cast<F**>(self); },
            };
            return &table;
        }
    }

  public:
    unique_function() noexcept = default;
    unique_function(std::nullptr_t) noexcept {}

    template <class F, class D = std::decay_t<F>,
              class = std::enable_if_t<!std::is_same_v<D, unique_function> &&
                                       std::is_invocable_r_v<R, D&, Args...>>>
    unique_function(F&& f) {  // NOLINT(google-explicit-constructor): callables convert implicitly
        if constexpr (std::is_pointer_v<D> || std::is_member_pointer_v<D>) {
            if (f == nullptr) return;
        }
        if constexpr (fits_inline<D>) {
            ::new (static_cast<void*>(buf_)) D(std::forward<F>(f));
        } else {
            *reinterpret_cast<D**>(buf_) = new D(std::forward<F>(f));
        }
        ops_ = ops_for<D>();
    }

    unique_function(unique_function&& other) noexcept { take(other); }

    unique_function& operator=(unique_function&& other) noexcept {
        if (this != &other) {
            reset();
            take(other);
        }
        return *this;
    }

    unique_function& operator=(std::nullptr_t) noexcept {
        reset();
        return *this;
    }

    unique_function(const unique_function&) = delete;
    unique_function& operator=(const unique_function&) = delete;

    ~unique_function() { reset(); }

    explicit operator bool() const noexcept { return ops_ != nullptr; }

    /// Calls the target. Calling an empty unique_function is undefined.
    R operator()(Args... args) { return ops_->invoke(buf_, std::forward<Args>(args)...); }

  private:
    void reset() noexcept {
        if (ops_ != nullptr) {
            ops_->destroy(buf_);
            ops_ = nullptr;
        }
    }
    void take(unique_function& other) noexcept {
        if (other.ops_ != nullptr) {
            other.ops_->relocate(buf_, other.buf_);
            ops_ = other.ops_;
            other.ops_ = nullptr;
        }
    }

    alignas(inline_align) unsigned char buf_[inline_size];
    const ops* ops_ = nullptr;
};

}  // namespace uvdb
