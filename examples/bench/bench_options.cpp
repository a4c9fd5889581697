#include "bench_options.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>

#include "scenario.hpp"

namespace uvdb::bench {

namespace {

std::optional<std::size_t> parse_count(std::string_view s) {
    std::size_t v = 0;
    const auto* end = s.data() + s.size();
    auto [p, ec] = std::from_chars(s.data(), end, v);
    if (ec != std::errc() || p != end || s.empty()) return std::nullopt;
    return v;
}

std::optional<double> parse_seconds(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::string copy(s);
    char* end = nullptr;
    const double v = std::strtod(copy.c_str(), &end);
    if (end != copy.c_str() + copy.size() || !std::isfinite(v) || v < 0) return std::nullopt;
    return v;
}

}  // namespace

std::optional<bench_options> parse_options(int argc, const char* const* argv, std::string& error) {
    bench_options o;
    if (const char* cap = std::getenv("BENCH_MAX_SECONDS"); cap != nullptr && *cap != '\0') {
        auto v = parse_seconds(cap);
        if (!v || *v <= 0) {
            error = "BENCH_MAX_SECONDS must be a positive number of seconds";
            return std::nullopt;
        }
        o.max_seconds = *v;
    }

    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        std::string_view name = arg;
        std::optional<std::string_view> inline_value;
        if (arg.starts_with("--")) {
            if (auto eq = arg.find('='); eq != std::string_view::npos) {
                name = arg.substr(0, eq);
                inline_value = arg.substr(eq + 1);
            }
        }
        // Takes the option's value from "--name=value" or the next argument.
        auto value = [&]() -> std::optional<std::string_view> {
            if (inline_value) return inline_value;
            if (i + 1 < argc) return std::string_view(argv[++i]);
            error = std::string(name) + " needs a value";
            return std::nullopt;
        };
        auto count = [&](std::optional<std::size_t>& out, std::size_t min) -> bool {
            auto v = value();
            if (!v) return false;
            auto n = parse_count(*v);
            if (!n || *n < min) {
                error = std::string(name) + " must be a whole number ≥ " + std::to_string(min) +
                        ", not \"" + std::string(*v) + "\"";
                return false;
            }
            out = *n;
            return true;
        };
        auto seconds = [&](std::optional<double>& out) -> bool {
            auto v = value();
            if (!v) return false;
            auto s = parse_seconds(*v);
            if (!s) {
                error = std::string(name) + " must be a number of seconds ≥ 0, not \"" +
                        std::string(*v) + "\"";
                return false;
            }
            out = s;
            return true;
        };
        auto text = [&](auto& out) -> bool {
            auto v = value();
            if (!v) return false;
            out = std::string(*v);
            return true;
        };

        bool ok = true;
        if (name == "-h" || name == "--help") {
            o.help = true;
        } else if (name == "--json") {
            o.json = true;
        } else if (name == "--quiet" || name == "-q") {
            o.quiet = true;
        } else if (name == "--pre-ping") {
            o.pre_ping = true;
        } else if (name == "--no-pre-ping") {
            o.pre_ping = false;
        } else if (name == "--url") {
            ok = text(o.url);
        } else if (name == "--config") {
            ok = text(o.config_file);
        } else if (name == "--svg") {
            ok = text(o.svg_file);
        } else if (name == "--scenario") {
            std::string s;
            ok = text(s);
            if (ok) o.scenarios.push_back(std::move(s));
        } else if (name == "--concurrency") {
            ok = count(o.concurrency, 1);
        } else if (name == "--ops") {
            ok = count(o.ops, 1);
        } else if (name == "--warmup") {
            ok = count(o.warmup, 0);
        } else if (name == "--pool-size") {
            ok = count(o.pool_size, 0);
        } else if (name == "--metrics-port") {
            ok = count(o.metrics_port, 0);
            if (ok && *o.metrics_port > 65535) {
                error = "--metrics-port must be a TCP port (0-65535)";
                return std::nullopt;
            }
        } else if (name == "--min-idle") {
            ok = count(o.min_idle, 0);
        } else if (name == "--max-overflow") {
            ok = count(o.max_overflow, 0);
        } else if (name == "--pipeline-depth") {
            ok = count(o.pipeline_depth, 0);
        } else if (name == "--batch-independent") {
            o.batch_independent = true;
        } else if (name == "--timeout") {
            ok = seconds(o.timeout_s);
        } else if (name == "--recycle") {
            ok = seconds(o.recycle_s);
        } else if (name == "--overflow-delay") {
            auto v = value();
            ok = v.has_value();
            if (ok && *v == "auto") {
                o.overflow_delay_s.emplace(std::nullopt);
            } else if (ok) {
                auto s = parse_seconds(*v);
                if (s) {
                    o.overflow_delay_s.emplace(*s);
                } else {
                    error = "--overflow-delay must be \"auto\" or a number of seconds ≥ 0, not \"" +
                            std::string(*v) + "\"";
                    ok = false;
                }
            }
        } else if (name == "--rss-soak") {
            ok = seconds(o.rss_soak_s);
        } else if (arg.starts_with("-") && arg.size() > 1) {
            error = "unknown option " + std::string(name) + " (see --help)";
            ok = false;
        } else {
            positional.emplace_back(arg);
        }
        if (!ok) return std::nullopt;
    }

