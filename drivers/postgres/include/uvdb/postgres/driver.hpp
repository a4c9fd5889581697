#pragma once
/// \file
/// The PostgreSQL driver: libpq's asynchronous API driven by the core's
/// io_watcher and timers. Never blocks the loop: host names are resolved on
/// the threadpool, connect and query deadlines are loop timers, and
/// cancellation (blocking in libpq 15) runs on the threadpool.
///
/// What to expect from its connections, beyond the uvdb::connection contract:
///  - The URL is parsed by libpq (URLs and key=value strings, multi-host
///    lists, target_session_attrs, sslmode/sslrootcert/sslcert/sslkey/
///    channel_binding…); connect_options::extra overrides its keys. A
///    `service` whose host is a name is the one case libpq would resolve
///    itself (blocking): give host names in the URL instead.
///  - Host names are resolved off the loop and each address is tried in turn
///    (`host` keeps the name, for verify-full and .pgpass). The whole connect
///    (DNS, TCP, TLS, authentication) has one deadline, the shorter of
///    connect_options::connect_timeout and the URL's connect_timeout; the TLS
///    handshake and SCRAM run on the threadpool.
///  - query() uses the extended protocol with bound parameters: integers,
///    floats and bools are sent in binary with their exact type (int2/int4/
///    int8, float4/float8, bool), bytes as bytea, text untyped so the server
///    infers it from the statement (write `$1::int` where it cannot). A text
///    parameter holding a NUL byte is errc::bad_input. Results are text. If a
///    statement yields several results, the last one is returned.
///  - execute() uses the simple protocol and returns every statement's
///    result; on an error the error is returned (the server stops there).
///  - A statement past its deadline is cancelled on the server; the caller
///    gets errc::timeout when the server confirms (57014), and the connection
///    stays usable. The next statement is never sent while a cancel request
///    is still under way, so a late cancel cannot hit it. If the server does
///    not confirm within max(1 s, timeout), the connection is closed and the
///    error is fatal. A ping unanswered by its deadline closes the connection.
///  - Server notices go to uvdb's logger at debug level; a FATAL notice (e.g.
///    57P01 from pg_terminate_backend) marks the connection broken at once.
///  - Streamed results (connection::stream) run in libpq's single-row mode as
///    an unnamed statement (never through the statement cache), in chunks
///    with back-pressure; COPY … TO STDOUT runs through connection::copy_out()
///    (see <uvdb/stream.hpp>). query() and execute() still refuse COPY TO
///    STDOUT with errc::bad_input.
///  - COPY FROM STDIN runs through connection::copy_in (uvdb/copy.hpp), in
///    the simple protocol, never prepared; through query()/execute() it is
///    refused with errc::bad_input.
///  - Notifications (LISTEN/NOTIFY): listen()/unlisten() quote the channel
///    (quote_identifier below) and run LISTEN/UNLISTEN; notify() runs
///    `SELECT pg_notify($1, $2)`. What arrives is read whenever the socket is
///    readable, also with no statement running, and handed in order to the
///    handler given to on_notification(); without one it is dropped.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <uvdb/driver.hpp>
#include <uvdb/driver_registry.hpp>

namespace uvdb::postgres {

struct driver_options {
    /// At most this many cancel requests run on the threadpool at once; more
    /// wait their turn (libuv's pool has 4 threads by default and DNS needs them too).
    std::size_t max_concurrent_cancels = 2;
};

/// Makes the PostgreSQL driver (schemes "postgresql" and "postgres").
std::shared_ptr<uvdb::driver> make_driver(driver_options opts = {});

/// Registers the PostgreSQL driver in `registry` (default: the global one).
result<void> register_driver(driver_registry& registry = driver_registry::global());

/// `name` as a PostgreSQL identifier: in double quotes, each `"` inside
/// doubled, so that any string names exactly itself (`Mixed "Case" chan`
/// becomes `"Mixed ""Case"" chan"`). errc::bad_input, saying which, for an
/// empty name, a NUL byte, or more than 63 bytes (NAMEDATALEN - 1: the server
/// would silently truncate it). Also driver::quote_identifier.
result<std::string> quote_identifier(std::string_view name);

/// Well-known type OIDs (pg_type.h), for result_set::column_type_id().
namespace oid {
inline constexpr std::uint32_t boolean = 16, bytea = 17, int8 = 20, int2 = 21, int4 = 23, text = 25,
                               oid_ = 26, float4 = 700, float8 = 701, varchar = 1043,
                               numeric = 1700, unknown = 705;
}

}  // namespace uvdb::postgres
