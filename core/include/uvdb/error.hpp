#pragma once
/// \file
/// uvdb's errors: a `std::error_code` in uvdb's category, the SQLSTATE when the
/// server sent one, uvdb's own message (what happened and what to do), and the
/// server's text kept apart from it because it may echo user input.
/// No secret (password, full conninfo) is ever put into an error.

#include <string>
#include <string_view>
#include <system_error>

namespace uvdb {

/// What went wrong, in categories an application can act on.
enum class errc : int {
    connect_failed = 1,    ///< server unreachable: refused, unreachable, name not resolved
    auth_failed,           ///< password, role or database rejected (28xxx, 3D000)
    tls_failed,            ///< TLS negotiation or certificate verification failed
    too_many_connections,  ///< server connection limit (53300, "too many clients already")
    server_starting,       ///< server starting up or shutting down (57P03): retry later
    connection_lost,   ///< connection broke: reset, EOF, backend terminated (57P01/57P02, class 08)
    timeout,           ///< a connect, query or ping deadline passed
    cancelled,         ///< the operation was cancelled (57014 on user request, or cancel())
    server_error,      ///< the server rejected the statement; see sqlstate()
    protocol_error,    ///< the peer broke the protocol
    bad_input,         ///< invalid argument or API misuse (e.g. too many parameters)
    conversion_error,  ///< a result value cannot be converted to the requested type
    bad_config,        ///< malformed URL, option or configuration value
    closed,            ///< the connection was closed before the operation completed
    pool_timeout,      ///< no pool connection became free before the acquire deadline
    pool_closed,       ///< the pool was closed
    pool_full,         ///< the pool's wait queue is full (max_waiters)
    driver_not_found,  ///< no driver registered for the URL's scheme
    plugin_error,      ///< a driver plugin could not be loaded
    internal,          ///< a bug in uvdb or a driver; please report it
    // Appended after `internal` so that earlier codes keep their numbers.
    /// The connection was lost (or the statement timed out) while COMMIT was
    /// in flight: the transaction may or may not have committed. Never
    /// retried automatically; the application must check the database.
    commit_unknown,
    /// COMMIT did not commit: the transaction had already failed, and the
    /// server answered COMMIT with ROLLBACK.
    transaction_rolled_back,
    /// A result that had to hold exactly one row (result_set::one) held none:
    /// "not found", which a handler usually maps to its own answer (a 404).
    no_rows,
    /// The statement was not run: an earlier statement of the same group
    /// failed first (connection::query_group; PostgreSQL skips the rest of a
    /// pipeline's Sync group after an error).
    not_run,
};

/// The `std::error_category` of `uvdb::errc`; its name is "uvdb".
const std::error_category& uvdb_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), uvdb_category()};
}

/// A short, stable name for a code: "connection_lost", "pool_timeout", …
std::string_view to_string(errc e) noexcept;

/// An error as every callback receives it.
///
/// `message()` is uvdb's text: what happened and what to do. `server_message()`,
/// `detail()` and `hint()` are the server's words (may quote user data), empty
/// when the error did not come from the server.
class error {
  public:
    error() = default;
    error(errc code, std::string message);

    /// The category as a std::error_code (compare with `uvdb::errc::…`).
    std::error_code code() const noexcept { return make_error_code(code_); }
    errc value() const noexcept { return code_; }

    /// Five-character SQLSTATE the server sent, or empty.
    std::string_view sqlstate() const noexcept { return {sqlstate_, sqlstate_len_}; }
    const std::string& message() const noexcept { return message_; }
    const std::string& server_message() const noexcept { return server_message_; }
    const std::string& detail() const noexcept { return detail_; }
    const std::string& hint() const noexcept { return hint_; }

    /// True when the connection that produced this error must be thrown away.
    bool is_fatal() const noexcept { return fatal_; }

    /// True when the error shows the server went away or restarted (57P01–57P03,
    /// class 08, connection lost): every connection older than it is suspect.
    bool server_gone() const noexcept;

    /// True when trying again later may succeed (connect failures, 57P03,
    /// too many connections, timeouts).
    bool retryable() const noexcept;

    /// One line for people and logs: "code_name: message (SQLSTATE x: server text;
    /// detail: …; hint: …)", e.g. "connection_lost: … (SQLSTATE 57P01: terminating
    /// connection due to administrator command)". The parenthesis is left out when
    /// the server said nothing.
    std::string to_string() const;

    // Builders, used by drivers and the pool.
    error& with_sqlstate(std::string_view state) noexcept;
    error& with_server_text(std::string message, std::string detail = {}, std::string hint = {});
    error& with_fatal(bool fatal) noexcept {
        fatal_ = fatal;
        return *this;
    }
    error& with_message(std::string message) {
        message_ = std::move(message);
        return *this;
    }

  private:
    errc code_ = errc::internal;
    bool fatal_ = false;
    unsigned char sqlstate_len_ = 0;
    char sqlstate_[5] = {};
    std::string message_;
    std::string server_message_;
    std::string detail_;
    std::string hint_;
};

/// Whether an error of this category makes its connection unusable, when the
/// driver has no better knowledge (connect, auth, TLS, lost, protocol errors).
bool fatal_by_default(errc code) noexcept;

/// The condition name PostgreSQL gives a SQLSTATE ("unique_violation" for 23505),
/// generated from PostgreSQL's errcodes.txt; empty when unknown.
std::string_view sqlstate_name(std::string_view sqlstate) noexcept;

}  // namespace uvdb

template <>
struct std::is_error_code_enum<uvdb::errc> : std::true_type {};
