#include "integration/support/loop_gap_meter.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace uvdb::test {

loop_gap_meter::loop_gap_meter(event_loop& loop, std::function<int()> phase,
                               std::chrono::milliseconds period)
    : timer_(loop), phase_(std::move(phase)) {
    // The timer fires on this (the loop) thread, so thread-self is the loop thread.
    schedstat_fd_ = ::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    if (schedstat_fd_ >= 0 && run_queue_ns() < 0) {
        ::close(schedstat_fd_);
        schedstat_fd_ = -1;
    }
    reset();
    timer_.start(
        period, [this] { fire(); }, period);
}

loop_gap_meter::~loop_gap_meter() {
    timer_.close();
    if (schedstat_fd_ >= 0) ::close(schedstat_fd_);
}

void loop_gap_meter::reset() {
    gap_.fill({});
    own_gap_.fill({});
    last_ = std::chrono::steady_clock::now();
    last_wait_ns_ = run_queue_ns();
}

void loop_gap_meter::stop() { timer_.stop(); }

std::int64_t loop_gap_meter::run_queue_ns() const {
    if (schedstat_fd_ < 0) return -1;
    // "<ns on cpu> <ns waiting on a run queue> <timeslices>"
    char buf[96];
    const ssize_t n = ::pread(schedstat_fd_, buf, sizeof buf - 1, 0);
    if (n <= 0) return -1;
    buf[n] = '\0';
    char* end = nullptr;
    (void)std::strtoll(buf, &end, 10);
    if (end == buf) return -1;
    char* end2 = nullptr;
    const long long wait = std::strtoll(end, &end2, 10);
    return end2 == end ? -1 : wait;
}

void loop_gap_meter::fire() {
    const auto now = std::chrono::steady_clock::now();
    const std::int64_t wait = run_queue_ns();
    const auto gap = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_);
    auto own = gap;
    if (wait >= 0 && last_wait_ns_ >= 0)
        own -= std::chrono::nanoseconds(std::max<std::int64_t>(0, wait - last_wait_ns_));
    const int p = phase_ ? std::clamp(phase_(), 0, max_phases - 1) : 0;
    gap_[p] = std::max(gap_[p], gap);
    own_gap_[p] = std::max(own_gap_[p], own);
    last_ = now;
    last_wait_ns_ = wait;
}

double loop_gap_meter::largest_gap_ms(int phase) const {
    return std::chrono::duration<double, std::milli>(gap_.at(phase)).count();
}

double loop_gap_meter::largest_own_gap_ms(int phase) const {
    return std::chrono::duration<double, std::milli>(own_gap_.at(phase)).count();
}

}  // namespace uvdb::test
