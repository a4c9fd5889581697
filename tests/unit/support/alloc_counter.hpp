#pragma once
/// \file
/// Counts heap allocations made by the calling thread while an alloc_scope
/// lives. The unit suite replaces the global operator new for this (see
/// alloc_counter.cpp); outside a scope the replacement only checks a
/// thread-local flag, so other tests are not affected.

#include <cstddef>

namespace uvdb::test {

class alloc_scope {
  public:
    alloc_scope() noexcept;
    ~alloc_scope();
    alloc_scope(const alloc_scope&) = delete;
    alloc_scope& operator=(const alloc_scope&) = delete;

    /// Allocations by this thread since the scope began.
    std::size_t count() const noexcept;

  private:
    std::size_t start_;
};

}  // namespace uvdb::test
