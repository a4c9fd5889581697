#pragma once
// uvdb::params → the parallel arrays PQsendQueryParams takes. Numbers go in
// binary (network byte order) with their exact type OID; text goes as text
// with OID 0 so the server infers the type from the statement.

#include <libpq-fe.h>

#include <array>
#include <cstddef>
#include <optional>
#include <uvdb/error.hpp>
#include <uvdb/param.hpp>
#include <vector>

namespace uvdb::postgres::detail {

/// The protocol carries the parameter count in 16 bits.
inline constexpr std::size_t max_params = 65535;

/// An error for a statement with more parameters than the protocol allows.
error too_many_params(std::size_t n);

/// The first text parameter holding a NUL byte, as an error, or nullopt.
/// libpq sends text parameters NUL-terminated, so such a value would arrive
/// cut short; PostgreSQL's text cannot hold NUL anyway.
std::optional<error> nul_in_text(const params& p);

/// Reusable buffers: one per connection, so after the first statements a
/// query binds without allocating. Pointers stay valid until the next bind().
class param_arrays {
  public:
    /// Fills the arrays for `p`; the params must outlive the send. Returns
    /// false (and fills nothing) when there are more than max_params.
    bool bind(const params& p);

    int count() const noexcept { return static_cast<int>(values_.size()); }
    const Oid* types() const noexcept { return types_.data(); }
    const char* const* values() const noexcept { return values_.data(); }
    const int* lengths() const noexcept { return lengths_.data(); }
    const int* formats() const noexcept { return formats_.data(); }

  private:
    std::vector<Oid> types_;
    std::vector<const char*> values_;
    std::vector<int> lengths_;
    std::vector<int> formats_;
    std::vector<std::array<unsigned char, 8>> scratch_;  // big-endian numbers
};

}  // namespace uvdb::postgres::detail
