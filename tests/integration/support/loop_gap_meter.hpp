#pragma once
/// \file
/// Measures how long the loop goes without turning: a repeating timer
/// records the largest gap between its firings. On a busy machine a gap also
/// contains time the loop thread spent waiting for a CPU (other processes,
/// the threadpool); that part is measured from the kernel's run-queue
/// accounting (/proc/thread-self/schedstat) and reported apart, so that a
/// test can assert on what the loop itself spent (running or blocked).

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <uvdb/event_loop.hpp>
#include <uvdb/timer.hpp>

namespace uvdb::test {

class loop_gap_meter {
  public:
    static constexpr int max_phases = 4;

    /// Starts measuring on `loop` (loop thread only). `phase`, when given, is
    /// asked at each firing which phase (0 … max_phases-1) the gap belongs to.
    explicit loop_gap_meter(event_loop& loop, std::function<int()> phase = {},
                            std::chrono::milliseconds period = std::chrono::milliseconds{1});
    ~loop_gap_meter();
    loop_gap_meter(const loop_gap_meter&) = delete;
    loop_gap_meter& operator=(const loop_gap_meter&) = delete;

    /// Forgets every gap so far; the next one is measured from now.
    void reset();
    /// Stops the timer; the figures stay.
    void stop();

    /// Largest wall-clock gap between firings, in ms.
    double largest_gap_ms(int phase = 0) const;
    /// Largest gap less the time the loop thread was runnable but not running
    /// (equals largest_gap_ms when the kernel does not report it).
    double largest_own_gap_ms(int phase = 0) const;
    /// Whether run-queue time could be read (else own = wall).
    bool has_run_queue_time() const noexcept { return schedstat_fd_ >= 0; }

  private:
    void fire();
    std::int64_t run_queue_ns() const;  // -1 when unknown

    timer timer_;
    std::function<int()> phase_;
    int schedstat_fd_ = -1;
    std::chrono::steady_clock::time_point last_;
    std::int64_t last_wait_ns_ = 0;
    std::array<std::chrono::nanoseconds, max_phases> gap_{};
    std::array<std::chrono::nanoseconds, max_phases> own_gap_{};
};

}  // namespace uvdb::test
