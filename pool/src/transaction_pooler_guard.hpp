#pragma once
// pool_options::transaction_pooler: what the pool refuses or warns about
// because it cannot work behind a transaction pooler (PgBouncer in
// transaction mode), where each transaction may run on another server
// session and a session is handed to other clients between transactions.
// Called from the pool's statement path (query_hooks.cpp, pool_query.cpp)
// only when the option is on: with it off the pool tests one flag.
//
// The SQL is read as PostgreSQL's lexer would, far enough to find each
// statement's first keywords and every identifier outside comments, string
// literals, quoted identifiers and dollar-quoted bodies:
//   LISTEN                    refused: notifications go to the server session, which
//                             other clients hold between our transactions
//   SET (not LOCAL,           refused: the value outlives the transaction on a session
//   TRANSACTION, CONSTRAINTS) other clients get next, and our next transaction may run
//                             on one without it; inside BEGIN…COMMIT too, since a plain
//                             SET survives the COMMIT
//   pg_advisory_lock,         outside a transaction refused (the lock stays with a
//   pg_try_advisory_lock      session we lose at the statement's end); inside one
//   (and _shared)             warned once (correct only if unlocked before the end)
//   PREPARE, EXECUTE,         likewise: outside a transaction the prepared statement
//   DEALLOCATE                stays on a session we lose; inside, warned once
// Whether a statement runs inside a transaction is what the server last
// reported for the connection, followed through the script's own
// BEGIN/START TRANSACTION and COMMIT/END/ROLLBACK/ABORT.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <uvdb/error.hpp>

namespace uvdb::detail {

/// What a statement needs from, or leaves in, its server session.
enum class session_use : std::uint8_t {
    none,
    listen,         ///< LISTEN
    session_set,    ///< SET without LOCAL (and RESET is allowed)
    advisory_lock,  ///< a session-level advisory lock function
    prepared,       ///< PREPARE, EXECUTE, DEALLOCATE
};
inline constexpr std::size_t session_use_kinds = 5;

/// The first thing in `sql` that cannot work behind a transaction pooler.
struct pooler_finding {
    session_use use = session_use::none;
    bool refuse = false;  ///< false: allowed, but worth a warning
};

/// Reads `sql` (one statement or a script); `in_transaction`: the connection
/// is inside a transaction block before it runs. A refusal wins over a
/// warning found earlier in the same text.
pooler_finding inspect_for_transaction_pooler(std::string_view sql, bool in_transaction) noexcept;

/// The refusal's error (errc::bad_input), saying why and what to do instead.
error transaction_pooler_refusal(session_use use);

/// The per-pool state: which kinds were warned about already. Loop thread
/// only, like the pool.
class transaction_pooler_guard {
  public:
    /// An error to fail the statement with, or nothing (sent; a warning may
    /// have been logged, once per kind for this pool).
    std::optional<error> check(std::string_view sql, bool in_transaction,
                               std::string_view pool_name);

  private:
    std::array<bool, session_use_kinds> warned_{};
};

}  // namespace uvdb::detail
