#include <spdlog/logger.h>
#include <uv.h>

#include <utility>
#include <uvdb/io_watcher.hpp>
#include <uvdb/log.hpp>

namespace uvdb {

// The uv_poll_t lives in its own allocation so reset_socket() can close one
// handle and open another while the watcher (and a callback running on it)
// stays put. Every allocation is freed only from a libuv close callback, or
// directly when no handle exists and no callback is running.
struct io_watcher::impl {
    uv_loop_t* loop = nullptr;
    uv_poll_t* handle = nullptr;  // null after a failed reset_socket
    callback cb;
    int fd = -1;
    unsigned interest = io_none;  // what the user asked for
    int applied = 0;              // UV_* events the handle is started with
    int in_callback = 0;
    bool closed = false;  // close() was called; freed when safe
    bool free_after_callback = false;

    static void on_poll(uv_poll_t* h, int status, int events);
    static void on_handle_closed(uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); }
    static void on_last_handle_closed(uv_handle_t* h) {
        auto* self = static_cast<impl*>(h->data);
        delete reinterpret_cast<uv_poll_t*>(h);
        delete self;
    }

    bool open_handle(int new_fd) {
        auto* h = new uv_poll_t;
        int rc = uv_poll_init(loop, h, new_fd);
        if (rc != 0) {
            delete h;  // never initialised: libuv holds no reference to it
            logger().error("io_watcher: cannot watch socket {}: {}", new_fd, uv_strerror(rc));
            return false;
        }
        h->data = this;
        handle = h;
        applied = 0;
        return true;
    }

    void apply() {
        if (handle == nullptr) return;
        int want = 0;
        if ((interest & io_readable) != 0) want |= UV_READABLE;
        if ((interest & io_writable) != 0) want |= UV_WRITABLE;
        // A peer's hang-up is reported with readable, so the driver reads and
        // learns why. Not asked for without readable interest: it is level
        // triggered and would wake a writer over and over (a hard error or
        // hang-up still arrives as writable, and the write then fails).
        if ((want & UV_READABLE) != 0) want |= UV_DISCONNECT;
        if (want == applied) return;
        if (want == 0) {
            uv_poll_stop(handle);
        } else {
            int rc = uv_poll_start(handle, want, &on_poll);
            if (rc != 0) {
                logger().error("io_watcher: cannot poll socket {}: {}", fd, uv_strerror(rc));
                want = 0;
            }
        }
        applied = want;
    }

    void close_handle(bool last) {
        if (handle == nullptr) return;
        uv_poll_t* h = std::exchange(handle, nullptr);
        if (last) {
            uv_close(reinterpret_cast<uv_handle_t*>(h), &on_last_handle_closed);
        } else {
            h->data = nullptr;
            uv_close(reinterpret_cast<uv_handle_t*>(h), &on_handle_closed);
        }
        applied = 0;
    }
};

void io_watcher::impl::on_poll(uv_poll_t* h, int status, int events) {
    auto* self = static_cast<impl*>(h->data);
    if (self == nullptr || self->closed) return;
    unsigned ev = 0;
    if (status < 0) {
        // libuv stopped the handle; everything is reported so the driver asks
        // its library, which then sees the socket error.
        ev = io_error | io_readable | io_writable;
        // On POLLERR libuv 1.44 (src/unix/poll.c, uv__poll_io) stops the
        // watcher but leaves the fd in the epoll set; the level-triggered
        // error then wakes the loop again and libuv removes it with
        // epoll_ctl(DEL) in a later iteration. By then the driver may have
        // handed the socket to a threadpool thread (PQconnectPoll) that
        // closes it, so that late epoll_ctl races with close() and may even
        // hit a new socket that reused the number (ThreadSanitizer saw it in
        // "multi-host URL: a dead first host is skipped"). uv_poll_stop
        // removes the fd from epoll now, on the loop thread, before the
        // callback lets anyone else touch the socket.
        uv_poll_stop(h);
        self->applied = 0;
    } else {
        if ((events & UV_READABLE) != 0) ev |= io_readable;
        if ((events & UV_WRITABLE) != 0) ev |= io_writable;
        if ((events & UV_DISCONNECT) != 0) ev |= io_error | io_readable;
    }
    ++self->in_callback;
    self->cb(ev);
    --self->in_callback;
    // `self` is still valid: it is freed only by a close callback, and none
    // runs while we are inside this one, or below when no handle is left.
    if (self->free_after_callback && self->in_callback == 0) delete self;
}

io_watcher::io_watcher(event_loop& loop, int fd, callback cb) {
    auto* im = new impl;
    im->loop = loop.native();
    im->cb = std::move(cb);
    im->fd = fd;
    if (!im->open_handle(fd)) {
        delete im;
        return;
    }
    impl_ = im;
}

io_watcher::~io_watcher() { close(); }

io_watcher::io_watcher(io_watcher&& other) noexcept : impl_(std::exchange(other.impl_, nullptr)) {}

io_watcher& io_watcher::operator=(io_watcher&& other) noexcept {
    if (this != &other) {
        close();
        impl_ = std::exchange(other.impl_, nullptr);
    }
    return *this;
}

void io_watcher::set_interest(unsigned events) {
    if (impl_ == nullptr) return;
    impl_->interest = events & (io_readable | io_writable);
    impl_->apply();
}

unsigned io_watcher::interest() const noexcept {
    return impl_ != nullptr ? impl_->interest : io_none;
}

void io_watcher::reset_socket(int fd) {
    if (impl_ == nullptr) return;
    // The old handle goes first: uv_close stops it at once and frees libuv's
    // slot for its fd, and uv_poll_init refuses an fd that is still watched
    // (libpq may reuse the same number for its new socket).
    impl_->close_handle(false);
    impl_->fd = fd;
    if (impl_->open_handle(fd)) impl_->apply();
}

int io_watcher::fd() const noexcept { return impl_ != nullptr ? impl_->fd : -1; }

void io_watcher::close() noexcept {
    impl* im = std::exchange(impl_, nullptr);
    if (im == nullptr) return;
    im->closed = true;
    if (im->handle != nullptr) {
        im->close_handle(true);
    } else if (im->in_callback > 0) {
        im->free_after_callback = true;
    } else {
        delete im;
    }
}

}  // namespace uvdb
