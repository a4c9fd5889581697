#pragma once
// Helpers for the stream tests: wait for one chunk of a stream with a
// deadline, the test's scale (UVDB_TEST_SCALE), and what pg_stat_activity
// says about one backend.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <uvdb/event_loop.hpp>
#include <uvdb/result.hpp>
#include <uvdb/stream.hpp>

namespace uvdb::test {

/// Asks `s` for its next chunk (callback form) and runs the loop until it comes.
template <class Chunk>
result<std::optional<Chunk>> next_sync(
    event_loop& loop, basic_stream<Chunk>& s,
    std::chrono::milliseconds deadline = std::chrono::seconds(30));

/// UVDB_TEST_SCALE as a divisor of row counts (sanitizer builds set it), at least 1.
std::int64_t test_scale();

/// The backend's `state` and `wait_event` in pg_stat_activity ("" when gone).
struct backend_activity {
    std::string state;
    std::string wait_event;
    std::string query;
};
backend_activity activity_of(event_loop& loop, std::int64_t pid);

/// The peak resident set size of this process so far, in KiB (ru_maxrss).
long peak_rss_kib();
/// The resident set size now, in KiB (/proc/self/statm).
long current_rss_kib();

}  // namespace uvdb::test