    if (positional.size() > 1) {
        error = "give one scenario as an argument, or several with --scenario NAME";
        return std::nullopt;
    }
    if (positional.size() == 1) o.scenarios.push_back(positional.front());
    for (const auto& s : o.scenarios) {
        if (find_scenario(s) == nullptr) {
            error = "unknown scenario \"" + s + "\"; the scenarios are " + scenario_names();
            return std::nullopt;
        }
    }
    if (!o.svg_file.empty() && o.svg_file.starts_with("-")) {
        error = "--svg needs a file name";
        return std::nullopt;
    }
    return o;
}

std::string usage_text(const char* program) {
    std::string p = program != nullptr ? program : "uvdb-bench";
    return "usage: " + p + R"( [options] [SCENARIO]

Measures what a connection pool is for, as described in docs/BENCHMARKS.md, on
any driver uvdb has: PostgreSQL, SQLite, or a plugin found in UVDB_DRIVER_PATH
(the URL's scheme chooses). Scenarios: )" +
           scenario_names() + R"(
(the first five by default, in that order; batch only when named).

Connection: --url, else DATABASE_URL, else (PostgreSQL) libpq's PGHOST, PGPORT, PGUSER,
PGPASSWORD, PGDATABASE, PGSSLMODE… (--config FILE: uvdb's TOML configuration,
environment applied on top as usual; --url and the pool options below win).

Options:
  --url URL              postgresql://user:password@host:port/db?sslmode=…,
                         sqlite:///abs/path/bench.db, or a plugin driver's URL
  --config FILE          read connection and pool settings from a uvdb TOML file
  --scenario NAME        run this scenario (repeatable); a single positional
                         scenario name works too: uvdb-bench --json conc_pooled
  --concurrency W        workers of the concurrent scenarios (conc_*, rag, batch)
  --ops N                ops (rag: requests, batch: batches) of every selected scenario
  --warmup N             untimed ops before the timed phase of the pooled scenarios
                         (default 100 seq_pooled, 1000 conc_pooled, 100 rag, 100 batch;
                         with --ops,
                         at most N)
  --pool-size N          persistent connections (default 20)
  --max-overflow N       extra connections under load (default 40)
  --pipeline-depth N     pool.query statements a busy connection may carry at once
                         (pipelining, docs/CONNECTION_POOLING.md; 0 = off)
  --batch-independent    the batch scenario's batches are independent (a Sync per
                         statement) instead of all-or-nothing (one Sync per batch,
                         what pgbench's \startpipeline … \endpipeline sends)
  --min-idle N           connections the pool opens when it is created and keeps
                         ready, at most --pool-size (default 0: opened on demand)
  --timeout S            seconds an acquire may wait (default 30)
  --overflow-delay S|auto
                         how long a caller waits for a returned connection before an
                         overflow connection is opened for it (default auto: the pool's
                         recent connect time; 0 = at once, as SQLAlchemy's QueuePool)
  --recycle S            replace connections older than S seconds (default 3600, 0 = never)
  --pre-ping, --no-pre-ping
                         ping connections that sat idle before handing them out (default on)
  --rss-soak S           instead of the scenarios: open a pool of --pool-size connections
                         (default here 60, all opened first), keep each busy (SELECT 1
                         every 50 ms) for S seconds, report RSS at start, end and max
  --metrics-port N       serve each pooled scenario's pool on http://127.0.0.1:N/metrics
                         (Prometheus text) while it runs: for measuring a scrape's cost
  --json                 one JSON object per scenario per line on stdout, nothing else
  --svg FILE             write a latency chart (self-contained SVG)
  --quiet, -q            no progress bar, no notes on stderr
  -h, --help             this text

Environment: BENCH_MAX_SECONDS (default 30): no op starts later than this into
a scenario's timed phase; its notes then begin with TIME-CAPPED.
UVDB_DRIVER_PATH: colon-separated directories of driver plugins (libuvdb-*.so).
)";
}

}  // namespace uvdb::bench
