// stop_relay: a stop request from any thread, handed to the loop thread.

#include "stop_relay.hpp"

#include "pool_core.hpp"

namespace uvdb::detail {

void stop_relay::arm(const std::stop_token& token, pool_core& core, handler on_stop, void* record) {
    core_ = &core;
    on_stop_ = on_stop;
    record_ = record;
    fired_.store(false, std::memory_order_relaxed);
    core.add_ref();  // owned by the relay, or by the posted function once it fires
    // Registering publishes the fields above to the thread that requests
    // stop; it may also run fire() right here when stop was requested already.
    callback_.emplace(token, fire{this});
}

void stop_relay::fire::operator()() const noexcept {
    stop_relay& r = *self;
    r.fired_.store(true, std::memory_order_relaxed);
    // No reference counting here (the core's count is not atomic): the
    // posted function adopts the reference arm() took. Should the loop be
    // refusing posts (it is being destroyed), that reference is leaked rather
    // than released on this thread.
    r.core_->loop().post(
        [core = r.core_, on_stop = r.on_stop_, record = r.record_, ticket = r.ticket_] {
            on_stop(*core, record, ticket);
            core->release();
        });
}

void stop_relay::disarm() noexcept {
    if (!callback_) return;
    // Blocks while fire() runs on another thread, so fired_ is final after it.
    callback_.reset();
    ++ticket_;
    if (!fired_.load(std::memory_order_relaxed)) core_->release();
    core_ = nullptr;
}

}  // namespace uvdb::detail
