#pragma once
/// \file
/// `uvdb::metrics`: pools' stats under the OpenTelemetry database-client
/// semantic-convention names, through a visitor (feed any backend: the
/// OpenTelemetry C++ SDK, statsd, a log line) and as Prometheus text
/// (exposition format 0.0.4), which is built on the same visitor.
///
///     std::string text = uvdb::metrics::render_prometheus({&orders_db, &users_db});
///     uvdb::metrics::visit({&db}, [](const uvdb::metrics::sample& s) { ... });
///
/// docs/OPERATIONS.md lists every metric. metrics_server.hpp serves
/// the text on /metrics.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <uvdb/pool_stats.hpp>
#include <vector>

namespace uvdb {

class pool;

namespace metrics {

enum class metric_type : std::uint8_t {
    gauge,      ///< a value now (OpenTelemetry UpDownCounter or gauge)
    counter,    ///< a monotonic count since the pool was created
    histogram,  ///< durations; `sample::histogram` holds the buckets
};

struct label {
    std::string_view name;  ///< Prometheus spelling, e.g. "db_client_connection_pool_name"
    std::string_view value;
};

/// One value of one metric for one pool (and, for the connection count,
/// one state). The visitor sees all samples of a metric one after another,
/// pool by pool, before the next metric.
struct sample {
    std::string_view name;        ///< OpenTelemetry name: "db.client.connection.count"
    std::string_view prometheus;  ///< Prometheus family name: "db_client_connection_count",
                                  ///< "…_timeouts_total", "…_wait_time_seconds"
    std::string_view unit;        ///< UCUM as OpenTelemetry gives it: "{connection}", "s"
    std::string_view help;        ///< one line
    metric_type type = metric_type::gauge;
    std::span<const label> labels;  ///< the pool name first, then e.g. the state
    double value = 0;               ///< gauges and counters (seconds for durations)
    /// Histograms only: buckets and sum in µs (wait_histogram::upper_bounds_us);
    /// report them in seconds (divide by 1e6) as the unit says.
    const wait_histogram* histogram = nullptr;
};

using visitor = std::function<void(const sample&)>;

/// A pool's values at one moment, with what metrics need beyond pool_stats.
struct pool_snapshot {
    std::string name = "default";  ///< pool_options::name
    std::size_t min_idle = 0;      ///< pool_options::min_idle
    pool_stats stats;
};

/// Takes one pool's snapshot (cheap: no I/O). Loop thread only, like every
/// other call on a pool.
pool_snapshot snapshot(const pool& p);

/// Calls `fn` for every sample of the given snapshots / pools.
void visit_snapshots(std::span<const pool_snapshot> pools, const visitor& fn);
void visit(const std::vector<const pool*>& pools, const visitor& fn);

/// Prometheus text exposition format 0.0.4 (Content-Type
/// `text/plain; version=0.0.4; charset=utf-8`): `# HELP` and `# TYPE` once
/// per family, then its samples.
std::string render_prometheus_snapshots(std::span<const pool_snapshot> pools);
std::string render_prometheus(const std::vector<const pool*>& pools);

/// The Content-Type of render_prometheus's text.
inline constexpr std::string_view prometheus_content_type =
    "text/plain; version=0.0.4; charset=utf-8";

}  // namespace metrics
}  // namespace uvdb
