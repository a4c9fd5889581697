#pragma once
// result_source over a PGresult, read in place: cells are string_views into
// libpq's own memory, so a result costs one allocation (this object) on top of
// libpq's.

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <uvdb/result_set.hpp>

namespace uvdb::postgres::detail {

/// Frees a PGresult; for std::unique_ptr.
struct pq_clear {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};

/// The one way the driver holds a PGresult: nothing frees one by hand.
using pg_result_ptr = std::unique_ptr<PGresult, pq_clear>;

/// Portable kind of a PostgreSQL type OID.
column_kind kind_of_oid(std::uint32_t oid) noexcept;
/// PostgreSQL's name of a type OID for the common built-in types ("int4",
/// "timestamptz", "_text"), "other" for the rest.
std::string_view name_of_oid(std::uint32_t oid) noexcept;
/// Decodes a bytea in text form (hex "\x…" or the older escape format).
result<bytes> decode_bytea(std::string_view text);

class pg_result final : public result_source {
  public:
    /// Takes ownership of `r`.
    explicit pg_result(pg_result_ptr r) noexcept;
    ~pg_result() override = default;
    pg_result(const pg_result&) = delete;
    pg_result& operator=(const pg_result&) = delete;

    std::size_t rows() const noexcept override { return rows_; }
    std::size_t columns() const noexcept override { return cols_; }
    std::string_view column_name(std::size_t col) const noexcept override;
    column_kind kind(std::size_t col) const noexcept override;
    std::uint32_t type_id(std::size_t col) const noexcept override;
    std::string_view type_name(std::size_t col) const noexcept override;
    bool is_null(std::size_t row, std::size_t col) const noexcept override;
    std::string_view text(std::size_t row, std::size_t col) const noexcept override;
    result<bytes> binary(std::size_t row, std::size_t col) const override;
    std::uint64_t affected_rows() const noexcept override;
    std::string_view command_tag() const noexcept override;

  private:
    pg_result_ptr res_;
    std::size_t rows_;
    std::size_t cols_;
};

}  // namespace uvdb::postgres::detail
