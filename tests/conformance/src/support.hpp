#pragma once
// Helpers shared by the conformance test cases: synchronous wrappers around
// connect/query for test code, over tests/support's loop-waiting helpers.
//
// Callbacks run inside uv_run (C code): they never REQUIRE or throw. They
// store what they received; the test asserts after the loop returned.

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <uvdb/conformance/target.hpp>
#include <uvdb/driver.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/param.hpp>
#include <uvdb/result_set.hpp>

#include "support/loop_wait.hpp"

namespace uvdb::conformance::detail {

using namespace std::chrono_literals;

/// What one callback received, and how often it was called (must be once).
/// The state is shared with the callback: a driver may still complete it
/// after a failed test has left the frame that owns the slot.
template <class T>
struct slot {
    struct state {
        std::optional<result<T>> value;
        int calls = 0;
    };
    std::shared_ptr<state> st = std::make_shared<state>();
    std::optional<result<T>>& value = st->value;
    int& calls = st->calls;

    slot() = default;
    slot(const slot&) = delete;
    slot& operator=(const slot&) = delete;
    bool done() const noexcept { return st->calls > 0; }
    /// A callback storing into this slot.
    auto sink() {
        return [s = st](result<T> r) {
            ++s->calls;
            s->value.emplace(std::move(r));
        };
    }
};

// Running the loop with a deadline: the one copy every suite shares.
using uvdb::test::run_for;
using uvdb::test::run_until;
using uvdb::test::wait_until;

/// Opens a connection with the target's good options; REQUIREs success.
std::unique_ptr<connection> connect_ok(event_loop& loop, const target& t);

/// One statement, waited for (fails the test when it takes longer than the
/// target's step_timeout).
result<result_set> query_now(event_loop& loop, connection& c, std::string_view sql, params p = {},
                             query_options opts = {});
result<std::vector<result_set>> execute_now(event_loop& loop, connection& c, std::string_view sql);
result<void> ping_now(event_loop& loop, connection& c, std::chrono::milliseconds deadline = 5s);
result<void> reset_now(event_loop& loop, connection& c);

/// `r`'s error as one line for a failure message, or "ok".
template <class T>
std::string describe(const result<T>& r) {
    return r ? std::string("ok") : r.err().to_string();
}

/// Checks that `conn` still answers target().trivial_sql with 1.
void require_usable(event_loop& loop, connection& conn, std::string_view after);

}  // namespace uvdb::conformance::detail
