#pragma once
// A loop-driven fake driver for the conformance suite. Why a second fake:
// tests/unit/support/fake_driver.* runs on a manual clock and completes
// operations when a test steps it — right for deterministic pool tests, but
// the conformance suite drives every driver the same way, by running a real
// uvdb::event_loop. This one completes everything through the loop (defer and
// timers) and follows the uvdb::connection contract, so the suite checks the
// suite itself (and the pool over a driver without I/O).
//
// Its "SQL" (one word per statement, `;` separates a script):
//   SELECT <n>   one row, one int64 column holding n
//   ECHO <k>     one row holding the k parameters; fewer or more is an error
//   SLEEP        runs 60 s unless cancelled or past its deadline
//   BOOM         a statement error (SQLSTATE 42601)
//   CREATE, BEGIN, INSERT, COUNT, ROLLBACK, COMMIT: a one-table transaction model
// URLs: fake://ok connects, fake://down fails with errc::connect_failed.

#include <memory>
#include <uvdb/driver.hpp>

namespace uvdb::test {

std::shared_ptr<uvdb::driver> make_loop_fake_driver();

/// Breaks `c` (a connection of the loop fake) as a dropped link would: its
/// next operation fails fatally. False when `c` is not a loop fake connection.
bool kill_loop_fake(connection& c);

}  // namespace uvdb::test
