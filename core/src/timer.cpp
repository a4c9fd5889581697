#include <uv.h>

#include <cassert>
#include <cstdint>
#include <utility>
#include <uvdb/timer.hpp>

namespace uvdb {

// Heap state behind a timer. It outlives the timer object until libuv's close
// callback, so a callback that destroys its own timer is safe.
struct timer::impl {
    uv_timer_t handle{};
    callback cb;
    bool closing = false;

    static void on_timer(uv_timer_t* h) {
        auto* self = static_cast<impl*>(h->data);
        // Taken out while it runs: start() inside the callback may install a
        // new one, and close() must not destroy the running one.
        callback running = std::move(self->cb);
        running();
        // A repeating timer keeps its callback unless it was stopped, closed
        // or restarted with another one meanwhile.
        if (!self->closing && !self->cb && uv_is_active(reinterpret_cast<uv_handle_t*>(h)) != 0) {
            self->cb = std::move(running);
        }
    }
    static void on_closed(uv_handle_t* h) { delete static_cast<impl*>(h->data); }
};

timer::~timer() { close(); }

timer::timer(timer&& other) noexcept
    : loop_(std::exchange(other.loop_, nullptr)), impl_(std::exchange(other.impl_, nullptr)) {}

timer& timer::operator=(timer&& other) noexcept {
    if (this != &other) {
        close();
        loop_ = std::exchange(other.loop_, nullptr);
        impl_ = std::exchange(other.impl_, nullptr);
    }
    return *this;
}

void timer::start(std::chrono::milliseconds after, callback cb, std::chrono::milliseconds repeat) {
    assert(loop_ != nullptr && "uvdb::timer: start() on a timer made without a loop");
    if (impl_ == nullptr) {
        auto* im = new impl;
        uv_timer_init(loop_->native(), &im->handle);  // cannot fail on Linux
        im->handle.data = im;
        impl_ = im;
    }
    impl_->cb = std::move(cb);
    auto ms = [](std::chrono::milliseconds d) {
        return d.count() <= 0 ? std::uint64_t{0} : static_cast<std::uint64_t>(d.count());
    };
    uv_timer_start(&impl_->handle, &impl::on_timer, ms(after), ms(repeat));
}

void timer::stop() noexcept {
    if (impl_ == nullptr) return;
    uv_timer_stop(&impl_->handle);
    impl_->cb = nullptr;
}

bool timer::active() const noexcept {
    return impl_ != nullptr &&
           uv_is_active(reinterpret_cast<const uv_handle_t*>(&impl_->handle)) != 0;
}

void timer::close() noexcept {
    impl* im = std::exchange(impl_, nullptr);
    if (im == nullptr) return;
    im->closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&im->handle), &impl::on_closed);
}

}  // namespace uvdb
