#pragma once
/// \file
/// `uvdb-bench --rss-soak SECONDS`: the last row of docs/BENCHMARKS.md's targets — the
/// client's resident memory while a pool keeps N live TLS connections busy
/// for minutes. It opens the pool to its full size (min_idle = size, no
/// overflow), then every worker (one per connection) acquires, runs
/// `SELECT 1`, releases and sleeps a tick, over and over, while RSS is
/// sampled from /proc/self/statm. It reports RSS at the start, at the end and
/// the largest sample, so that growth (a leak per query) shows.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <uvdb/driver.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/pool_options.hpp>

namespace uvdb::bench {

struct soak_settings {
    pool_options pool;                               ///< size is the number of connections
    double seconds = 300;                            ///< how long to keep them busy
    std::chrono::milliseconds tick{50};              ///< pause of a worker between its queries
    std::chrono::milliseconds sample_every{10'000};  ///< RSS sampling period
    bool json = false;
    bool quiet = false;
};

/// Runs the soak; prints one line per sample on stderr (unless quiet) and the
/// summary on stdout (a JSON object with --json). Returns the exit status.
int run_rss_soak(event_loop& loop, std::shared_ptr<driver> drv, const soak_settings& s);

/// Resident set size of this process in kB, from /proc/self/statm; 0 when unknown.
std::size_t resident_kb();

}  // namespace uvdb::bench
