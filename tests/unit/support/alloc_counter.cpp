// The unit suite's replacement of the global operator new: malloc plus a
// per-thread count while an alloc_scope is open. Per thread, because the
// loop's offload threads (and anything a previous test left running) must
// not count against the thread under test.

#include "unit/support/alloc_counter.hpp"

#include <cstdlib>
#include <new>

namespace {

// Constant-initialised: usable before any dynamic initialisation, as
// operator new may be called then.
thread_local std::size_t t_allocations = 0;
thread_local int t_scopes = 0;

void* allocate(std::size_t n) {
    if (t_scopes > 0) ++t_allocations;
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}

}  // namespace

// Every form that pairs with the deletes below is replaced, the nothrow ones
// too (std::get_temporary_buffer uses them): a sanitizer's own operator new
// freed by this free() is an alloc-dealloc mismatch to AddressSanitizer.
void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    if (t_scopes > 0) ++t_allocations;
    return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& tag) noexcept {
    return operator new(n, tag);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace uvdb::test {

alloc_scope::alloc_scope() noexcept : start_(t_allocations) { ++t_scopes; }
alloc_scope::~alloc_scope() { --t_scopes; }
std::size_t alloc_scope::count() const noexcept { return t_allocations - start_; }

}  // namespace uvdb::test
