#pragma once
/// \file
/// Shared helpers for tests that talk to a real PostgreSQL: where the test
/// server is (UVDB_TEST_* variables written by scripts/pg-test-server.sh),
/// running the loop until something happens with a deadline, synchronous
/// wrappers around connect/query for test code, and fd accounting.
///
/// Callbacks run inside uv_run (C code): never REQUIRE or throw in them.
/// Store what they received and assert after run_until returns.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <uvdb/driver.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/function.hpp>
#include <uvdb/param.hpp>
#include <uvdb/result.hpp>
#include <uvdb/result_set.hpp>
#include <vector>

#include "support/loop_wait.hpp"  // wait_until, run_until, run_for

namespace uvdb::test {

using namespace std::chrono_literals;

/// ThreadSanitizer slows the code 5-15 times and serialises its threads, so
/// wall-clock bounds (a deadline met within 50 ms, a loop gap under 50 ms, 50
/// TLS connects inside the default connect timeout) say nothing about uvdb
/// there. Under TSan the code still runs and every other check holds; only
/// such bounds are skipped, and connects get a longer timeout.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool check_timing = false;
#else
inline constexpr bool check_timing = true;
#endif

/// The test server as described by the UVDB_TEST_* environment variables.
struct pg_env {
    std::string url;        ///< UVDB_TEST_URL (holds the password: never print it)
    std::string admin_url;  ///< UVDB_TEST_ADMIN_URL (a superuser on the same server)
    std::string ca;         ///< UVDB_TEST_CA: the CA that signed the server certificate
    std::string other_ca;   ///< UVDB_TEST_OTHER_CA: an unrelated CA
    std::string host;
    std::string port;
    std::string user;
    std::string password;
    std::string db;
    std::string pgdata;  ///< may be empty
    std::string pgctl;   ///< may be empty
};

/// The environment, read once. Fails the current test (never skips) with a
/// message saying how to get a server when UVDB_TEST_URL is missing.
const pg_env& env();

/// The PostgreSQL driver (one per process; drivers are stateless).
std::shared_ptr<uvdb::driver> pg_driver();

/// connect_options for the test role (UVDB_TEST_URL), connect timeout 10 s.
connect_options test_options();
/// connect_options for the superuser (UVDB_TEST_ADMIN_URL).
connect_options admin_options();

/// Parts of a test-server URL; empty optionals keep the test role's values.
struct url_parts {
    std::optional<std::string> user{};
    std::optional<std::string> password{};
    std::optional<std::string> host{};
    std::optional<std::string> port{};
    std::optional<std::string> db{};
    std::optional<std::string> sslmode{};      ///< default verify-full
    std::optional<std::string> sslrootcert{};  ///< default UVDB_TEST_CA; "" leaves it out
};

/// A `postgresql://` URL for the test server with some parts changed, e.g.
/// `make_url({.password = "wrong"})` or `make_url({.sslmode = "disable"})`.
std::string make_url(const url_parts& parts);

/// Opens a connection and waits for it. On failure the (dead) connection
/// object is destroyed and the error returned.
result<std::unique_ptr<connection>> connect_sync(event_loop& loop, const connect_options& opts,
                                                 std::chrono::milliseconds deadline = 30s);
/// connect_sync that fails the test (REQUIRE) when the connect fails.
std::unique_ptr<connection> connect_or_fail(event_loop& loop, const connect_options& opts);

/// Runs one statement and waits for its result (test fails if no callback
/// arrives before `deadline`).
result<result_set> query_sync(event_loop& loop, connection& conn, std::string_view sql,
                              params p = {}, const query_options& opts = {},
                              std::chrono::milliseconds deadline = 60s);
/// Runs a multi-statement script (simple protocol) and waits for its results.
result<std::vector<result_set>> execute_sync(event_loop& loop, connection& conn,
                                             std::string_view script,
                                             const query_options& opts = {},
                                             std::chrono::milliseconds deadline = 60s);
result<void> ping_sync(event_loop& loop, connection& conn, std::chrono::milliseconds ping_deadline,
                       std::chrono::milliseconds deadline = 30s);
result<void> reset_sync(event_loop& loop, connection& conn,
                        std::chrono::milliseconds deadline = 30s);

/// Runs `sql` and returns the single value of its single row as T; fails the
/// test with the error when the query fails.
template <class T>
T scalar(event_loop& loop, connection& conn, std::string_view sql, params p = {});

/// Fails the current test with `what` and the error (throws Catch's failure).
[[noreturn]] void fail_with(std::string_view what, const error& e);

/// Terminates the backend `pid` through a superuser connection opened on
/// `loop` for the occasion; fails the test if that is not possible.
void terminate_backend(event_loop& loop, std::int64_t pid);

/// Where a statement's callback leaves its result, shared with the callback
/// so that a late completion (after the test gave up) writes into live memory.
using query_slot = std::shared_ptr<std::optional<result<result_set>>>;
query_slot make_query_slot();
/// A callback that fills `slot`; a second call replaces the result with an
/// errc::internal error "callback called twice", so tests see it.
connection::query_callback store_in(const query_slot& slot);
/// Runs `loop` until every slot holds a result, failing the test (naming
/// `what`) after `limit`.
void wait_all(event_loop& loop, const std::vector<query_slot>& slots,
              std::chrono::milliseconds limit, std::string_view what);

/// Whether `hay` contains `needle` (for checks on messages).
inline bool contains(std::string_view hay, std::string_view needle) {
    return hay.find(needle) != std::string_view::npos;
}

/// Milliseconds since `start` on the steady clock.
long long ms_since(std::chrono::steady_clock::time_point start);

/// Text of an error for test output: to_string() plus the SQLSTATE.
std::string describe(const error& e);

/// Number of open file descriptors of this process (/proc/self/fd).
std::size_t open_fd_count();
/// open_fd_count() for a test that measures before it makes any loop: libuv
/// opens a few process-wide descriptors (its signal pipe) with the first loop
/// and keeps them, so one loop is made and destroyed first.
std::size_t fd_baseline();

/// One line per open descriptor ("7 -> socket:[1234]"), for failure messages.
std::string describe_open_fds();

/// Waits (running the loop, up to `timeout`) for the fd count to come back
/// to `expected` (sockets close after handle close callbacks and off-loop
/// cancels finish), then CHECKs it, printing both numbers.
void check_fds_return_to(event_loop& loop, std::size_t expected,
                         std::chrono::milliseconds timeout = 3s);
/// The same without a loop (after every loop is gone): polls with short sleeps.
void check_fds_return_to(std::size_t expected, std::chrono::milliseconds timeout = 3s);

/// A TCP port on 127.0.0.1 where nothing listens (bound, read, closed).
int free_port();

/// A socket on 127.0.0.1 that listens with a backlog but never accepts, so a
/// client's TCP connect succeeds and then nothing is ever said. Closed on
/// destruction.
class silent_listener {
  public:
    silent_listener();
    ~silent_listener();
    silent_listener(const silent_listener&) = delete;
    silent_listener& operator=(const silent_listener&) = delete;
    int port() const noexcept { return port_; }

  private:
    int fd_ = -1;
    int port_ = 0;
};

template <class T>
T scalar(event_loop& loop, connection& conn, std::string_view sql, params p) {
    auto r = query_sync(loop, conn, sql, std::move(p));
    if (!r) fail_with(sql, r.err());
    return r->template value<T>();
}

}  // namespace uvdb::test
