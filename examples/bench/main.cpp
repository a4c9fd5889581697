// uvdb-bench: measures what users pick a pool for (docs/BENCHMARKS.md): a new
// connection per query (for PostgreSQL: TLS + SCRAM) against a pool, one at
// a time and with 100 concurrent callers, and a 10-query "RAG" request. Any
// driver the registry reaches runs it: PostgreSQL, SQLite, or a plugin from
// UVDB_DRIVER_PATH, chosen by the URL's scheme.
//
//   uvdb-bench                           all five scenarios, tables on stdout
//   uvdb-bench --json conc_pooled        one JSON line per scenario, nothing else on stdout
//   uvdb-bench --url postgresql://… --scenario seq_pooled --scenario rag --svg latency.svg
//   uvdb-bench --url sqlite:///tmp/bench.db --json
//
// Everything runs on one libuv loop: W workers are W chains of callbacks.

#include <spdlog/logger.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <uvdb/driver_registry.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/log.hpp>
#include <vector>

#include "bench_driver.hpp"
#include "bench_options.hpp"
#include "progress_bar.hpp"
#include "report_json.hpp"
#include "report_table.hpp"
#include "rss_soak.hpp"
#include "runner.hpp"
#include "scenario.hpp"
#include "svg_chart.hpp"
#include "target.hpp"

namespace {

using namespace uvdb::bench;

/// The scenarios to run, with --ops and --concurrency applied.
std::vector<scenario_spec> selected_scenarios(const bench_options& o) {
    std::vector<scenario_spec> out;
    auto add = [&](scenario_spec s) {
        if (o.ops) {
            s.ops = *o.ops;
            s.warmup_ops = std::min(s.warmup_ops, s.ops);  // a short run gets a short warm-up
        }
        if (o.warmup && s.kind != uvdb::bench::op_kind::unpooled) s.warmup_ops = *o.warmup;
        if (o.concurrency && s.concurrent) s.workers = *o.concurrency;
        out.push_back(s);
    };
    if (o.scenarios.empty()) {
        for (const auto& s : all_scenarios()) {
            if (s.by_default) add(s);
        }
    } else {
        for (const auto& name : o.scenarios) add(*find_scenario(name));
    }
    return out;
}

std::string seconds_text(std::chrono::milliseconds ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(ms.count()) / 1000.0);
    return buf;
}

}  // namespace

