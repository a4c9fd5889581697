#pragma once
/// \file
/// uvdb's driver conformance suite: Catch2 2.13 test cases (tag
/// [conformance]) that check any uvdb::driver against the contract in
/// <uvdb/driver.hpp> — through the connection interface and through
/// uvdb::pool. A driver author describes the driver once as a `target` and
/// links the static library `uvdb::conformance` into a Catch2 test program:
///
/// ```cpp
/// #define CATCH_CONFIG_MAIN            // or link your own Catch2 main
/// #include <catch2/catch.hpp>
/// #include <uvdb/conformance/target.hpp>
///
/// static uvdb::conformance::registration reg([] {
///     uvdb::conformance::target t;
///     t.name = "mydb";
///     t.driver = mydb::make_driver();
///     t.options = [] { uvdb::connect_options o; o.url = "mydb://…"; return o; };
///     t.long_running_sql = "SELECT mydb_sleep(30)";
///     return t;
/// });
/// ```
///
/// Every test case opens its own event loop and connections. Optional parts of
/// the target left empty skip their checks with a printed reason (WARN), so a
/// run shows what was not checked. Run one case with its name, e.g.
/// `./my_conformance "conformance: cancel*"`, or all with `[conformance]`.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <uvdb/driver.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/function.hpp>
#include <uvdb/result.hpp>

namespace uvdb {
struct pool_options;  // <uvdb/pool_options.hpp>
}  // namespace uvdb

namespace uvdb::conformance {

/// What the suite needs to know about one driver. Plain data.
struct target {
    /// Shown in messages ("sqlite", "postgresql").
    std::string name;
    /// The driver under test.
    std::shared_ptr<uvdb::driver> driver;
    /// Options of a connection that works. Called once per connection; may
    /// return a new database each time (e.g. a fresh file).
    std::function<connect_options()> options;
    /// Options of a connection that must fail to connect (an unreachable
    /// server, a missing directory). Empty: the check is skipped.
    std::function<connect_options()> bad_options;

    // SQL in the driver's dialect. The defaults are standard SQL.

    /// A statement that returns one row with one column holding 1.
    std::string trivial_sql = "SELECT 1";
    /// Returns its five parameters as one row, in order: an integer (64 bit),
    /// a double, a text, a byte string and a NULL text.
    std::string echo_sql = "SELECT $1, $2, $3, $4, $5";
    /// A statement the driver rejects (not fatal).
    std::string syntax_error_sql = "SELEC 1 FROM";
    /// Runs at least 10 seconds unless interrupted. Empty: cancel and timeout
    /// checks are skipped.
    std::string long_running_sql;
    /// A two-statement script for execute() that returns two results.
    std::string script_sql = "SELECT 1; SELECT 2";
    /// Creates a session-local table with one integer column named x, called
    /// `conformance_t` (used by the reset check; run once per connection).
    std::string create_table_sql = "CREATE TEMP TABLE conformance_t (x integer)";
    std::string begin_sql = "BEGIN";
    std::string insert_sql = "INSERT INTO conformance_t VALUES (1)";
    /// Returns the number of rows of conformance_t as one integer.
    std::string count_sql = "SELECT count(*) FROM conformance_t";

    /// Makes `conn` unusable from outside, as a crash or an administrator
    /// would (PostgreSQL: pg_terminate_backend). Calls `done` when the kill
    /// has happened (on the loop thread). The next statement on `conn` must
    /// then fail with is_fatal(). Empty: the fatal-error checks are skipped.
    std::function<void(event_loop& loop, connection& conn,
                       unique_function<void(result<void>)> done)>
        kill;

    /// Adjusts the options of the pools the suite makes (after its own
    /// sizes and timeout), e.g. a deployment preset's (the PgBouncer runner
    /// turns on transaction_pooler). Empty: the suite's own options.
    std::function<void(pool_options&)> adjust_pool;

    /// How long one step of a check may take before the test fails (a
    /// safety net against hangs, not a speed assertion).
    std::chrono::milliseconds step_timeout{15'000};
};

/// The target the suite runs against (made on first use). Fails the current
/// test when no `registration` exists.
const target& current_target();

/// Registers the target factory; define exactly one, at namespace scope, in
/// the test program. The factory runs once, lazily, on the first test.
class registration {
  public:
    explicit registration(std::function<target()> make);
};

}  // namespace uvdb::conformance
