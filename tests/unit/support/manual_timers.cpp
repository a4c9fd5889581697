#include "unit/support/manual_timers.hpp"

namespace uvdb::test {

void manual_timers::advance(clock::duration d, const std::function<void()>& between) {
    const time_point target = now_ + d;
    fire_due(between);
    while (!heap_.empty() && heap_.top() <= target) {
        now_ = heap_.top();
        fire_due(between);
    }
    now_ = target;
    fire_due(between);
}

std::size_t manual_timers::fire_due(const std::function<void()>& between) {
    std::size_t n = 0;
    while (auto cb = heap_.pop_due(now_)) {
        cb();
        ++n;
        if (between) between();
    }
    return n;
}

}  // namespace uvdb::test
