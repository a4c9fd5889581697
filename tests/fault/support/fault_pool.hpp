#pragma once
/// \file
/// Pool helpers for the fault suite: options with short deadlines (the whole
/// suite must stay fast, so nothing waits for a 30 s default), a URL that
/// goes through a fault_proxy, and synchronous wrappers for test code.
///
/// Callbacks run inside uv_run: the wrappers store what they receive and the
/// test asserts after the loop returned.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <uvdb/event_loop.hpp>
#include <uvdb/lease.hpp>
#include <uvdb/param.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/pool_options.hpp>
#include <uvdb/result.hpp>
#include <uvdb/result_set.hpp>
#include <vector>

namespace uvdb::test {

/// pool_test_options (unique application_name) with fault-suite deadlines:
/// acquire timeout 5 s, connect timeout 3 s, ping timeout 1 s, back-off
/// 20 ms doubling up to 400 ms, a fixed random seed.
pool_options fault_pool_options(std::size_t size, std::size_t max_overflow);

/// The test server's URL with host and port replaced, e.g. a fault_proxy on
/// 127.0.0.1. `sslmode` defaults to verify-full (the certificate names
/// 127.0.0.1); addresses it does not name need "verify-ca".
std::string url_via(const std::string& host, int port, const std::string& sslmode = "verify-full");

/// pool::query and wait (fails the test when no answer comes within `deadline`).
result<result_set> pool_query_sync(event_loop& loop, pool& db, std::string_view sql, params p = {},
                                   std::chrono::milliseconds deadline = std::chrono::seconds(30));

/// pool::acquire with `timeout` and wait for the answer.
result<lease> acquire_sync(event_loop& loop, pool& db, std::chrono::milliseconds timeout,
                           std::chrono::milliseconds deadline = std::chrono::seconds(30));

/// Runs `n` pool queries "SELECT $1::int + 1", `concurrency` at a time, and
/// returns the failures' texts (a wrong answer is a failure too).
std::vector<std::string> run_pool_queries(event_loop& loop, pool& db, int n, int concurrency);

/// Leases `n` connections at once (opening them), returns their backend
/// pids and gives them back; fails the test if one acquire fails.
std::vector<std::int64_t> warm_up(event_loop& loop, pool& db, std::size_t n);

/// Milliseconds as a double since `start`, for messages.
double ms_between(std::chrono::steady_clock::time_point start,
                  std::chrono::steady_clock::time_point end);

}  // namespace uvdb::test
