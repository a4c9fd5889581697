#pragma once
// Streamed statements on an SQLite connection (uvdb/stream.hpp): the state a
// stream shares between the connection (which steps it on the threadpool)
// and the application's stream_source (which asks for chunks).
//
// A stream is a command like any other in the connection's queue. Once at
// the front it holds the connection, and each next() of the consumer runs
// one threadpool job that steps up to chunk_rows rows. Nothing is stepped
// ahead: while the consumer does not ask, no job runs, so the statement
// simply waits (prepared, its read snapshot held) and memory holds one
// chunk. Its end, an error, or the consumer's close finalizes the statement
// and frees the connection for the next command.

#include <cstdint>
#include <memory>
#include <optional>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/function.hpp>
#include <uvdb/stream.hpp>

#include "sqlite_exec.hpp"

namespace uvdb::sqlite::detail {

struct stream_state {
    explicit stream_state(event_loop& l) noexcept : loop(l) {}

    event_loop& loop;
    std::shared_ptr<const stream_input> input;
    stream_source<result_set>::chunk_callback waiter;  ///< the consumer's next(), waiting
    bool prepared = false;  ///< the first step job ran (the statement is prepared)
    bool finished = false;  ///< ended: every chunk stepped, or an error
    bool closed = false;    ///< the consumer closed it: deliver nothing more
    std::optional<error> err;
    std::uint64_t delivered = 0;
    /// The consumer's close() waits for the connection to be free again.
    unique_function<void()> drained;
};

/// Answers the consumer's waiting next() (if any) from the stream's state:
/// the end or the error once finished.
void answer_finished(const std::shared_ptr<stream_state>& st);

/// Ends a stream that never ran or cannot go on with `e`.
void fail_stream(const std::shared_ptr<stream_state>& st, const error& e);

}  // namespace uvdb::sqlite::detail
