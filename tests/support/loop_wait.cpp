#include "support/loop_wait.hpp"

#include <catch2/catch.hpp>
#include <uvdb/timer.hpp>

namespace uvdb::test {

using namespace std::chrono_literals;

bool wait_until(event_loop& loop, const std::function<bool()>& done,
                std::chrono::milliseconds timeout) {
    if (done()) return true;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // Keeps run_once from blocking for longer than a few milliseconds even
    // when nothing else is active, so the deadline is always checked.
    timer watchdog(loop);
    watchdog.start(
        5ms, [] {}, 5ms);
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        loop.run_once();
    }
    return true;
}

void run_until(event_loop& loop, const std::function<bool()>& done,
               std::chrono::milliseconds timeout, std::string_view what) {
    if (!wait_until(loop, done, timeout)) {
        FAIL("timed out after " << timeout.count() << " ms waiting for " << what);
    }
}

void run_for(event_loop& loop, std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    (void)wait_until(
        loop, [end] { return std::chrono::steady_clock::now() >= end; }, d + 1s);
}

}  // namespace uvdb::test
