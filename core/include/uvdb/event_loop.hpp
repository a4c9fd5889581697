#pragma once
/// \file
/// `uvdb::event_loop`: the libuv loop uvdb runs on, borrowed from the
/// application (the usual case) or owned.
///
/// Threading: an event_loop and everything created on it (watchers, timers,
/// connections, pools, leases) belong to the thread that runs the loop. The one
/// exception is `post()`, which any thread may call.

#include <chrono>
#include <cstdint>
#include <memory>
#include <uvdb/function.hpp>

// Forward declaration so applications need not include uv.h to hand uvdb a loop.
struct uv_loop_s;
typedef struct uv_loop_s uv_loop_t;  // NOLINT: must match uv.h's typedef exactly

namespace uvdb {

namespace detail {
struct loop_state;
struct loop_access;  // core's own sources reach loop_state through it (src/loop_state.hpp)
}  // namespace detail

class event_loop {
  public:
    using clock = std::chrono::steady_clock;

    /// Creates and owns a new libuv loop.
    event_loop();
    /// Uses the application's loop. The loop must outlive this object, and must
    /// run once more after this object is destroyed so uvdb's handles can close.
    explicit event_loop(uv_loop_t* borrowed);
    /// Closes uvdb's handles. An owned loop is run until they closed, then closed
    /// (handles the application left open on it are closed too, with a warning).
    /// Never destroy an owned event_loop from inside one of its callbacks.
    ~event_loop();

    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;

    uv_loop_t* native() const noexcept { return loop_; }
    bool owns_loop() const noexcept { return owned_ != nullptr; }

    /// Runs until no active handle is left (uv_run DEFAULT).
    void run();
    /// Runs one iteration, blocking for I/O if there is nothing else to do.
    /// Returns false when no active handle is left.
    bool run_once();
    /// Runs one iteration without blocking.
    bool run_nowait();
    /// Makes run() return at the end of the current iteration.
    void stop() noexcept;

    /// Runs `fn` on the loop thread soon. **Thread-safe**: the only member any
    /// thread may call. Functions posted before the loop object is destroyed
    /// but never run are destroyed unrun. A posted function does not keep the
    /// loop alive by itself: it runs if the loop is running (or the next
    /// run()/run_once()/run_nowait() of this object starts).
    void post(unique_function<void()> fn);

    /// Runs `fn` on the loop later in this or the next iteration, never inline.
    /// Loop thread only. Used to complete operations without re-entrancy.
    /// Deferred functions run in the order they were deferred: work deferred
    /// from timer callbacks runs before the poll phase, work deferred from I/O
    /// callbacks right after it; while any is queued the loop stays alive and
    /// does not block in poll.
    void defer(unique_function<void()> fn);

    /// The loop's cached time (updated once per iteration, millisecond precision
    /// from libuv, converted to steady_clock).
    clock::time_point now() const noexcept;
    /// Refreshes the cached time (uv_update_time) and returns it.
    clock::time_point update_time() noexcept;

    /// For objects that hold connections on this loop (a pool): `fn` runs
    /// once, first thing in the event_loop's destructor, so that work still
    /// in flight is ended instead of leaked (a query whose callback holds a
    /// lease holds the connection). Callbacks the hook sets off, such as
    /// completions with errc::closed, run right after it. Returns an id for
    /// remove_closing_hook(), which the owner calls when it goes first.
    std::uint64_t add_closing_hook(unique_function<void()> fn);
    /// Forgets a hook; harmless for an id already run or removed.
    void remove_closing_hook(std::uint64_t id) noexcept;

  private:
    // Internal state shared with watchers, timers and offloaded work; not
    // part of the API.
    friend struct detail::loop_access;

    std::unique_ptr<uv_loop_t> owned_;
    uv_loop_t* loop_ = nullptr;
    detail::loop_state* state_ = nullptr;  // freed after its handles' close callbacks
};

}  // namespace uvdb
