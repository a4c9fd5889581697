#pragma once
/// \file
/// Measures how long the loop goes without turning: a repeating timer
/// records the largest gap between its firings. On a busy machine a gap also
/// contains time the loop thread spent waiting for a CPU (other processes,
/// the threadpool); that part is measured from the kernel's run-queue
/// accounting (/proc/thread-self/schedstat) and reported apart, so that a
/// test can assert on what the loop itself spent (running or blocked). The
/// same accounting gives the loop thread's time on a CPU, so the part of a
/// gap in which it was off the CPU without waiting for one (asleep in a
/// blocking call: the loop blocked) is reported apart too.

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
    /// Largest time within one gap that the loop thread was neither running
    /// nor waiting for a CPU: asleep, i.e. blocked in a call (a 1 ms timer
    /// period of it is the loop's own wait for the next firing). Equals
    /// largest_own_gap_ms when the kernel does not report CPU time.
    double largest_blocked_ms(int phase = 0) const;
    /// Whether run-queue time could be read (else own = wall).
    bool has_run_queue_time() const noexcept { return schedstat_fd_ >= 0; }

  private:
    void fire();
    // From /proc/thread-self/schedstat: ns on a CPU and ns waiting on a run
    // queue; false when unknown.
    bool read_schedstat(std::int64_t& cpu_ns, std::int64_t& wait_ns) const;

    timer timer_;
    std::function<int()> phase_;
    int schedstat_fd_ = -1;
    std::chrono::steady_clock::time_point last_;
    std::int64_t last_wait_ns_ = -1;
    std::int64_t last_cpu_ns_ = -1;
    std::array<std::chrono::nanoseconds, max_phases> gap_{};
    std::array<std::chrono::nanoseconds, max_phases> own_gap_{};
    std::array<std::chrono::nanoseconds, max_phases> blocked_{};
};

}  // namespace uvdb::test
