#pragma once
// Turning what libpq and the server report into uvdb::error: a category the
// application can act on, the SQLSTATE, the server's words kept apart, and a
// message of our own that says what to do. Nothing here ever sees a password.

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <uvdb/error.hpp>

namespace uvdb::postgres::detail {

/// Why we asked the server to cancel the statement in flight.
enum class cancel_reason : std::uint8_t { none, timeout, user };

/// The endpoint a connection talks to, for messages ("127.0.0.1:5432").
struct endpoint {
    std::string host;  ///< name as configured (kept for TLS), or socket directory
    std::string addr;  ///< numeric address when known
    std::string port;
    std::string user;
    std::string db;

    /// "db.example.com (10.0.0.1):5432", "127.0.0.1:5432", "/run/postgresql/.s.PGSQL.5432".
    std::string where() const;
    bool is_unix_socket() const noexcept;
};

/// The error of a PGRES_FATAL_ERROR / PGRES_BAD_RESPONSE result.
/// `connection_bad`: PQstatus said CONNECTION_BAD after the result arrived.
error statement_error(const PGresult* r, bool connection_bad, cancel_reason why,
                      std::chrono::milliseconds timeout, const endpoint& ep);

/// The connection broke outside a statement's result (EOF, reset, write failure).
/// `libpq_message` is PQerrorMessage; `sqlstate`/`server_text` come from a
/// FATAL notice the server sent just before, when there was one.
error connection_lost(std::string_view libpq_message, const endpoint& ep,
                      std::string_view sqlstate = {}, std::string_view server_text = {});

/// Classifies a failed connect from PQerrorMessage (read with PQERRORS_VERBOSE
/// so the server's SQLSTATE is in the text).
error connect_error(std::string_view libpq_message, const endpoint& ep);

/// True for a notice that announces the end of the session (FATAL/PANIC
/// severity, or 57P01 admin_shutdown).
bool notice_ends_session(const PGresult* notice) noexcept;

/// Replaces any password found in `conninfo` (URL user info, `password=` keys
/// or query parameters, raw or percent-decoded) wherever it occurs in `text`.
std::string scrub_password(std::string text, std::string_view conninfo);

/// The first line of a libpq message without the "connection to server at …
/// failed: " prefix, trimmed.
std::string libpq_reason(std::string_view libpq_message);

}  // namespace uvdb::postgres::detail
