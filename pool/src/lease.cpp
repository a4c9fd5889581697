#include <uvdb/lease.hpp>

#include "pool_core.hpp"

namespace uvdb {

lease::lease(detail::pool_core* core, detail::conn_slot* slot, connection* conn) noexcept
    : core_(core), slot_(slot), conn_(conn) {
    core_->add_ref();
}

void lease::give_back(mode m, const error* cause) noexcept {
    // The lease only says how it gives the connection back and why; what
    // that means for the connection (reset, reuse, close) is checkin's call.
    detail::pool_core* core = core_;
    detail::conn_slot* slot = slot_;
    // Emptied first: checkin may run callbacks that look at this lease.
    core_ = nullptr;
    slot_ = nullptr;
    conn_ = nullptr;
    core->checkin(slot, m, cause);
    core->release();
}

connection& lease::statements() const noexcept { return slot_->gate; }

std::chrono::milliseconds lease::held_for() const noexcept {
    if (slot_ == nullptr) return std::chrono::milliseconds{0};
    return std::chrono::duration_cast<std::chrono::milliseconds>(core_->now() -
                                                                 slot_->checked_out_at);
}

std::source_location lease::acquired_at() const noexcept {
    return slot_ != nullptr ? slot_->acquired_at : std::source_location{};
}

}  // namespace uvdb
