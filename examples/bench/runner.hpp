#pragma once
/// \file
/// Runs the scenarios: W workers as W chains of callbacks on one loop, a
/// warm-up, then a timed phase whose every op's latency is recorded.

#include <memory>
#include <string>
#include <string_view>
#include <uvdb/driver.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/pool_options.hpp>

#include "scenario.hpp"
#include "workers.hpp"

namespace uvdb::bench {

/// Where to connect, the pool's settings and what to say in notes.
struct run_settings {
    /// Pool settings; pool.connection is also how unpooled ops connect.
    pool_options pool;
    /// No op starts later than this into a timed phase.
    double max_seconds = 30;
    /// Draw a progress bar on stderr.
    bool progress = false;
    /// Put at the start of every scenario's notes (e.g. "TLSv1.3", "SQLite 3.40.1 in-process").
    std::string server_note;
    /// What opening one connection costs, for the unpooled notes ("TCP+TLS+SCRAM").
    std::string connect_steps = "TCP+TLS+SCRAM";
    /// The rag query (rag_sql_for the driver).
    std::string_view rag_sql = "SELECT $1::int + 1";
    /// The batch scenario's statement (batch_sql_for the driver).
    std::string_view batch_sql = "SELECT $1::int";
    /// The batch scenario's mode: all-or-nothing (one Sync per batch, as
    /// pgbench's \startpipeline … \endpipeline) or independent (a Sync each).
    uvdb::batch_mode batch_mode = uvdb::batch_mode::all_or_nothing;
    /// The batch scenario's pool opens its pool_size connections before the
    /// clock (min_idle = size), as pgbench's rate excludes its connects.
    /// Off when --min-idle is given.
    bool batch_prefill = true;
    /// Serve the scenario's pool on 127.0.0.1:port/metrics (-1: no).
    int metrics_port = -1;
};

/// Runs scenarios one after another. Each pooled scenario creates its own
/// pool before its warm-up and closes it (and lets the server's backends go)
/// before the next scenario starts, so that an unpooled scenario is not
/// short of server connections because of a pool that is no longer used.
class scenario_runner {
  public:
    scenario_runner(event_loop& loop, std::shared_ptr<driver> drv, run_settings settings);

    /// Runs one scenario (spec already adjusted for --ops/--concurrency).
    scenario_result run(const scenario_spec& spec);

    /// "pool(20,40,pre_ping,recycle=3600,overflow_delay=auto)".
    /// The pool options of `spec`'s pool (the batch scenario's is pre-filled).
    pool_options pool_for(const scenario_spec& spec) const;
    std::string pool_note(const pool_options& o) const;

  private:
    /// Runs `ops` ops split over spec.workers workers until every worker is done.
    void run_phase(phase& ph, const scenario_spec& spec, std::size_t ops);
    /// Runs the loop for `ms` without work of ours (lets closed backends exit).
    void settle(std::chrono::milliseconds ms);
    /// Runs the loop until the pool has no connect, ping or reset in flight
    /// (at most 10 s); returns how many connects were in flight at the start.
    std::size_t wait_for_connects(pool& db);
    std::string round_trip_note(const scenario_result& r) const;

    event_loop& loop_;
    std::shared_ptr<driver> driver_;
    run_settings settings_;
};

}  // namespace uvdb::bench
