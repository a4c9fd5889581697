#pragma once
// The receive side of the query path as a pure step: one result libpq handed
// us (or the null that ends a statement's results), the command it belongs
// to → what the connection must do next. No I/O, no libpq connection, no
// connection state: the step only records into the command what arrived
// (rows, the first error) and reports, as flags, what the connection's own
// state must learn. So every branch can be tested with PGresult objects made
// by hand (tests/pg_unit), without a server.

#include <cstdint>

#include "pg_commands.hpp"
#include "pg_error.hpp"
#include "pg_result.hpp"

namespace uvdb::postgres::detail {

/// What the connection does after a result was taken in.
enum class next_action : std::uint8_t {
    read_more,        ///< more results of this command are to come
    command_done,     ///< its results are complete: answer it (a stale prepared statement may be
                      ///< retried first)
    leave_pipeline,   ///< its last Sync arrived: leave pipeline mode, then answer it
    end_copy_in,      ///< the server waits for COPY data: refuse it (CopyFail), flush, read on
    copy_in_opened,   ///< a copy_in command's COPY waits for data: hand the caller its sink
    connection_lost,  ///< the connection ended inside its pipeline: fail it with the connection's
                      ///< error
};

/// The step's answer: the action and what the connection's state must learn.
struct receive_step {
    next_action next = next_action::read_more;
    /// DISCARD ALL / DEALLOCATE ALL ran: the server holds none of our prepared statements.
    bool drop_statement_cache = false;
    /// The Parse of the command's statement (`command::stmt`) failed: it was never prepared.
    bool forget_statement = false;
    /// The command's error (`command::err`) is fatal: nothing more may run on the connection.
    bool breaks_connection = false;
};

/// Takes in `r` (null: the end of one statement's results) for `c`, the
/// command in flight. `connection_bad`: PQstatus said CONNECTION_BAD when it
/// arrived. `ep` names the server in error messages.
receive_step receive(command& c, pg_result_ptr r, bool connection_bad, const endpoint& ep);

/// The answer of a finished command that did not fail: its last result
/// (query; an empty result_set when none came) or every result (execute).
/// Moves them out of `c`.
result<result_set> query_answer(command& c);
result<std::vector<result_set>> script_answer(command& c);

}  // namespace uvdb::postgres::detail
