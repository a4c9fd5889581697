#pragma once
// Cancel requests off the loop. libpq 15's PQcancel opens a new connection to
// the server and blocks until the server has acted on it, so it runs on the
// threadpool — and at most N at once per loop, because libuv's pool is small
// (4 threads by default) and DNS needs it too; a black-holed server would
// otherwise tie up every thread.

#include <libpq-fe.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <uvdb/event_loop.hpp>
#include <uvdb/function.hpp>

namespace uvdb::postgres::detail {

struct pq_free_cancel {
    void operator()(PGcancel* c) const noexcept { PQfreeCancel(c); }
};
using cancel_ptr = std::unique_ptr<PGcancel, pq_free_cancel>;

/// Runs cancel requests of one loop's connections, a bounded number at a time,
/// the rest in FIFO order. Loop thread only.
class cancel_limiter : public std::enable_shared_from_this<cancel_limiter> {
  public:
    /// `sent`: the server acknowledged the request; otherwise `failure` says why
    /// (empty when the request was dropped because it was no longer wanted).
    using done_fn = unique_function<void(bool sent, std::string failure)>;

    cancel_limiter(event_loop& loop, std::size_t max_running) noexcept
        : loop_(loop), max_running_(max_running == 0 ? 1 : max_running) {}

    /// Queues a cancel request. `still_wanted` is asked on the loop thread just
    /// before the request starts (it may have waited); when it says no, the
    /// request is dropped. `done` runs exactly once, on the loop thread, never
    /// inline from submit().
    /// Returns an id for withdraw().
    std::uint64_t submit(cancel_ptr request, unique_function<bool()> still_wanted, done_fn done);

    /// Drops a request that has not started yet; `done` is then never called.
    /// Returns false when it already started (or finished): wait for `done`.
    bool withdraw(std::uint64_t id) noexcept;

    std::size_t running() const noexcept { return running_; }
    std::size_t waiting() const noexcept { return waiting_.size(); }

  private:
    struct job {
        std::uint64_t id = 0;
        cancel_ptr request;
        unique_function<bool()> still_wanted;
        done_fn done;
    };
    void start_ready();

    event_loop& loop_;
    std::size_t max_running_;
    std::size_t running_ = 0;
    bool scheduled_ = false;
    std::uint64_t last_id_ = 0;
    std::deque<job> waiting_;
};

/// One limiter per loop, shared by the connections a driver opens on it.
/// Thread-safe (connections on different loops may open at the same time).
class cancel_limiters {
  public:
    explicit cancel_limiters(std::size_t max_running) noexcept : max_running_(max_running) {}
    std::shared_ptr<cancel_limiter> for_loop(event_loop& loop);

  private:
    std::size_t max_running_;
    std::mutex mutex_;
    std::map<event_loop*, std::weak_ptr<cancel_limiter>> by_loop_;
};

}  // namespace uvdb::postgres::detail
