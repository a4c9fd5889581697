#pragma once
/// \file
/// Per-statement hooks of a uvdb::pool (pool_options::hooks) and the report
/// of pool::drain.
///
/// Every statement run through a pool passes one place: pool.query, and
/// lease.query / lease.execute (which transactions, tx_scope and savepoints
/// use, BEGIN/COMMIT/ROLLBACK included). There the pool times it (into
/// pool_stats::operation_time), calls the hooks and writes the slow-query
/// log. Statements sent on the connection object itself (`l->query(…)`,
/// `l.get().query(…)`, a connection opened without a pool) and the pool's own
/// pings and reset statements are not seen.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <source_location>
#include <string_view>
#include <uvdb/error.hpp>

namespace uvdb {

class connection;

/// What a hook learns about one statement. Valid during the hook call only.
struct statement_info {
    /// The SQL text (a script for lease.execute).
    std::string_view sql;
    /// How many parameters it carries ($1…; 0 for a script).
    std::size_t param_count = 0;
    /// A script (lease.execute), not a single statement with parameters.
    bool script = false;
    /// The connection running it; `conn->describe()` gives a description
    /// without secrets (it builds a string: call it only when needed).
    const connection* conn = nullptr;
    /// The call site: pool.query's caller, or for statements on a lease
    /// (transactions included) where the lease was acquired.
    std::source_location where{};
};

/// How the statement ended.
struct statement_outcome {
    /// From the moment the pool handed the statement to the driver until its
    /// result came back (the wait for a connection is not included).
    std::chrono::microseconds duration{0};
    /// Rows affected (INSERT/UPDATE/DELETE) or returned, as the driver
    /// reports them (a script: the sum over its statements); 0 on error.
    std::uint64_t rows = 0;
    /// The error, or null on success.
    const error* err = nullptr;
};

/// Callbacks around every statement run through a pool. Both run on the
/// loop thread, `before` just before the statement goes to the driver and
/// `after` just before the caller's callback. They must be quick and must
/// not block; an exception they throw is logged and swallowed, never
/// breaking the statement. An empty std::function costs one test.
struct query_hooks {
    std::function<void(const statement_info&)> before;
    std::function<void(const statement_info&, const statement_outcome&)> after;
};

/// What pool::drain reports when it has finished.
struct drain_report {
    /// Leases out when drain() was called.
    std::size_t leases_at_start = 0;
    /// Leases given back between the call and the end of the drain.
    std::size_t finished = 0;
    /// Leases still out when the deadline passed; their connections were
    /// closed (their statements fail with errc::closed). 0 when every lease
    /// came back in time.
    std::size_t still_out = 0;
    /// Whether the deadline ended the drain (otherwise the last lease did).
    bool deadline_reached = false;
    /// How long the drain took.
    std::chrono::milliseconds took{0};
};

}  // namespace uvdb
