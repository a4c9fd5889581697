#pragma once
// Not installed: the pool's own seam, reached by unit tests through
// pool_test_access.hpp.
//
/// Where a pool takes its time and deadlines from. Production uses the event
/// loop's clock and one uvdb::timer per pool armed for the earliest deadline;
/// unit tests substitute a manual clock whose timers fire when the test
/// advances it, so timeouts are deterministic without sleeping.

#include <chrono>
#include <cstdint>
#include <memory>
#include <uvdb/event_loop.hpp>
#include <uvdb/function.hpp>
#include <vector>

namespace uvdb::detail {

/// Time and one-shot deadlines. Loop thread only.
class timer_source {
  public:
    using clock = std::chrono::steady_clock;
    using time_point = clock::time_point;
    /// Identifies a scheduled callback; 0 is never a valid handle.
    using handle = std::uint64_t;

    virtual ~timer_source() = default;

    virtual time_point now() const noexcept = 0;
    /// now(), read from the clock. The loop's time is cached at the start of
    /// each iteration, so inside a callback it is as old as the callbacks
    /// that ran before (a blocking one: seconds). Decisions on how long a
    /// connection sat idle take this one.
    virtual time_point fresh_now() noexcept { return now(); }
    /// The clock to the microsecond, for statement durations (the loop's
    /// clock and the coarse one tick in milliseconds).
    virtual time_point precise_now() noexcept { return now(); }
    /// Runs `cb` once, on the loop thread, at or soon after `deadline` (never
    /// inline from this call).
    virtual handle schedule(time_point deadline, unique_function<void()> cb) = 0;
    /// Forgets a scheduled callback. Harmless for handles that already fired,
    /// were cancelled, or are 0.
    virtual void cancel(handle h) noexcept = 0;
};

/// An indexed binary min-heap of deadlines with O(log n) cancel. Entries
/// live in a slab reused through a free list, so scheduling and cancelling
/// allocate nothing in steady state. Ties fire in scheduling order.
class deadline_heap {
  public:
    using time_point = timer_source::time_point;
    using handle = timer_source::handle;

    handle push(time_point deadline, unique_function<void()> cb);
    /// Removes the entry; false when it is not (or no longer) there.
    bool cancel(handle h) noexcept;

    bool empty() const noexcept { return heap_.empty(); }
    std::size_t size() const noexcept { return heap_.size(); }
    /// Deadline of the earliest entry; only when !empty().
    time_point top() const noexcept { return entries_[heap_.front()].deadline; }
    /// Removes the earliest entry if its deadline is ≤ now and returns its
    /// callback; otherwise returns an empty function.
    unique_function<void()> pop_due(time_point now);

  private:
    struct entry {
        time_point deadline{};
        std::uint64_t seq = 0;
        unique_function<void()> cb;
        std::uint32_t heap_pos = 0;
        std::uint32_t gen = 1;
        bool live = false;
    };
    bool less(std::uint32_t a, std::uint32_t b) const noexcept;
    void sift_up(std::size_t pos) noexcept;
    void sift_down(std::size_t pos) noexcept;
    void place(std::size_t pos, std::uint32_t idx) noexcept;
    void remove_at(std::size_t pos) noexcept;

    std::vector<entry> entries_;
    std::vector<std::uint32_t> free_;
    std::vector<std::uint32_t> heap_;
    std::uint64_t seq_ = 0;
};

/// The production timer_source: event_loop::now() and one uvdb::timer,
/// re-armed for the earliest deadline (one libuv timer per pool, not per waiter).
std::shared_ptr<timer_source> make_loop_timer_source(event_loop& loop);

}  // namespace uvdb::detail