int main(int argc, char** argv) {
    std::string problem;
    auto opts = parse_options(argc, argv, problem);
    if (!opts) {
        std::fprintf(stderr, "uvdb-bench: %s\n", problem.c_str());
        return 2;
    }
    if (opts->help) {
        std::fputs(usage_text(argv[0]).c_str(), stdout);
        return 0;
    }
    // stdout carries only results; uvdb's own lines (stderr) only when they
    // matter, unless the user asked for more with UVDB_LOG_LEVEL.
    if (std::getenv("UVDB_LOG_LEVEL") == nullptr) uvdb::logger().set_level(spdlog::level::warn);

    auto tgt = resolve_target(*opts);
    if (!tgt) {
        std::fprintf(stderr, "uvdb-bench: %s\n", tgt.err().to_string().c_str());
        return 2;
    }

    // Declared in this order, the drivers (and their connections) go before the loop does.
    uvdb::event_loop loop;
    uvdb::driver_registry registry;
    register_bench_drivers(registry, opts->quiet);
    auto chosen = driver_for(registry, tgt->pool.connection.url);
    if (!chosen) {
        std::fprintf(stderr, "uvdb-bench: %s\n", chosen.err().to_string().c_str());
        return 2;
    }
    std::shared_ptr<uvdb::driver> drv = std::move(*chosen);
    const std::string_view rag_sql = rag_sql_for(*drv);

    // Once, before any timing: what is the server, and is this a TLS
    // connection, as in production?
    auto probe = probe_server(loop, *drv, tgt->pool.connection, rag_sql);
    if (!probe) {
        std::fprintf(stderr, "uvdb-bench: cannot connect to %s (from %s): %s\n",
                     tgt->described.c_str(), tgt->source.c_str(), probe.err().to_string().c_str());
        return 1;
    }
    const uvdb::server_facts& facts = probe->server;
    if (facts.tls == false && !opts->quiet) {
        std::fprintf(stderr,
                     "uvdb-bench: warning: the connection does not use TLS; docs/BENCHMARKS.md "
                     "measures TLS + SCRAM connections (sslmode=require or verify-full)\n");
    }

    if (opts->rss_soak_s) {
        soak_settings soak;
        soak.pool = tgt->pool;
        if (!opts->pool_size) soak.pool.size = 60;
        soak.seconds = *opts->rss_soak_s;
        soak.json = opts->json;
        soak.quiet = opts->quiet;
        return run_rss_soak(loop, drv, soak);
    }

    std::vector<scenario_spec> specs = selected_scenarios(*opts);
    if (!probe->rag_problem.empty()) {
        // The one scenario that needs more than SELECT 1: skipped, not failed,
        // on a driver that cannot run its query.
        const auto before = specs.size();
        std::erase_if(specs,
                      [](const scenario_spec& s) { return s.kind == uvdb::bench::op_kind::rag; });
        if (specs.size() != before && !opts->quiet) {
            std::fprintf(stderr, "uvdb-bench: note: rag skipped: driver \"%s\" cannot run %s: %s\n",
                         std::string(drv->name()).c_str(), std::string(rag_sql).c_str(),
                         probe->rag_problem.c_str());
        }
        if (specs.empty()) {
            std::fprintf(stderr, "uvdb-bench: nothing left to run\n");
            return 1;
        }
    }
    for (const auto& s : specs) {
        if (s.kind == uvdb::bench::op_kind::unpooled && facts.max_connections > 0 &&
            s.workers + 3 > static_cast<std::size_t>(facts.max_connections) && !opts->quiet) {
            std::fprintf(
                stderr,
                "uvdb-bench: warning: %s opens %zu connections at once but the server allows "
                "max_connections=%d (3 reserved for superusers): expect too_many_connections\n",
                std::string(s.name).c_str(), s.workers, facts.max_connections);
        }
    }

    run_settings settings;
    settings.pool = tgt->pool;
    settings.max_seconds = opts->max_seconds;
    settings.progress = !opts->json && !opts->quiet && progress_bar::stderr_is_terminal();
    settings.server_note = transport_note(facts);
    // A network server's connect is TCP (+ TLS) + authentication; an
    // in-process one opens a file.
    if (facts.tls) {
        settings.connect_steps = *facts.tls ? "TCP+TLS+SCRAM" : "TCP, no TLS";
    } else {
        settings.connect_steps = "open + close";
    }
    settings.rag_sql = rag_sql;
    settings.batch_sql = batch_sql_for(*drv);
    if (opts->batch_independent) settings.batch_mode = uvdb::batch_mode::independent;
    settings.batch_prefill = !opts->min_idle.has_value();
    if (opts->metrics_port) settings.metrics_port = static_cast<int>(*opts->metrics_port);
    scenario_runner runner(loop, drv, settings);

    std::vector<scenario_result> results;
    for (const auto& spec : specs) {
        if (!opts->quiet && !settings.progress) {
            std::fprintf(stderr, "uvdb-bench: %s: %zu worker%s, %zu %s…\n",
                         std::string(spec.name).c_str(), spec.workers, spec.workers == 1 ? "" : "s",
                         spec.ops,
                         spec.kind == uvdb::bench::op_kind::rag     ? "requests"
                         : spec.kind == uvdb::bench::op_kind::batch ? "batches"
                                                                    : "ops");
        }
        scenario_result r = runner.run(spec);
        if (opts->json) {
            std::printf("%s\n", json_line(r).c_str());
            std::fflush(stdout);  // a reader sees each scenario as soon as it is done
        }
        results.push_back(std::move(r));
    }

    const std::string server = server_line(facts);
    if (!opts->json) {
        run_header h;
        h.target = tgt->described;
        h.source = tgt->source;
        h.server = server;
        h.pool = runner.pool_note(tgt->pool) + ", timeout " + seconds_text(tgt->pool.timeout) +
                 ", BENCH_MAX_SECONDS=" + std::to_string(static_cast<long>(opts->max_seconds));
        print_report(stdout, h, results);
        // What the pool's sizing advisor makes of the load each ran.
        for (const auto& r : results) {
            if (r.advice.empty() || (r.spec.name != "conc_pooled" && r.spec.name != "rag"))
                continue;
            std::printf("\nsizing advice for %s: %s\n", std::string(r.spec.name).c_str(),
                        r.advice.c_str());
        }
    }
    if (!opts->svg_file.empty()) {
        std::string why;
        if (!write_latency_chart(opts->svg_file, results,
                                 server + "; " + runner.pool_note(tgt->pool), why)) {
            std::fprintf(stderr, "uvdb-bench: %s\n", why.c_str());
            return 1;
        }
        if (!opts->quiet)
            std::fprintf(stderr, "uvdb-bench: latency chart written to %s\n",
                         opts->svg_file.c_str());
    }
    return 0;
}
