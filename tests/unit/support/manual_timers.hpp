#pragma once
/// \file
/// A timer_source whose clock moves only when a test says so. Pool timeouts,
/// back-offs, sweeps and the fake driver's latencies all run on it, so unit
/// tests are deterministic and never sleep.

#include <chrono>
#include <functional>
#include <optional>

#include "timer_source.hpp"  // pool/src: the pool's test seam, not installed

namespace uvdb::test {

class manual_timers final : public detail::timer_source {
  public:
    /// Starts at an arbitrary, non-zero point in time.
    manual_timers() : now_(time_point{} + std::chrono::hours(1)) {}

    time_point now() const noexcept override { return now_; }
    handle schedule(time_point deadline, unique_function<void()> cb) override {
        return heap_.push(deadline, std::move(cb));
    }
    void cancel(handle h) noexcept override { heap_.cancel(h); }

    /// Moves the clock forward by `d`, firing every timer that falls due on
    /// the way in deadline order, with the clock set to each one's deadline.
    /// `between` runs after each firing (tests use it to run the loop, so the
    /// consequences of one timer happen before the next fires).
    void advance(clock::duration d, const std::function<void()>& between = {});
    /// Fires the timers due at the current time. Returns how many fired.
    std::size_t fire_due(const std::function<void()>& between = {});

    std::size_t scheduled() const noexcept { return heap_.size(); }
    std::optional<time_point> next_deadline() const {
        if (heap_.empty()) return std::nullopt;
        return heap_.top();
    }

  private:
    time_point now_;
    detail::deadline_heap heap_;
};

}  // namespace uvdb::test
