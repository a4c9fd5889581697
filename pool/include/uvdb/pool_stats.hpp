#pragma once
/// \file
/// `uvdb::pool_stats`: a snapshot of a pool's gauges and counters, for
/// monitoring and for tests.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <source_location>

namespace uvdb {

/// Durations in fixed log-scale buckets (1-2-5 steps from 10 µs to 100 s,
/// and one open-ended bucket), with their sum for a mean and Prometheus'
/// `_sum`. For acquire waits, acquires served at once count in the first
/// bucket. Recording is a few compares and two adds: no lock, no allocation.
class wait_histogram {
  public:
    static constexpr std::size_t bucket_count = 23;
    /// Inclusive upper bound of each bucket in µs; the last bucket has none.
    static constexpr std::array<std::uint64_t, bucket_count - 1> upper_bounds_us = {
        10,        20,        50,         100,        200,        500,        1'000,   2'000,
        5'000,     10'000,    20'000,     50'000,     100'000,    200'000,    500'000, 1'000'000,
        2'000'000, 5'000'000, 10'000'000, 20'000'000, 50'000'000, 100'000'000};

    /// Adds one observation.
    void record(std::chrono::microseconds wait) noexcept;
    /// Adds one observation of no wait at all (cheaper).
    void record_immediate() noexcept { ++counts_[0]; }

    std::uint64_t count(std::size_t bucket) const noexcept { return counts_[bucket]; }
    std::uint64_t total() const noexcept;
    /// The sum of every observation in µs (negative ones counted as 0).
    std::uint64_t sum_us() const noexcept { return sum_us_; }
    /// The upper bound of the bucket holding quantile q (0 < q ≤ 1), or 0 when
    /// empty; for the open bucket, the largest finite bound.
    std::chrono::microseconds percentile(double q) const noexcept;

  private:
    std::array<std::uint64_t, bucket_count> counts_{};
    std::uint64_t sum_us_ = 0;
};

/// The pool's circuit breaker (pool_options::breaker_threshold).
enum class breaker_state : std::uint8_t {
    closed,     ///< connects run as usual
    open,       ///< connects keep failing: acquires that find no idle connection fail at once
    half_open,  ///< open, with one probe connect in flight
};

/// "closed", "open", "half_open".
const char* to_string(breaker_state s) noexcept;

/// A snapshot of one pool. Gauges describe the moment of the call; counters
/// count since the pool was created.
struct pool_stats {
    // Gauges. idle + checked_out + connecting + pending == total ≤ size + max_overflow.
    std::size_t size = 0;              ///< configured persistent size
    std::size_t max_overflow = 0;      ///< configured overflow
    std::size_t checked_out = 0;       ///< leased to callers (== live leases)
    std::size_t overflow = 0;          ///< connections above size right now
    std::size_t idle = 0;              ///< ready in the pool
    std::size_t waiting = 0;           ///< acquires waiting for a connection
    std::size_t connecting = 0;        ///< connects in flight (including on_connect)
    std::size_t pending = 0;           ///< being pinged before checkout or reset after return
    std::size_t total = 0;             ///< every connection the pool holds
    std::size_t peak_checked_out = 0;  ///< most leases out at once since the pool was created
    /// pool.query statements in flight on connections that carry more than
    /// one of them (pipelining, pool_options::pipeline_depth).
    std::size_t pipelined_in_flight = 0;
    bool closed = false;
    bool draining = false;  ///< pool::drain() runs: no new acquires, waiting for leases out

    // Counters.
    std::uint64_t acquires = 0;          ///< acquire calls (including those that failed)
    std::uint64_t timeouts = 0;          ///< acquires that ended in errc::pool_timeout
    std::uint64_t rejected = 0;          ///< acquires refused: pool_full, pool_closed, breaker open
    std::uint64_t connects = 0;          ///< connect attempts
    std::uint64_t connect_failures = 0;  ///< failed connects (including on_connect failures)
    std::uint64_t pings = 0;             ///< pre-pings sent
    std::uint64_t ping_failures = 0;     ///< pre-pings that failed (connection replaced)
    std::uint64_t recycled = 0;          ///< closed because older than recycle
    std::uint64_t invalidated =
        0;  ///< closed by invalidate(), a fatal error or pool-wide invalidation
    std::uint64_t leaks_reported = 0;  ///< leases reported as held longer than leak_threshold
    std::uint64_t closed_broken =
        0;  ///< closed on return because broken or still busy, or failed reset
    std::uint64_t idle_closed = 0;      ///< closed by idle_timeout
    std::uint64_t overflow_closed = 0;  ///< overflow connections closed after overflow_linger idle
    /// pool.query statements sent on a connection behind others still in
    /// flight instead of waiting for a connection of their own.
    std::uint64_t pipelined = 0;

    /// Waits of successful acquires.
    wait_histogram wait_time;
    /// How long each successful connect took (on_connect included).
    wait_histogram create_time;
    /// How long each lease was held, recorded when it is returned.
    wait_histogram use_time;
    /// Durations of the statements run through the pool (pool.query, lease
    /// and transaction statements), in µs.
    wait_histogram operation_time;

    // Circuit breaker.
    breaker_state breaker = breaker_state::closed;
    std::uint64_t breaker_opened = 0;    ///< times it opened
    std::uint64_t breaker_rejected = 0;  ///< acquires failed at once because it was open
    /// While open: time until the next probe connect (0 when one is running
    /// or the breaker is closed).
    std::chrono::milliseconds breaker_retry_in{0};
    /// Time since the pool was created: the window its counters cover.
    std::chrono::milliseconds uptime{0};

    /// Moving average of how long the latest successful connects took,
    /// on_connect included (0 before the first): the overflow delay when
    /// pool_options::overflow_delay is automatic (capped at 1 s).
    std::chrono::microseconds connect_time{0};

    /// How long the oldest lease still out has been held (0 when none), and
    /// where it was acquired.
    std::chrono::milliseconds longest_held{0};
    std::source_location longest_held_at{};
};

}  // namespace uvdb
