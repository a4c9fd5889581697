#pragma once
/// \file
/// The workers of a phase: each is a chain of callbacks that runs its ops
/// back to back on the loop (unpooled, pooled, rag or batch), timing each op from
/// just before it starts to just after it completed. Nothing on this path
/// allocates apart from what the driver and the pool do themselves (and the
/// rag query's parameter vector, which the API takes by value, and the
/// batch scenario's batch, built per op as a caller would).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <uvdb/batch.hpp>
#include <uvdb/driver.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/lease.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/result_set.hpp>

#include "latency_stats.hpp"
#include "scenario.hpp"

namespace uvdb::bench {

using bench_clock = std::chrono::steady_clock;

/// Shared state of the workers of one phase (warm-up or timed).
struct phase {
    event_loop* loop = nullptr;
    op_kind kind = op_kind::pooled;
    uvdb::pool* pool = nullptr;                                      ///< pooled and rag
    uvdb::driver* drv = nullptr;                                     ///< unpooled
    const connect_options* connection = nullptr;                     ///< unpooled
    std::string_view rag_sql = "SELECT $1::int + 1";                 ///< rag (see rag_sql_for)
    std::string_view batch_sql = "SELECT $1::int";                   ///< batch (see batch_sql_for)
    uvdb::batch_mode batch_mode = uvdb::batch_mode::all_or_nothing;  ///< batch
    latency_recorder* latencies = nullptr;  ///< null: nothing recorded (warm-up)
    /// No op starts at or after this moment (the time cap).
    bench_clock::time_point stop_starting_at = bench_clock::time_point::max();

    failure_counter failures;
    std::size_t started = 0;
    std::size_t completed = 0;
    std::size_t running = 0;                ///< workers not yet finished
    bool capped = false;                    ///< some worker stopped early because of the time cap
    std::int64_t acquire_ns = 0;            ///< time spent getting leases, summed over ops
    std::size_t acquired = 0;               ///< ops that got a lease
    bench_clock::time_point finished_at{};  ///< when the last worker finished
};

/// The rag query for this driver: docs/BENCHMARKS.md's `SELECT $1::int + 1` on
/// PostgreSQL (what pgbench runs beside it), the standard SQL spelling of the
/// same query elsewhere (SQLite has no `::`).
std::string_view rag_sql_for(const driver& drv) noexcept;
/// The batch scenario's statement: `SELECT $1::int` on PostgreSQL (what
/// pgbench's pipeline runs beside it), `SELECT CAST($1 AS INTEGER)` elsewhere.
std::string_view batch_sql_for(const driver& drv) noexcept;

/// One worker. Must not move while it runs (its callbacks hold `this`).
class worker {
  public:
    worker() = default;
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;

    /// Starts running `ops` ops. The phase's `running` must already count this worker.
    void start(phase& ph, std::size_t ops);

  private:
    void next();
    void finish();

    void connect();  // unpooled
    void acquire();  // pooled, rag
    void on_lease(lease l);
    void send();
    void on_result(result<result_set> r);
    void send_batch();  // batch
    void on_batch(result<batch_results> r);

    void op_done();
    void op_failed(const error& e);
    void op_wrong(const result_set& rs, int expected);
    /// Gives back (or drops) the op's connection after an error.
    void give_back_after(const error& e);
    void give_back();

    phase* ph_ = nullptr;
    std::size_t left_ = 0;
    int k_ = 0;  // rag: index of the query within the request
    bench_clock::time_point t0_{};
    lease lease_;
    std::unique_ptr<connection> conn_;
};

}  // namespace uvdb::bench
