#pragma once
/// \file
/// Helpers for the pool's [pg] tests: pool options for the test server with a
/// unique application_name, the server's own count of a pool's connections
/// (pg_stat_activity), superuser statements run on a private loop (safe in
/// destructors), and pg_ctl.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <uvdb/event_loop.hpp>
#include <uvdb/pool_options.hpp>
#include <uvdb/result.hpp>
#include <uvdb/timer.hpp>

namespace uvdb::test {

/// Options for a pool on the test server: UVDB_TEST_URL, an application_name
/// no other pool in this process uses, the given sizes, defaults otherwise.
pool_options pool_test_options(std::size_t size, std::size_t max_overflow);

/// How many server connections carry `application_name` (opens and closes a
/// superuser connection on `loop`).
int count_app_connections(event_loop& loop, const std::string& application_name);

/// Runs one statement as the superuser on a private loop and connection.
/// Never throws and never fails the test: returns the error instead.
result<void> admin_exec(const std::string& sql);

/// SQL identifier quoting: "name" with inner quotes doubled.
std::string quote_ident(const std::string& name);

/// Runs `$UVDB_TEST_PGCTL <args>` and returns its exit status (-1 when the
/// variable is not set).
int run_pg_ctl(const std::string& args);

/// Polls pg_stat_activity every ~50 ms on its own superuser connection and
/// remembers the largest count of connections named `application_name`.
class activity_poller {
  public:
    activity_poller(event_loop& loop, std::string application_name);
    ~activity_poller();
    activity_poller(const activity_poller&) = delete;
    activity_poller& operator=(const activity_poller&) = delete;

    /// Runs one more poll and waits for it (so the last state is counted).
    void poll_now_and_wait();
    void stop();
    int max_seen() const;
    int polls() const;

    struct state;

  private:
    event_loop& loop_;
    std::shared_ptr<state> st_;
    timer timer_;
};

}  // namespace uvdb::test
