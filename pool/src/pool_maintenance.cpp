// Timers that run only while there is something to do: the idle sweep
// (idle_timeout, overflow_linger) and the leak check (leak_threshold).

#include <algorithm>

#include "pool_core.hpp"

namespace uvdb::detail {

time_point pool_core::sweep_due() const noexcept {
    const intrusive_list<conn_slot>& idle = slots_.idle();
    if (closed_ || idle.empty()) return time_point::max();
    // The idle list is ordered by idle_since, so its front is due first.
    const time_point since = idle.front().idle_since;
    time_point due = time_point::max();
    if (opts_.idle_timeout.count() > 0 && idle.size() > opts_.min_idle)
        due = since + opts_.idle_timeout;
    if (opts_.overflow_linger.count() > 0 && slots_.total() > opts_.size) {
        due = std::min(due, since + opts_.overflow_linger);
    }
    return due;
}

void pool_core::maybe_schedule_sweep() {
    const time_point due = sweep_due();
    if (sweep_timer_ != 0) {
        if (due >= sweep_at_) return;  // the timer already fires early enough; it re-checks then
        timers_->cancel(sweep_timer_);
        sweep_timer_ = 0;
    }
    if (due == time_point::max()) return;
    sweep_at_ = due;
    sweep_timer_ = timers_->schedule(due, [this] {
        sweep_timer_ = 0;
        on_sweep();
    });
}

void pool_core::on_sweep() {
    const time_point now = timers_->now();
    intrusive_list<conn_slot>& idle = slots_.idle();
    while (!idle.empty()) {
        const auto idle_for = now - idle.front().idle_since;
        if (opts_.idle_timeout.count() > 0 && idle.size() > opts_.min_idle &&
            idle_for >= opts_.idle_timeout) {
            ++idle_closed_;
        } else if (opts_.overflow_linger.count() > 0 && slots_.total() > opts_.size &&
                   idle_for >= opts_.overflow_linger) {
            ++overflow_closed_;
        } else {
            break;
        }
        discard(idle.front());
    }
    maybe_schedule_sweep();
}

void pool_core::on_leak_check() {
    const time_point now = timers_->now();
    // Leases are ordered by checkout time: report from the front until one
    // is not overdue yet, then wait for that one.
    const intrusive_list<conn_slot>& leased = slots_.leased();
    while (!leased.empty() && now - leased.front().checked_out_at >= opts_.leak_threshold) {
        conn_slot& s = slots_.leased().front();
        slots_.set_state(s, slot_state::leaked);
        ++leaks_reported_;
        report_leak(s, now);
    }
    if (!leased.empty() && !closed_) {
        leak_timer_ =
            timers_->schedule(leased.front().checked_out_at + opts_.leak_threshold, [this] {
                leak_timer_ = 0;
                on_leak_check();
            });
    }
}

}  // namespace uvdb::detail
