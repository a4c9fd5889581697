#pragma once
/// \file
/// The scenarios of docs/BENCHMARKS.md (workers, ops, warm-up, what one op
/// is) and what a run of one of them measured.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "latency_stats.hpp"

namespace uvdb::bench {

/// What one op does.
enum class op_kind : std::uint8_t {
    unpooled,  ///< connect (TCP + TLS + SCRAM + startup) → SELECT 1 → close
    pooled,    ///< acquire → SELECT 1 → read result → release
    /// pool.query("SELECT 1"): the pool's one-call form (acquire, run,
    /// release inside the pool), pipelined onto busy connections when
    /// pipeline_depth allows.
    pool_query,
    rag,    ///< acquire one lease → 10 × SELECT $1::int + 1 → release
    batch,  ///< pool.batch of 100 × SELECT $1::int (one connection, issued at once)
};

/// One row of the scenario table in docs/BENCHMARKS.md.
struct scenario_spec {
    std::string_view name;
    op_kind kind;
    std::size_t workers;      ///< W: concurrent callers on the loop
    std::size_t ops;          ///< N: ops (rag: requests) in the timed phase
    std::size_t warmup_ops;   ///< untimed, same concurrency, after the pool is created
    unsigned queries_per_op;  ///< 10 for rag, 100 for batch, else 1
    bool concurrent;          ///< --concurrency applies to it
    bool by_default;          ///< runs when no scenario is named
};

/// Every scenario, those that run by default in their order first.
const std::array<scenario_spec, 6>& all_scenarios() noexcept;
/// The scenario of that name, or nullptr.
const scenario_spec* find_scenario(std::string_view name) noexcept;
/// "seq_unpooled, seq_pooled, …" for messages.
std::string scenario_names();

/// Ops of worker `i` of `workers` when `ops` are split statically:
/// floor(N/W) + (i < N mod W ? 1 : 0).
std::size_t ops_of_worker(std::size_t ops, std::size_t workers, std::size_t i) noexcept;

/// Pool counters over the timed phase (pooled scenarios only).
struct pool_deltas {
    std::uint64_t checkouts = 0;  ///< acquires
    std::uint64_t pings = 0;      ///< pre-pings (a round trip each)
    std::uint64_t connects = 0;   ///< connections opened during the phase
    std::uint64_t timeouts = 0;
    std::uint64_t pipelined = 0;  ///< pool.query statements sent behind others (pipelining)
};

/// What one scenario measured.
struct scenario_result {
    scenario_spec spec;   ///< with the workers/ops actually used
    std::size_t ops = 0;  ///< ops started (fewer than spec.ops when time-capped)
    std::uint64_t failures = 0;
    failure_counter failure_detail;
    double seconds = 0;        ///< wall clock of the timed phase
    double client_cpu_s = -1;  ///< user + sys over the timed phase; < 0: unknown
    bool time_capped = false;
    latency_summary latency;              ///< of successful ops
    std::vector<std::int64_t> sorted_ns;  ///< every successful op's latency, sorted
    double mean_acquire_ms = -1;          ///< pooled: mean time to get a lease; < 0: n/a
    bool has_pool = false;
    pool_deltas pool;
    /// The pool's sizing advice at the end of the run (pool::advise), one
    /// line each; empty for unpooled scenarios.
    std::string advice;
    std::string notes;

    /// (ops − failures) / seconds, or < 0 when seconds is 0.
    double ops_per_s() const noexcept;
    /// Client CPU per query in µs, or < 0 when unknown.
    double cpu_us_per_query() const noexcept;
};

}  // namespace uvdb::bench
