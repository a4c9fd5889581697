// Timers that run only while there is something to do: the idle sweep
// (idle_timeout) and the leak check (leak_threshold).

#include "pool_core.hpp"

namespace uvdb::detail {

void pool_core::maybe_schedule_sweep() {
    if (sweep_timer_ != 0 || closed_ || idle_.size() <= opts_.min_idle) return;
    // The idle list is ordered by idle_since, so its front expires first.
    sweep_timer_ = timers_->schedule(idle_.front().idle_since + opts_.idle_timeout, [this] {
        sweep_timer_ = 0;
        on_sweep();
    });
}

void pool_core::on_sweep() {
    const time_point now = timers_->now();
    while (idle_.size() > opts_.min_idle && now - idle_.front().idle_since >= opts_.idle_timeout) {
        ++idle_closed_;
        discard(idle_.front());
    }
    maybe_schedule_sweep();
}

void pool_core::on_leak_check() {
    const time_point now = timers_->now();
    // Leases are ordered by checkout time: report from the front until one
    // is not overdue yet, then wait for that one.
    while (!leased_.empty() && now - leased_.front().checked_out_at >= opts_.leak_threshold) {
        conn_slot& s = leased_.front();
        leased_.erase(s);
        s.leak_reported = true;
        leaked_.push_back(s);
        ++leaks_reported_;
        report_leak(s, now);
    }
    if (!leased_.empty() && !closed_) {
        leak_timer_ = timers_->schedule(leased_.front().checked_out_at + opts_.leak_threshold, [this] {
            leak_timer_ = 0;
            on_leak_check();
        });
    }
}

}  // namespace uvdb::detail
