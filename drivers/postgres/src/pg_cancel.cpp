#include "pg_cancel.hpp"

#include <array>
#include <uvdb/offload.hpp>

namespace uvdb::postgres::detail {

std::uint64_t cancel_limiter::submit(cancel_ptr request, unique_function<bool()> still_wanted,
                                     done_fn done) {
    const std::uint64_t id = ++last_id_;
    waiting_.push_back(job{id, std::move(request), std::move(still_wanted), std::move(done)});
    // Starting from a deferred step keeps `still_wanted` and `done` out of the
    // caller's stack frame, where they could re-enter it.
    if (!scheduled_) {
        scheduled_ = true;
        loop_.defer([self = shared_from_this()] {
            self->scheduled_ = false;
            self->start_ready();
        });
    }
    return id;
}

bool cancel_limiter::withdraw(std::uint64_t id) noexcept {
    for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
        if (it->id == id) {
            waiting_.erase(it);
            return true;
        }
    }
    return false;
}

void cancel_limiter::start_ready() {
    while (running_ < max_running_ && !waiting_.empty()) {
        job j = std::move(waiting_.front());
        waiting_.pop_front();
        if (!j.still_wanted()) {
            j.done(false, {});
            continue;
        }
        ++running_;
        struct outcome {
            bool sent = false;
            std::array<char, 256> err{};
        };
        auto out = std::make_unique<outcome>();
        outcome* raw_out = out.get();
        PGcancel* raw_req = j.request.get();
        offload(
            loop_,
            [raw_req, raw_out] {
                raw_out->sent = PQcancel(raw_req, raw_out->err.data(),
                                         static_cast<int>(raw_out->err.size())) == 1;
            },
            [self = shared_from_this(), req = std::move(j.request), out = std::move(out),
             done = std::move(j.done)]() mutable {
                req.reset();
                --self->running_;
                std::string failure = out->sent ? std::string() : std::string(out->err.data());
                if (!out->sent && failure.empty()) failure = "the cancel request failed";
                done(out->sent, std::move(failure));
                self->start_ready();
            });
    }
}

std::shared_ptr<cancel_limiter> cancel_limiters::for_loop(event_loop& loop) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = by_loop_.begin(); it != by_loop_.end();) {
        if (it->second.expired()) {
            it = by_loop_.erase(it);
        } else {
            ++it;
        }
    }
    auto& slot = by_loop_[&loop];
    auto l = slot.lock();
    if (!l) {
        l = std::make_shared<cancel_limiter>(loop, max_running_);
        slot = l;
    }
    return l;
}

}  // namespace uvdb::postgres::detail
