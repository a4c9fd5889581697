#pragma once
/// \file
/// The seam between drivers and libuv, part 1: readiness of a socket.
/// Drivers never include uv.h; they ask the core for a watcher on their socket.

#include <memory>
#include <uvdb/event_loop.hpp>
#include <uvdb/function.hpp>

namespace uvdb {

/// Readiness bits passed to and from an io_watcher.
enum io_events : unsigned {
    io_none = 0,
    io_readable = 1u << 0,
    io_writable = 1u << 1,
    io_error = 1u << 2,  ///< error or hang-up on the socket; the driver should read to learn what
};

/// Watches one socket for readiness (uv_poll_t underneath). Move-only; the
/// destructor stops and closes the handle, and its memory is freed only after
/// libuv's close callback. Loop thread only.
class io_watcher {
  public:
    /// Receives the events that became ready. May destroy or re-target the watcher.
    using callback = unique_function<void(unsigned events)>;

    io_watcher() noexcept = default;
    /// Watches `fd` (no interest yet: call set_interest). On an invalid fd the
    /// failure is logged and the watcher is not open (check is_open()).
    io_watcher(event_loop& loop, int fd, callback cb);
    ~io_watcher();
    io_watcher(io_watcher&& other) noexcept;
    io_watcher& operator=(io_watcher&& other) noexcept;
    io_watcher(const io_watcher&) = delete;
    io_watcher& operator=(const io_watcher&) = delete;

    /// Sets which of io_readable / io_writable to wait for; io_none stops
    /// watching. Idempotent and cheap when unchanged.
    void set_interest(unsigned events);
    unsigned interest() const noexcept;

    /// Follows a socket that changed (libpq may open a new socket between
    /// connect polls, even with the same fd number): the old handle is closed
    /// first, then a new one is made for `fd`; interest is kept. If `fd` cannot be
    /// watched, the failure is logged and no events arrive until the next reset.
    void reset_socket(int fd);
    int fd() const noexcept;

    /// Stops watching and closes the handle. Idempotent; legal inside the callback.
    void close() noexcept;
    bool is_open() const noexcept { return impl_ != nullptr; }

    struct impl;

  private:
    impl* impl_ = nullptr;
};

}  // namespace uvdb
