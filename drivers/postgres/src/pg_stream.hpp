#pragma once
// Streamed statements (uvdb/stream.hpp) on a PostgreSQL connection: the state
// one streamed command shares between the connection (which fills it from
// libpq) and the application's stream_source (which asks for chunks).
//
// A row stream runs in libpq's single-row mode: each row arrives as its own
// PGresult, and a chunk is a vector of them read in place (no copy per
// value). A COPY TO STDOUT stream appends PQgetCopyData's rows to a byte
// chunk. Either way the connection reads only while the chunk being filled is
// not full or the consumer has asked for it: a full chunk nobody asked for
// pauses reading (connection_impl::pause_reading), so the kernel's socket
// buffers and then the server hold the rest.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/function.hpp>
#include <uvdb/stream.hpp>
#include <vector>

#include "pg_result.hpp"

namespace uvdb::postgres::detail {

struct stream_state {
    explicit stream_state(event_loop& l) noexcept : loop(l) {}

    event_loop& loop;
    bool copy = false;  ///< COPY TO STDOUT (bytes) rather than rows
    std::size_t chunk_rows = 1000;
    std::size_t chunk_bytes = std::size_t{64} * 1024;

    /// The chunk being filled: single-row results, or COPY data.
    std::vector<pg_result_ptr> rows;
    std::string bytes;

    /// The consumer's next(), waiting for a chunk (one of the two, by `copy`).
    stream_source<result_set>::chunk_callback row_waiter;
    stream_source<std::string>::chunk_callback byte_waiter;

    bool finished = false;  ///< the statement's results are all in, or it failed
    bool closed = false;    ///< the consumer closed the stream: drop everything
    std::optional<error> err;
    std::uint64_t delivered = 0;  ///< rows handed to the consumer
    std::uint64_t copy_rows = 0;  ///< COPY's row count from its command tag
    /// The consumer's close() waits for the connection to be free again.
    unique_function<void()> drained;

    bool waiting() const noexcept {
        return copy ? static_cast<bool>(byte_waiter) : static_cast<bool>(row_waiter);
    }
    /// Arrivals are dropped: nobody will read them.
    bool discarding() const noexcept { return closed || timed_out; }
    bool full() const noexcept {
        return copy ? bytes.size() >= chunk_bytes : rows.size() >= chunk_rows;
    }
    bool timed_out = false;  ///< its deadline passed: the rest is dropped

    /// Gives `bytes` the capacity of a whole chunk at once. Grown row by row
    /// it would be reallocated and copied a dozen times per chunk, each time
    /// into fresh (page-faulting) memory: that was most of copy_out's cost.
    /// Chunks of one size also let malloc hand the consumer's freed chunk
    /// straight back. Capped so a huge chunk_bytes does not pin memory early.
    void reserve_bytes() {
        constexpr std::size_t cap = std::size_t{4} * 1024 * 1024;
        constexpr std::size_t slack = std::size_t{16} * 1024;  // the row that crosses the size
        bytes.reserve(std::min(chunk_bytes, cap) + slack);
    }
};

/// A result_source over the single-row results of one chunk, read in place.
class pg_rows_chunk final : public result_source {
  public:
    explicit pg_rows_chunk(std::vector<pg_result_ptr> rows) noexcept : rows_(std::move(rows)) {}

    std::size_t rows() const noexcept override { return rows_.size(); }
    std::size_t columns() const noexcept override;
    std::string_view column_name(std::size_t col) const noexcept override;
    column_kind kind(std::size_t col) const noexcept override;
    std::uint32_t type_id(std::size_t col) const noexcept override;
    std::string_view type_name(std::size_t col) const noexcept override;
    bool is_null(std::size_t row, std::size_t col) const noexcept override;
    std::string_view text(std::size_t row, std::size_t col) const noexcept override;
    result<bytes> binary(std::size_t row, std::size_t col) const override;
    std::uint64_t affected_rows() const noexcept override { return rows_.size(); }

  private:
    std::vector<pg_result_ptr> rows_;
};

}  // namespace uvdb::postgres::detail
