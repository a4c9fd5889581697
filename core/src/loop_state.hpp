#pragma once
/// \file
/// The heap state behind an event_loop: uvdb's own libuv handles, the deferred
/// and posted queues, and the bookkeeping that lets the state outlive the
/// event_loop object until libuv has finished with every handle and request.

#include <uv.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>
#include <uvdb/event_loop.hpp>
#include <uvdb/function.hpp>
#include <vector>

namespace uvdb::detail {

/// A threadpool or resolver request in flight. Linked into loop_state so the
/// destructor can cancel queued ones and so their completions, arriving after
/// the event_loop object is gone, find out it is gone instead of touching it.
struct pending_request {
    pending_request* prev = nullptr;
    pending_request* next = nullptr;
    virtual ~pending_request() = default;
    /// The libuv request to uv_cancel when the loop object goes away.
    virtual uv_req_t* native() noexcept = 0;
};

struct loop_state {
    using task = unique_function<void()>;

    explicit loop_state(uv_loop_t* loop);
    loop_state(const loop_state&) = delete;
    loop_state& operator=(const loop_state&) = delete;

    uv_loop_t* loop;
    /// steady_clock time at uv_now() == 0, so now() is offset + uv_now ms.
    std::chrono::steady_clock::time_point epoch;

    uv_async_t async{};
    uv_prepare_t prepare{};
    uv_check_t check{};
    uv_idle_t idle{};  // started only to make the poll phase non-blocking

    // Loop-thread queue: defer() appends to queue_, drain() swaps it into
    // running_ so both keep their capacity and steady state never allocates.
    std::vector<task> queue;
    std::vector<task> running;
    bool referenced = false;
    bool idle_started = false;

    // Cross-thread queue, the same double-buffer under a mutex.
    std::mutex post_mutex;
    std::vector<task> posted;     // guarded by post_mutex
    bool accepting_posts = true;  // guarded by post_mutex
    std::vector<task> posted_running;

    pending_request* requests = nullptr;  // intrusive list of requests in flight
    std::size_t request_count = 0;

    // Run once by ~event_loop, before shutdown(); see event_loop::add_closing_hook.
    std::vector<std::pair<std::uint64_t, task>> closing_hooks;
    std::uint64_t next_hook_id = 1;

    int open_handles = 0;        // uvdb handles not yet through their close callback
    bool dead = false;           // the event_loop object is gone (or going)
    bool* freed_flag = nullptr;  // set when the state frees itself (owned loops wait for it)

    /// Appends to the loop-thread queue; drops `fn` when the loop is shutting down.
    void defer(task fn);
    /// Thread-safe append to the posted queue.
    void post(task fn);
    /// Moves everything posted so far into the loop-thread queue, so a run that
    /// starts with nothing else alive still runs work posted before it.
    void adopt_posted();

    void link(pending_request* r) noexcept;
    /// Unlinks a finished request; returns true when the state is dead and was
    /// freed by this call (then nothing else may be touched).
    bool finish(pending_request* r) noexcept;

    /// Called by ~event_loop first: runs the closing hooks, then the work they
    /// deferred (completions with errc::closed), while the loop is whole.
    void run_closing_hooks() noexcept;

    /// Called by ~event_loop: stops accepting work, destroys queued work unrun,
    /// cancels queued requests and closes the handles. The state frees itself
    /// once the last close callback and the last request completion have run.
    void shutdown() noexcept;

    /// Frees the state when nothing refers to it any more. Returns true if freed.
    bool release_if_unused() noexcept;

  private:
    void drain();
    void update_refs() noexcept;
    void run_posted();
    static void clear_tasks(std::vector<task>& tasks) noexcept;

    static void on_async(uv_async_t* h);
    static void on_prepare(uv_prepare_t* h);
    static void on_check(uv_check_t* h);
    static void on_idle(uv_idle_t* h);
    static void on_handle_closed(uv_handle_t* h);
};

/// How core's sources reach an event_loop's state (event_loop::state_ is
/// private: applications never see loop_state).
struct loop_access {
    static loop_state& state(event_loop& loop) noexcept { return *loop.state_; }
};

}  // namespace uvdb::detail
