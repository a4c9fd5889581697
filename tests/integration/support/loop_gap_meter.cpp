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
    std::int64_t cpu = 0;
    std::int64_t wait = 0;
    if (schedstat_fd_ >= 0 && !read_schedstat(cpu, wait)) {
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
    blocked_.fill({});
    last_ = std::chrono::steady_clock::now();
    if (!read_schedstat(last_cpu_ns_, last_wait_ns_)) last_cpu_ns_ = last_wait_ns_ = -1;
}

void loop_gap_meter::stop() { timer_.stop(); }

bool loop_gap_meter::read_schedstat(std::int64_t& cpu_ns, std::int64_t& wait_ns) const {
    if (schedstat_fd_ < 0) return false;
    // "<ns on cpu> <ns waiting on a run queue> <timeslices>"
    char buf[96];
    const ssize_t n = ::pread(schedstat_fd_, buf, sizeof buf - 1, 0);
    if (n <= 0) return false;
    buf[n] = '\0';
    char* end = nullptr;
    const long long cpu = std::strtoll(buf, &end, 10);
    if (end == buf) return false;
    char* end2 = nullptr;
    const long long wait = std::strtoll(end, &end2, 10);
    if (end2 == end) return false;
    cpu_ns = cpu;
    wait_ns = wait;
    return true;
}

void loop_gap_meter::fire() {
    const auto now = std::chrono::steady_clock::now();
    std::int64_t cpu = -1;
    std::int64_t wait = -1;
    const bool known = read_schedstat(cpu, wait) && last_wait_ns_ >= 0;
    const auto gap = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_);
    auto own = gap;
    auto blocked = gap;
    if (known) {
        own -= std::chrono::nanoseconds(std::max<std::int64_t>(0, wait - last_wait_ns_));
        blocked = own - std::chrono::nanoseconds(std::max<std::int64_t>(0, cpu - last_cpu_ns_));
        blocked = std::max(blocked, std::chrono::nanoseconds{0});
    }
    const int p = phase_ ? std::clamp(phase_(), 0, max_phases - 1) : 0;
    gap_[p] = std::max(gap_[p], gap);
    own_gap_[p] = std::max(own_gap_[p], own);
    blocked_[p] = std::max(blocked_[p], blocked);
    last_ = now;
    last_wait_ns_ = wait;
    last_cpu_ns_ = cpu;
}

double loop_gap_meter::largest_gap_ms(int phase) const {
    return std::chrono::duration<double, std::milli>(gap_.at(phase)).count();
}

double loop_gap_meter::largest_own_gap_ms(int phase) const {
    return std::chrono::duration<double, std::milli>(own_gap_.at(phase)).count();
}

double loop_gap_meter::largest_blocked_ms(int phase) const {
    return std::chrono::duration<double, std::milli>(blocked_.at(phase)).count();
}

}  // namespace uvdb::test
