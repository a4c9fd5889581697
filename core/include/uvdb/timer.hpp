#pragma once
/// \file
/// The seam between drivers and libuv, part 2: timers on the loop.

#include <chrono>
#include <uvdb/event_loop.hpp>
#include <uvdb/function.hpp>

namespace uvdb {

/// A one-shot or repeating loop timer (uv_timer_t underneath). Move-only; the
/// destructor stops and closes the handle (memory freed after libuv's close
/// callback). The handle is created lazily on the first start(). Loop thread only.
class timer {
  public:
    using callback = unique_function<void()>;

    timer() noexcept = default;
    explicit timer(event_loop& loop) noexcept : loop_(&loop) {}
    ~timer();
    timer(timer&& other) noexcept;
    timer& operator=(timer&& other) noexcept;
    timer(const timer&) = delete;
    timer& operator=(const timer&) = delete;

    /// (Re)starts the timer; `cb` runs after `after`, then every `repeat` if
    /// non-zero. Restarting replaces the previous callback.
    void start(std::chrono::milliseconds after, callback cb,
               std::chrono::milliseconds repeat = std::chrono::milliseconds{0});
    /// Stops it; the callback will not run. Idempotent.
    void stop() noexcept;
    bool active() const noexcept;
    /// Stops and releases the handle. Idempotent; legal inside the callback.
    void close() noexcept;

    struct impl;

  private:
    event_loop* loop_ = nullptr;
    impl* impl_ = nullptr;
};

}  // namespace uvdb
