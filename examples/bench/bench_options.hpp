#pragma once
/// \file
/// uvdb-bench's command line (and BENCH_MAX_SECONDS), parsed into plain data.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace uvdb::bench {

struct bench_options {
    std::optional<std::string> url;          ///< --url (may hold a password: never print it)
    std::optional<std::string> config_file;  ///< --config FILE
    std::vector<std::string> scenarios;      ///< --scenario NAME… or one positional; empty: all
    std::optional<std::size_t> concurrency;  ///< W of the concurrent scenarios
    std::optional<std::size_t> ops;          ///< N of every selected scenario
    std::optional<std::size_t> warmup;       ///< warm-up ops of the pooled scenarios
    std::optional<std::size_t> pool_size;
    std::optional<std::size_t> max_overflow;
    std::optional<std::size_t> pipeline_depth;  ///< pool_options::pipeline_depth
    bool batch_independent = false;             ///< --batch-independent: batch_mode::independent
    std::optional<std::size_t> min_idle;        ///< pre-filled connections (pool_options::min_idle)
    std::optional<double> timeout_s;            ///< pool acquire timeout
    std::optional<double> recycle_s;            ///< 0: never
    std::optional<bool> pre_ping;
    /// --overflow-delay: seconds, or "auto" (the pool's default). Outer
    /// nullopt: not given; inner nullopt: auto.
    std::optional<std::optional<double>> overflow_delay_s;
    std::optional<double>
        rss_soak_s;  ///< --rss-soak SECONDS: the memory soak instead of the scenarios
    /// --metrics-port N: serve each scenario's pool on 127.0.0.1:N/metrics
    /// (metrics_server) while it runs, to measure what being scraped costs.
    std::optional<std::size_t> metrics_port;
    bool json = false;
    bool quiet = false;
    std::string svg_file;     ///< empty: no chart
    double max_seconds = 30;  ///< BENCH_MAX_SECONDS: no op starts later
    bool help = false;
};

/// Parses argv (and BENCH_MAX_SECONDS from the environment). On a mistake
/// returns nullopt and puts a one-line reason into `error`.
std::optional<bench_options> parse_options(int argc, const char* const* argv, std::string& error);

/// The --help text.
std::string usage_text(const char* program);

}  // namespace uvdb::bench
