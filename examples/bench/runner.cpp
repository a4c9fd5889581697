#include "runner.hpp"

#include <sys/resource.h>

#include <cinttypes>
#include <cstdio>
#include <optional>
#include <utility>
#include <uvdb/metrics_server.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/pool_stats.hpp>
#include <uvdb/timer.hpp>

#include "progress_bar.hpp"

namespace uvdb::bench {

namespace {

double cpu_seconds() noexcept {
    rusage ru{};
    if (::getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    auto secs = [](const timeval& tv) {
        return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    return secs(ru.ru_utime) + secs(ru.ru_stime);
}

std::string fmt(const char* format, auto... args) {
    char buf[256];
    std::snprintf(buf, sizeof buf, format, args...);
    return buf;
}

}  // namespace

scenario_runner::scenario_runner(event_loop& loop, std::shared_ptr<driver> drv,
                                 run_settings settings)
    : loop_(loop), driver_(std::move(drv)), settings_(std::move(settings)) {}

pool_options scenario_runner::pool_for(const scenario_spec& spec) const {
    pool_options o = settings_.pool;
    // pgbench's rate excludes opening its connections; a batch holds a
    // connection for one round trip, so the 100 batch callers would have the
    // pool open its connections inside the timed phase (TLS + SCRAM, a few
    // ms of CPU each, on both sides), which pgbench never counts.
    if (spec.kind == op_kind::batch && settings_.batch_prefill) o.min_idle = o.size;
    return o;
}

std::string scenario_runner::pool_note(const pool_options& o) const {
    std::string recycle = o.recycle.count() <= 0 ? "never" : fmt("%g", o.recycle.count() / 1000.0);
    std::string delay = o.overflow_delay
                            ? fmt("%g", static_cast<double>(o.overflow_delay->count()) / 1000.0)
                            : "auto";
    std::string min_idle = o.min_idle != 0 ? fmt(",min_idle=%zu", o.min_idle) : "";
    if (o.pipeline_depth > 1) min_idle += fmt(",pipeline_depth=%zu", o.pipeline_depth);
    return fmt("pool(%zu,%zu,%s,recycle=%s,overflow_delay=%s%s)", o.size, o.max_overflow,
               o.pre_ping ? "pre_ping" : "no_pre_ping", recycle.c_str(), delay.c_str(),
               min_idle.c_str());
}

void scenario_runner::run_phase(phase& ph, const scenario_spec& spec, std::size_t ops) {
    // Workers are made (and the phase's state sized) before the clock starts.
    std::unique_ptr<worker[]> workers(new worker[spec.workers]);
    ph.running = spec.workers;
    for (std::size_t i = 0; i < spec.workers && ph.running > 0; ++i) {
        workers[i].start(ph, ops_of_worker(ops, spec.workers, i));
    }
    while (ph.running > 0) {
        if (!loop_.run_once()) break;  // nothing left on the loop: cannot happen while workers run
    }
    if (ph.running > 0) {
        std::fprintf(stderr, "uvdb-bench: %zu workers of %s never finished (the loop ran dry)\n",
                     ph.running, std::string(spec.name).c_str());
        ph.finished_at = bench_clock::now();
    }
}

std::size_t scenario_runner::wait_for_connects(pool& db) {
    // Connects the warm-up or min_idle started are finished (untimed) before
    // the clock starts, so the timed phase does not pay for their handshakes.
    // With overflow_linger the connections they bring stay open meanwhile.
    const std::size_t in_flight = db.stats().connecting;
    const auto give_up = bench_clock::now() + std::chrono::seconds(10);
    timer tick(loop_);
    while (db.stats().connecting + db.stats().pending > 0 && bench_clock::now() < give_up) {
        tick.start(std::chrono::milliseconds{1}, [] {});
        loop_.run_once();
    }
    return in_flight;
}

void scenario_runner::settle(std::chrono::milliseconds ms) {
    bool done = false;
    timer t(loop_);
    t.start(ms, [&done] { done = true; });
    while (!done) {
        if (!loop_.run_once()) break;
    }
}

std::string scenario_runner::round_trip_note(const scenario_result& r) const {
    const char* unit = r.spec.kind == op_kind::rag ? "request" : "op";
    if (r.spec.kind == op_kind::batch) {
        // How many round trips a batch costs is the driver's business (one
        // when it pipelines the whole batch, one per statement when not).
        std::string note = fmt("%u statements per batch, issued at once on one connection (%" PRIu64
                               " pre-pings in %" PRIu64 " checkouts)",
                               r.spec.queries_per_op, r.pool.pings, r.pool.checkouts);
        if (r.pool.connects != 0) {
            note += fmt("; %" PRIu64 " connection%s opened during the timed phase", r.pool.connects,
                        r.pool.connects == 1 ? "" : "s");
        }
        return note;
    }
    if (!r.has_pool) {
        return fmt("no pool; new connection per %s (%s) + 1 query round trip", unit,
                   settings_.connect_steps.c_str());
    }
    const double per_op = r.pool.checkouts == 0
                              ? static_cast<double>(r.spec.queries_per_op)
                              : r.spec.queries_per_op + static_cast<double>(r.pool.pings) /
                                                            static_cast<double>(r.pool.checkouts);
    std::string note =
        fmt("%.2f round trips per %s (%" PRIu64 " pre-pings in %" PRIu64 " checkouts)", per_op,
            unit, r.pool.pings, r.pool.checkouts);
    if (r.pool.connects != 0) {
        note += fmt("; %" PRIu64 " connection%s opened during the timed phase", r.pool.connects,
                    r.pool.connects == 1 ? "" : "s");
    }
    if (r.pool.pipelined != 0) {
        note += fmt("; %" PRIu64 " statements pipelined behind others", r.pool.pipelined);
    }
    return note;
}

scenario_result scenario_runner::run(const scenario_spec& spec) {
    scenario_result res;
    res.spec = spec;
    latency_recorder latencies(spec.ops);
    std::optional<pool> db;
    std::optional<metrics_server> metrics;  // declared after db: stops first
    std::uint64_t warmup_failures = 0;
    std::size_t warmup_connects = 0;

    if (spec.kind != op_kind::unpooled) {
        db.emplace(loop_, driver_, pool_for(spec));
        res.has_pool = true;
        if (settings_.metrics_port >= 0) {
            auto started = metrics_server::start(
                loop_, "127.0.0.1", static_cast<std::uint16_t>(settings_.metrics_port), {&*db});
            if (started) {
                metrics.emplace(std::move(*started));
            } else {
                std::fprintf(stderr, "uvdb-bench: %s\n", started.err().to_string().c_str());
            }
        }
        if (spec.warmup_ops > 0) {
            phase warm;
            warm.loop = &loop_;
            warm.kind = spec.kind;
            warm.pool = &*db;
            warm.rag_sql = settings_.rag_sql;
            warm.batch_sql = settings_.batch_sql;
            warm.batch_mode = settings_.batch_mode;
            run_phase(warm, spec, spec.warmup_ops);
            warmup_failures = warm.failures.total();
        }
        // The warm-up's connects, or the pre-fill of min_idle, finish before the clock starts.
        warmup_connects = wait_for_connects(*db);
    }

    phase ph;
    ph.loop = &loop_;
    ph.kind = spec.kind;
    ph.pool = db ? &*db : nullptr;
    ph.drv = driver_.get();
    ph.connection = &settings_.pool.connection;
    ph.rag_sql = settings_.rag_sql;
    ph.batch_sql = settings_.batch_sql;
    ph.batch_mode = settings_.batch_mode;
    ph.latencies = &latencies;

    progress_bar bar(loop_, settings_.progress);
    bar.start(spec.name, &ph.completed, spec.ops);
    const pool_stats before = db ? db->stats() : pool_stats{};
    const double cpu0 = cpu_seconds();
    const auto t0 = bench_clock::now();
    ph.stop_starting_at = t0 + std::chrono::duration_cast<bench_clock::duration>(
                                   std::chrono::duration<double>(settings_.max_seconds));
    run_phase(ph, spec, spec.ops);
    const double cpu1 = cpu_seconds();
    bar.stop();

    res.seconds = std::chrono::duration<double>(ph.finished_at - t0).count();
    res.client_cpu_s = cpu0 < 0 || cpu1 < 0 ? -1 : cpu1 - cpu0;
    res.ops = ph.started;
    res.failures = ph.failures.total();
    res.failure_detail = std::move(ph.failures);
    res.time_capped = ph.capped;
    res.sorted_ns = latencies.take();
    res.latency = summarize(res.sorted_ns);
    if (ph.acquired != 0) {
        res.mean_acquire_ms =
            static_cast<double>(ph.acquire_ns) / static_cast<double>(ph.acquired) / 1e6;
    }
    if (db) {
        const pool_stats after = db->stats();
        res.pool.checkouts = after.acquires - before.acquires;
        res.pool.pings = after.pings - before.pings;
        res.pool.connects = after.connects - before.connects;
        res.pool.timeouts = after.timeouts - before.timeouts;
        res.pool.pipelined = after.pipelined - before.pipelined;
        metrics.reset();
        // The advisor's ceiling: the server's max_connections, read once.
        bool limit_read = false;
        db->read_server_limit([&limit_read](result<void>) { limit_read = true; });
        while (!limit_read && loop_.run_once()) {
        }
        res.advice = db->advise().to_string();
        db->close();
        db.reset();
    }
    // Closed connections' server backends take a moment to exit; the next
    // scenario must not find them still counted against max_connections.
    settle(std::chrono::milliseconds{300});

    std::string notes;
    if (res.time_capped) {
        notes += fmt("TIME-CAPPED: no op started after %g s (%zu of %zu ran); ",
                     settings_.max_seconds, res.ops, spec.ops);
    }
    if (!settings_.server_note.empty()) notes += settings_.server_note + "; ";
    if (res.has_pool) notes += pool_note(pool_for(spec)) + "; ";
    notes += round_trip_note(res);
    if (warmup_failures != 0) notes += fmt("; %" PRIu64 " warm-up ops failed", warmup_failures);
    if (warmup_connects != 0) {
        notes +=
            fmt("; the clock started after the %zu connects in flight (warm-up, min_idle) finished",
                warmup_connects);
    }
    res.notes = std::move(notes);
    return res;
}

}  // namespace uvdb::bench
