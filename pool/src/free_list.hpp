#pragma once
/// \file
/// `free_list<T>`: records the pool reuses instead of allocating one per
/// operation (connection slots, waiters, query operations). A record is
/// allocated once, the first time no free one is left, and lives as long as
/// the list; steady state allocates nothing. Records keep their address,
/// since callbacks in flight point at them. `T` provides `T* next_free`.

#include <cstddef>
#include <memory>
#include <vector>

namespace uvdb::detail {

template <class T>
class free_list {
  public:
    free_list() = default;
    free_list(const free_list&) = delete;
    free_list& operator=(const free_list&) = delete;

    /// A free record (as put() left it), or a new default-made one.
    T* get() {
        if (T* t = head_) {
            head_ = t->next_free;
            t->next_free = nullptr;
            return t;
        }
        store_.push_back(std::make_unique<T>());
        return store_.back().get();
    }

    /// Makes `t` available again; the caller has cleared what must not linger.
    void put(T* t) noexcept {
        t->next_free = head_;
        head_ = t;
    }

    /// Calls fn(T&) on every record ever made, free ones included.
    template <class F>
    void for_each(F&& fn) {
        for (auto& t : store_) fn(*t);
    }
    template <class F>
    void for_each(F&& fn) const {
        for (const auto& t : store_) fn(static_cast<const T&>(*t));
    }

    /// Records ever made.
    std::size_t size() const noexcept { return store_.size(); }

  private:
    std::vector<std::unique_ptr<T>> store_;
    T* head_ = nullptr;
};

}  // namespace uvdb::detail
