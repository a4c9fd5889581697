#pragma once
// Not installed: what a transaction and its savepoints share, and how the
// pool opens one (pool_transaction.cpp, transaction_retry.cpp).

#include <chrono>
#include <cstdint>
#include <memory>
#include <source_location>
#include <string>
#include <uvdb/event_loop.hpp>
#include <uvdb/lease.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/transaction.hpp>
#include <vector>

namespace uvdb::detail {

class pool_core;

/// One transaction's state, shared by the transaction object, its savepoints
/// and the callbacks of its COMMIT/ROLLBACK (so a savepoint or a completion
/// that outlives the transaction object sees that it ended, and never touches
/// a connection that went back to the pool).
struct tx_state {
    enum class phase : std::uint8_t {
        open,    // statements may run
        ending,  // COMMIT or ROLLBACK in flight
        ended,   // the lease went back (ended_how says how)
    };

    tx_state(lease l, event_loop& loop) : conn(std::move(l)), loop(&loop) {}

    /// A transaction object on a lease inside BEGIN (which succeeded).
    static uvdb::transaction open(lease l, event_loop& loop) {
        return uvdb::transaction(std::move(l), loop);
    }

    /// Whether savepoint `id` at `depth` (1-based) is still on the stack.
    bool savepoint_active(std::uint32_t depth, std::uint32_t id) const noexcept {
        return ph == phase::open && depth >= 1 && stack.size() >= depth && stack[depth - 1] == id;
    }

    lease conn;
    event_loop* loop;
    phase ph = phase::open;
    const char* ended_how = "";  // "committed", "rolled back", …: for the refusal message
    std::uint32_t last_savepoint = 0;
    std::vector<std::uint32_t> stack;  // ids of the open savepoints, outermost first
    /// COPY writers and streams of the transaction not done with its
    /// connection yet: COMMIT/ROLLBACK wait for none of them, they refuse.
    std::uint32_t open_io = 0;
    /// Dropped while open_io > 0: the lease goes back when the last one is done.
    bool release_when_idle = false;
};

/// A writer's or stream's hold on its transaction (tx_scope::hold_for_io).
struct tx_io_hold {
    explicit tx_io_hold(std::shared_ptr<tx_state> s) noexcept : st(std::move(s)) { ++st->open_io; }
    tx_io_hold(const tx_io_hold&) = delete;
    tx_io_hold& operator=(const tx_io_hold&) = delete;
    ~tx_io_hold() {
        if (--st->open_io == 0 && st->release_when_idle) {
            st->release_when_idle = false;
            st->conn.release();  // the reset on return rolls the transaction back
        }
    }
    std::shared_ptr<tx_state> st;
};

/// Acquires a connection (waiting up to `timeout`) and sends BEGIN with
/// `opts` on it; `cb` gets the transaction or the first error (the lease is
/// then given back, or discarded when the error broke it).
void begin_on(pool_core& core, const tx_options& opts, std::chrono::milliseconds timeout,
              std::source_location where, pool::begin_callback cb);

}  // namespace uvdb::detail
