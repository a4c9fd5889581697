#pragma once
/// \file
/// `uvdb::intrusive_ref<T>`: an owning handle to an object that counts its own
/// references, for a driver's per-connection state. The application's
/// connection object holds one reference and every deferred step, offload
/// completion or watcher dispatch holds another while it runs, so the state
/// outlives a close() made from inside one of its own callbacks. All of that
/// happens on the loop thread, so the count can be a plain int and needs no
/// control block (which std::shared_ptr would add, with atomic counts).

#include <utility>

namespace uvdb {

/// Holds one reference to a `T`, which provides `add_ref()` and `release()`
/// (release frees the object when the count reaches zero). Copying adds a
/// reference, destroying or reassigning drops one; a moved-from or
/// default-made handle holds none. Not thread-safe: one thread (the loop's)
/// owns the object and every handle to it.
template <class T>
class intrusive_ref {
  public:
    intrusive_ref() noexcept = default;
    /// Adds a reference to `p` (may be null); a new object starts at zero,
    /// so the first handle made from it owns it.
    explicit intrusive_ref(T* p) noexcept : p_(p) {
        if (p_ != nullptr) p_->add_ref();
    }
    intrusive_ref(const intrusive_ref& o) noexcept : intrusive_ref(o.p_) {}
    intrusive_ref(intrusive_ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
    intrusive_ref& operator=(intrusive_ref o) noexcept {
        std::swap(p_, o.p_);
        return *this;
    }
    ~intrusive_ref() {
        if (p_ != nullptr) p_->release();
    }

    T* get() const noexcept { return p_; }
    T* operator->() const noexcept { return p_; }
    T& operator*() const noexcept { return *p_; }
    explicit operator bool() const noexcept { return p_ != nullptr; }

  private:
    T* p_ = nullptr;
};

}  // namespace uvdb
