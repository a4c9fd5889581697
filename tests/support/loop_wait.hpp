#pragma once
/// \file
/// Running a loop until something has happened, for every test suite: with
/// a deadline, never hanging. Callbacks run inside uv_run (C code), so they
/// store what they received and never REQUIRE or throw; the test asserts
/// after these return.

#include <chrono>
#include <functional>
#include <string_view>
#include <uvdb/event_loop.hpp>

namespace uvdb::test {

/// Runs the loop until `done()` holds or `timeout` passes; returns whether it
/// held. Never hangs: a watchdog timer wakes the loop every few milliseconds
/// so the deadline is checked even when nothing else is active.
bool wait_until(event_loop& loop, const std::function<bool()>& done,
                std::chrono::milliseconds timeout);

/// wait_until that fails the current test (FAIL) at the deadline, naming `what`.
void run_until(event_loop& loop, const std::function<bool()>& done,
               std::chrono::milliseconds timeout, std::string_view what = "condition");

/// Runs the loop for about `d` (deferred work, timers and close callbacks run).
void run_for(event_loop& loop, std::chrono::milliseconds d);

}  // namespace uvdb::test
