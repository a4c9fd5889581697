#pragma once
/// \file
/// The SQLite driver: an embedded database for development, tests and small
/// applications, behind the same uvdb::connection interface as PostgreSQL.
///
/// SQLite is a blocking library, so every call that may touch the disk —
/// opening the file, each statement, ROLLBACK, closing (which may checkpoint
/// the WAL) — runs on libuv's threadpool through uvdb::offload; results come
/// back on the loop thread. The loop never touches the disk.
///
/// URLs (scheme "sqlite"):
///  - `sqlite:///absolute/path/app.db` — an absolute path (three slashes: an
///    empty host, then the path). Note: SQLAlchemy reads three slashes as a
///    relative path; uvdb follows file:// URLs instead.
///  - `sqlite:relative/path/app.db` — relative to the process's working
///    directory at connect time.
///  - `sqlite::memory:` or `sqlite:///:memory:` — a private in-memory
///    database. Every connection gets its own: a pool of in-memory
///    connections does not share data (use a file in a temporary directory).
///  - Percent-escapes in the path are decoded (`%20` → space). A host, user
///    or password (`sqlite://host/…`) is refused with errc::bad_config.
///    SQLite's own `file:` URIs are not interpreted (SQLITE_OPEN_URI is off):
///    the path is always a plain file name.
///  - connect_options::password and application_name have no meaning for
///    SQLite and are ignored; connect_timeout bounds the open (which waits
///    for a threadpool thread), query_timeout is each statement's default
///    deadline.
///
/// Query parameters (and connect_options::extra, which overrides them); an
/// unknown key or a bad value is errc::bad_config naming it:
///  - `mode=ro|rw|rwc` (default rwc): read-only, read-write, read-write and
///    create the file if missing. The directory is never created.
///  - `busy_timeout=<ms>` (default 5000): how long a statement waits for a
///    lock another connection holds before failing with SQLITE_BUSY. 0 = fail
///    at once. The wait is cut short by cancel() and query deadlines.
///  - `journal_mode=delete|truncate|persist|memory|wal|off` (default: the
///    file's own). `wal` lets readers run while one writer writes.
///  - `synchronous=off|normal|full|extra` (default: SQLite's, full).
///  - `foreign_keys=on|off` (default off, as SQLite).
///
/// Statements:
///  - query() runs one statement. Parameters bind to `$1`, `$2`, … (also `?1`,
///    `?NNN`, `?` and named `:a`/`@a`, in index order); bool and integers bind
///    as INTEGER, float/double as REAL, text as TEXT, bytes as BLOB, null as
///    NULL. More or fewer parameters than the statement has is errc::bad_input.
///    Text after the first statement (other than whitespace and comments) is
///    errc::bad_input: use execute() for scripts.
///  - execute() runs a script of statements (no parameters) and returns each
///    statement's result; on the first error it stops and returns the error.
///  - stream() delivers one statement's rows in chunks of chunk_rows, each
///    stepped on the threadpool only when the consumer asks for it; dropping
///    the stream finalizes the statement (docs/STREAMING.md). No COPY.
///  - Results: INTEGER → column_kind::int64 (text "42"), REAL → float64
///    (shortest round-trip text), TEXT → text, BLOB → binary (read it as
///    uvdb::bytes; its text form is PostgreSQL's hex "\x…"), NULL → null.
///    SQLite types are per value: a column's kind is its declared type's
///    affinity when it has one (INTEGER/REAL/TEXT/BLOB/NUMERIC, BOOLEAN →
///    boolean), else the kind of the first non-NULL value. type_name() is the
///    declared type when there is one ("INTEGER", "VARCHAR(20)"), else the
///    storage class ("integer", "real", "text", "blob", "null").
///    affected_rows() is sqlite3_changes() for INSERT/UPDATE/DELETE, else the
///    number of rows returned.
///
/// Errors (the SQLite extended result code and its name are in the message,
/// e.g. "SQLITE_CONSTRAINT_UNIQUE (2067)"; the library's text is
/// server_message()):
///  - SQLITE_BUSY, SQLITE_LOCKED → errc::timeout, retryable, not fatal (the
///    lock was not granted within busy_timeout). SQLSTATE 40001 is not used:
///    the statement simply did not run.
///  - SQLITE_CONSTRAINT_* → errc::server_error with a SQLSTATE of class 23
///    where one fits (UNIQUE and PRIMARYKEY → 23505, NOTNULL → 23502,
///    FOREIGNKEY → 23503, CHECK → 23514, others → 23000), so code written
///    against PostgreSQL's unique_violation keeps working.
///  - Syntax and other statement errors (SQLITE_ERROR, SQLITE_MISMATCH,
///    SQLITE_RANGE, SQLITE_TOOBIG) → errc::server_error, not fatal; SQLITE_ERROR
///    carries SQLSTATE 42000.
///  - SQLITE_READONLY → errc::server_error (SQLSTATE 25006), not fatal.
///  - SQLITE_CORRUPT, SQLITE_NOTADB, SQLITE_IOERR_*, SQLITE_FULL, SQLITE_CANTOPEN
///    after connect, SQLITE_NOMEM → fatal (is_fatal()): errc::connection_lost.
///  - At connect: a file that cannot be opened (missing directory, no
///    permission, mode=ro on a missing file) → errc::connect_failed naming the
///    path; a file that is not a database → errc::connect_failed, fatal.
///  - cancel() → sqlite3_interrupt(): errc::cancelled, connection stays usable.
///    A query past its deadline is interrupted the same way: errc::timeout.
///
/// Connections: one statement runs at a time per connection; others queue in
/// order. A statement whose deadline passes while it waits in the queue fails
/// with errc::timeout without running. ping() runs `PRAGMA schema_version`
/// (reads the file's header, so a replaced or corrupted file is noticed).
/// reset() runs ROLLBACK when sqlite3_get_autocommit() says a transaction is
/// open. close() (also from inside a callback) completes pending callbacks
/// with errc::closed at once; the database handle itself is closed on the
/// threadpool after a statement still running there has come back (it is
/// interrupted first) — sqlite3_close never races a running statement.
///
/// Threading: connections are opened with SQLITE_OPEN_NOMUTEX (multi-thread
/// mode). A connection is used by at most one threadpool job at a time (the
/// queue guarantees it) and libuv's work queue orders one job's writes before
/// the next job's reads, so SQLite's per-connection mutex would only cost time.
/// sqlite3_interrupt is the one call made from the loop thread while a job
/// runs; SQLite documents it as safe from any thread while the handle is open.
/// Long statements occupy a threadpool thread (libuv has 4 by default, shared
/// with DNS and other offloaded work): raise UV_THREADPOOL_SIZE for many
/// concurrent SQLite connections.

#include <cstdint>
#include <memory>
#include <uvdb/driver.hpp>
#include <uvdb/driver_registry.hpp>
#include <uvdb/result.hpp>

namespace uvdb::sqlite {

/// Makes the SQLite driver (scheme "sqlite"). Thread-safe; the driver holds no state.
std::shared_ptr<uvdb::driver> make_driver();

/// Registers the SQLite driver in `registry` (default: the global one).
/// Fails (nothing registered) when "sqlite" is already taken.
result<void> register_driver(driver_registry& registry = driver_registry::global());

/// SQLite's fundamental datatype codes, as result_set::column_type_id() returns
/// them (SQLITE_INTEGER … SQLITE_NULL), so callers need not include sqlite3.h.
namespace type_id {
inline constexpr std::uint32_t integer = 1, real = 2, text = 3, blob = 4, null = 5;
}

}  // namespace uvdb::sqlite
