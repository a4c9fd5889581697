#pragma once
// COPY FROM STDIN on one PostgreSQL connection: the state one copy command
// shares between the connection (which sends and reads) and the sink the
// caller's copy_writer holds. The command itself goes through the queue like
// any statement (simple protocol, never prepared); its completion, a query
// callback, lands in copy_command_done, which routes the outcome to whoever
// waits: the start callback (the COPY never began), a waiting writer, finish()
// or abort().

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <uvdb/copy.hpp>
#include <uvdb/driver.hpp>

namespace uvdb::postgres::detail {

/// libpq's output is flushed once this much was put since it was last empty…
inline constexpr std::size_t copy_flush_every = std::size_t{64} * 1024;
/// …and the writer waits while more than this may still sit in it.
inline constexpr std::size_t copy_max_pending = std::size_t{256} * 1024;

struct copy_in_state {
    enum class stage : std::uint8_t {
        starting,  ///< the COPY statement was queued or sent; the server has not asked for data
        open,      ///< the server takes data
        ending,    ///< CopyDone or CopyFail sent; the command's result is to come
        done,      ///< the command completed
    };
    stage at = stage::starting;
    connection::copy_in_callback start;     ///< until the COPY opens (or fails)
    copy_in_sink::done_callback waiter;     ///< a writer waiting for room
    copy_in_sink::count_callback finished;  ///< finish()'s caller
    copy_in_sink::done_callback aborted;    ///< abort()'s caller
    bool abort_requested = false;
    std::string abort_message;
    std::size_t unflushed = 0;  ///< bytes put since libpq's output was last empty (an upper bound)
    std::optional<error> err;   ///< what ended the COPY for the writer (sticky)
};

/// The COPY command's completion: routes its outcome (see above).
void copy_command_done(copy_in_state& s, result<result_set> r);

/// The error of a write, finish or abort on a COPY that is no longer open.
error copy_not_open();

}  // namespace uvdb::postgres::detail
