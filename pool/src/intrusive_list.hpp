#pragma once
/// \file
/// A minimal circular doubly linked intrusive list: O(1) push, pop and erase
/// from anywhere, no allocation. An element derives from list_node and sits
/// in at most one list at a time.

#include <cassert>
#include <cstddef>

namespace uvdb::detail {

struct list_node {
    list_node* prev = nullptr;
    list_node* next = nullptr;
    bool linked() const noexcept { return next != nullptr; }
};

template <class T>
class intrusive_list {
  public:
    intrusive_list() noexcept { head_.prev = head_.next = &head_; }
    intrusive_list(const intrusive_list&) = delete;
    intrusive_list& operator=(const intrusive_list&) = delete;

    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }

    T& front() noexcept {
        assert(!empty());
        return *static_cast<T*>(head_.next);
    }
    T& back() noexcept {
        assert(!empty());
        return *static_cast<T*>(head_.prev);
    }
    const T& front() const noexcept { return *static_cast<const T*>(head_.next); }

    /// The i-th element from the front (O(i)), nullptr when there are fewer.
    T* nth(std::size_t i) noexcept {
        if (i >= size_) return nullptr;
        list_node* n = head_.next;
        while (i-- != 0) n = n->next;
        return static_cast<T*>(n);
    }

    void push_back(T& item) noexcept { link_before(&head_, &item); }
    void push_front(T& item) noexcept { link_before(head_.next, &item); }

    void erase(T& item) noexcept {
        list_node* n = &item;
        assert(n->linked());
        n->prev->next = n->next;
        n->next->prev = n->prev;
        n->prev = n->next = nullptr;
        --size_;
    }

    /// Calls fn(T&) for each element; fn must not erase other elements.
    template <class F>
    void for_each(F&& fn) {
        for (list_node* n = head_.next; n != &head_;) {
            list_node* next = n->next;
            fn(*static_cast<T*>(n));
            n = next;
        }
    }

  private:
    void link_before(list_node* pos, list_node* n) noexcept {
        assert(!n->linked());
        n->next = pos;
        n->prev = pos->prev;
        pos->prev->next = n;
        pos->prev = n;
        ++size_;
    }

    list_node head_;
    std::size_t size_ = 0;
};

}  // namespace uvdb::detail
