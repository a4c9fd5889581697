#pragma once
// Not installed: how a batch runs on one connection (batch_run.cpp), shared
// by the pool's, the lease's and the transaction's entry points
// (batch_calls.cpp).

#include <cstdint>
#include <string_view>
#include <uvdb/batch.hpp>
#include <uvdb/driver.hpp>
#include <uvdb/event_loop.hpp>

namespace uvdb::detail {

/// What an all-or-nothing batch runs between.
enum class batch_wrap : std::uint8_t {
    none,         // independent: nothing
    transaction,  // BEGIN … COMMIT (ROLLBACK when a statement failed)
    savepoint,    // inside an open transaction: SAVEPOINT … RELEASE (ROLLBACK TO when one failed)
};

/// How an all-or-nothing batch's error starts: "batch statement #3 of 10 …"
/// (batch_statement_index reads it back).
inline constexpr std::string_view batch_statement_prefix = "batch statement #";

/// The wrap `b` needs on a connection whose transaction status is `status`
/// (as it last saw it): none for an independent batch, a savepoint inside a
/// transaction, BEGIN … COMMIT otherwise.
batch_wrap wrap_for(const batch& b, tx_status status) noexcept;

/// Runs `b` on `c`: every statement (and the wrap's opening statement) is
/// issued at once, each with its own callback; once all have answered, an
/// all-or-nothing batch issues its COMMIT, RELEASE or rollback. `cb` runs
/// once, from the loop: after the last answer, or deferred on `loop` when
/// `b` cannot run (errc::bad_input; nothing is sent). `c` must outlive the
/// run (every callback of a connection runs, closed ones included).
void run_batch(connection& c, event_loop& loop, batch b, batch_wrap wrap, const query_options& opts,
               batch_callback cb);

}  // namespace uvdb::detail
