// uvdb::params' out-of-line parts: growing past the inline budget, copying,
// and the element kinds that are not on the hot path.

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>
#include <new>
#include <stdexcept>
#include <string>
#include <uvdb/param.hpp>

namespace uvdb {

namespace {

// Offsets and lengths are 32-bit to keep a slot at 16 bytes. Neither backend
// takes more: PostgreSQL's Bind message carries its length in 32 bits and
// SQLite caps a value at 2^31 - 1 bytes.
constexpr std::size_t max_u32 = std::numeric_limits<std::uint32_t>::max();

[[noreturn]] void too_large() {
    throw std::length_error("uvdb::params: more than 4 GiB of parameter data or 2^32 parameters");
}

}  // namespace

params::params(std::initializer_list<param> values) {
    reserve(values.size());
    for (const param& v : values) add_param(v);
}

params::params(const params& o) {
    reserve(o.size_);
    reserve_bytes(o.used_);
    if (o.size_ != 0) std::memcpy(slots(), o.slots(), o.size_ * sizeof(slot));
    if (o.used_ != 0) std::memcpy(store(), o.store(), o.used_);
    size_ = o.size_;
    used_ = o.used_;
}

params& params::operator=(const params& o) {
    if (this != &o) {
        // Reuses this one's storage where it is large enough.
        reserve(o.size_);
        reserve_bytes(o.used_);
        if (o.size_ != 0) std::memcpy(slots(), o.slots(), o.size_ * sizeof(slot));
        if (o.used_ != 0) std::memcpy(store(), o.store(), o.used_);
        size_ = o.size_;
        used_ = o.used_;
    }
    return *this;
}

void params::take(params& o) noexcept {
    size_ = o.size_;
    used_ = o.used_;
    slot_cap_ = o.slot_cap_;
    byte_cap_ = o.byte_cap_;
    heap_slots_ = o.heap_slots_;
    heap_bytes_ = o.heap_bytes_;
    // Only the used part of an inline store is copied: moving the usual
    // one-parameter statement copies 16 bytes, not the whole budget.
    if (heap_slots_ == nullptr && size_ != 0) {
        std::memcpy(inline_slots_, o.inline_slots_, size_ * sizeof(slot));
    }
    if (heap_bytes_ == nullptr && used_ != 0) std::memcpy(inline_bytes_, o.inline_bytes_, used_);
    o.heap_slots_ = nullptr;
    o.heap_bytes_ = nullptr;
    o.release();
}

void params::release() noexcept {
    ::operator delete(heap_slots_);
    ::operator delete(heap_bytes_);
    heap_slots_ = nullptr;
    heap_bytes_ = nullptr;
    slot_cap_ = inline_count;
    byte_cap_ = inline_bytes;
    size_ = 0;
    used_ = 0;
}

void params::grow_slots(std::size_t need) {
    if (need > max_u32) too_large();
    const std::size_t cap = std::min(std::max(need, std::size_t{slot_cap_} * 2), max_u32);
    auto* fresh = static_cast<slot*>(::operator new(cap * sizeof(slot)));
    if (size_ != 0) std::memcpy(fresh, slots(), size_ * sizeof(slot));
    ::operator delete(heap_slots_);
    heap_slots_ = fresh;
    slot_cap_ = static_cast<std::uint32_t>(cap);
}

void params::grow_bytes(std::size_t need) {
    if (need > max_u32) too_large();
    const std::size_t cap = std::min(std::max(need, std::size_t{byte_cap_} * 2), max_u32);
    auto* fresh = static_cast<char*>(::operator new(cap));
    if (used_ != 0) std::memcpy(fresh, store(), used_);
    ::operator delete(heap_bytes_);
    heap_bytes_ = fresh;
    byte_cap_ = static_cast<std::uint32_t>(cap);
}

void params::add_data(param_kind k, const void* p, std::size_t n) {
    const std::size_t with_nul = n + (k == param_kind::text ? 1 : 0);
    if (with_nul > max_u32 - used_) too_large();
    if (size_ == slot_cap_) grow_slots(std::size_t{size_} + 1);
    if (with_nul > byte_cap_ - used_) grow_bytes(std::size_t{used_} + with_nul);
    // Nothing below throws, so a failed growth leaves the params as it was.
    char* at = store() + used_;
    if (n != 0) std::memcpy(at, p, n);
    if (k == param_kind::text) at[n] = '\0';
    slot& s = new_slot(k);
    s.v.x = {used_, static_cast<std::uint32_t>(n)};
    used_ += static_cast<std::uint32_t>(with_nul);
}

void params::add_uint64(std::uint64_t v) {
    // Decimal text, as param sends a uint64: the server picks the type.
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    add_data(param_kind::text, buf, static_cast<std::size_t>(r.ptr - buf));
}

void params::add_param(const param& v) {
    switch (v.type()) {
        case param_kind::null:
            new_slot(param_kind::null);
            break;
        case param_kind::boolean:
        case param_kind::int16:
        case param_kind::int32:
        case param_kind::int64:
            add_number(v.type(), v.as_int());
            break;
        case param_kind::float32:
        case param_kind::float64:
            add_float(v.type(), v.as_double());
            break;
        case param_kind::text:
            add_data(param_kind::text, v.as_text().data(), v.as_text().size());
            break;
        case param_kind::binary:
            add_data(param_kind::binary, v.as_bytes().data(), v.as_bytes().size());
            break;
    }
}

void params::add_view(param_view v) {
    // Copied first: `v` may be an element of this very params, whose slots
    // and bytes a growth frees.
    const slot s = *v.s_;
    switch (s.kind) {
        case param_kind::text:
        case param_kind::binary:
            if (v.base_ == store()) {
                const std::size_t with_nul = s.v.x.len + (s.kind == param_kind::text ? 1 : 0);
                reserve(std::size_t{size_} + 1);
                reserve_bytes(std::size_t{used_} + with_nul);
                add_data(s.kind, store() + s.v.x.off, s.v.x.len);
            } else {
                add_data(s.kind, v.base_ + s.v.x.off, s.v.x.len);
            }
            break;
        default:
            new_slot(s.kind).v = s.v;
            break;
    }
}

void params::resize(std::size_t n) {
    if (n <= size_) {
        size_ = static_cast<std::uint32_t>(n);
        return;
    }
    reserve(n);
    while (size_ < n) new_slot(param_kind::null);
}

param_view params::at(std::size_t i) const {
    if (i >= size_) {
        throw std::out_of_range("uvdb::params::at: index " + std::to_string(i) + " of " +
                                std::to_string(size_));
    }
    return (*this)[i];
}

bool operator==(const param_view& a, const param_view& b) noexcept {
    if (a.type() != b.type()) return false;
    switch (a.type()) {
        case param_kind::null:
            return true;
        case param_kind::boolean:
            return a.as_bool() == b.as_bool();
        case param_kind::int16:
        case param_kind::int32:
        case param_kind::int64:
            return a.as_int() == b.as_int();
        case param_kind::float32:
        case param_kind::float64:
            return a.as_double() == b.as_double();
        case param_kind::text:
            return a.as_text() == b.as_text();
        case param_kind::binary:
            return std::equal(a.as_bytes().begin(), a.as_bytes().end(), b.as_bytes().begin(),
                              b.as_bytes().end());
    }
    return false;
}

bool operator==(const params& a, const params& b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

}  // namespace uvdb
