// The one list of metrics uvdb exports: every backend (the Prometheus text in
// metrics_prometheus.cpp, an application's own visitor) walks it through
// visit_snapshots, so a metric's name, type and meaning live here alone.
//
// Names follow the OpenTelemetry semantic conventions for database client
// metrics (docs/OPERATIONS.md cites the version); the Prometheus
// spelling is the one OpenTelemetry's Prometheus exporter gives them: dots to
// underscores, unit `s` as `_seconds`, counters `_total`, and an annotation
// unit such as {connection} dropped.

#include <array>
#include <uvdb/metrics.hpp>
#include <uvdb/pool.hpp>

namespace uvdb::metrics {
namespace {

constexpr std::string_view pool_label = "db_client_connection_pool_name";
constexpr std::string_view state_label = "db_client_connection_state";

struct family {
    std::string_view name, prometheus, unit, help;
    metric_type type;
};

double seconds_from_us(std::int64_t us) { return static_cast<double>(us) / 1e6; }

// Walks one family over every pool; `value` gives the pool's number.
template <class Value>
void each_pool(std::span<const pool_snapshot> pools, const visitor& fn, const family& f,
               Value&& value) {
    for (const pool_snapshot& p : pools) {
        const std::array<label, 1> labels{{{pool_label, p.name}}};
        sample s{f.name, f.prometheus, f.unit, f.help, f.type, labels, 0.0, nullptr};
        s.value = static_cast<double>(value(p.stats, p));
        fn(s);
    }
}

void each_histogram(std::span<const pool_snapshot> pools, const visitor& fn, const family& f,
                    wait_histogram pool_stats::*member) {
    for (const pool_snapshot& p : pools) {
        const std::array<label, 1> labels{{{pool_label, p.name}}};
        fn(sample{f.name, f.prometheus, f.unit, f.help, metric_type::histogram, labels, 0.0,
                  &(p.stats.*member)});
    }
}

}  // namespace

pool_snapshot snapshot(const pool& p) {
    pool_snapshot s;
    s.name = p.options().name;
    s.min_idle = p.options().min_idle;
    s.stats = p.stats();
    return s;
}

void visit(const std::vector<const pool*>& pools, const visitor& fn) {
    std::vector<pool_snapshot> snaps;
    snaps.reserve(pools.size());
    for (const pool* p : pools) snaps.push_back(snapshot(*p));
    visit_snapshots(snaps, fn);
}

void visit_snapshots(std::span<const pool_snapshot> pools, const visitor& fn) {
    using mt = metric_type;
    using st = pool_stats;
    using ps = pool_snapshot;

    // ---- OpenTelemetry database client: connection pools.
    {
        // Connections a caller holds are "used"; idle ones "idle". Those being
        // opened, pinged or reset are neither (uvdb_pool_connecting and
        // uvdb_pool_checking below).
        constexpr family f{
            "db.client.connection.count", "db_client_connection_count", "{connection}",
            "Connections currently in the state given by db_client_connection_state", mt::gauge};
        for (const pool_snapshot& p : pools) {
            for (const bool idle : {true, false}) {
                const std::array<label, 2> labels{
                    {{pool_label, p.name}, {state_label, idle ? "idle" : "used"}}};
                sample s{f.name, f.prometheus, f.unit, f.help, f.type, labels, 0.0, nullptr};
                s.value = static_cast<double>(idle ? p.stats.idle : p.stats.checked_out);
                fn(s);
            }
        }
    }
    // Overflow connections may sit idle (overflow_linger), so as many as
    // size + max_overflow can be idle at once.
    each_pool(pools, fn,
              {"db.client.connection.idle.max", "db_client_connection_idle_max", "{connection}",
               "The most idle open connections allowed (size + max_overflow)", mt::gauge},
              [](const st& s, const ps&) { return s.size + s.max_overflow; });
    each_pool(pools, fn,
              {"db.client.connection.idle.min", "db_client_connection_idle_min", "{connection}",
               "The fewest idle open connections kept (min_idle)", mt::gauge},
              [](const st&, const ps& p) { return p.min_idle; });
    each_pool(pools, fn,
              {"db.client.connection.limit", "db_client_connection_limit", "{connection}",
               "The most open connections allowed (size + max_overflow)", mt::gauge},
              [](const st& s, const ps&) { return s.size + s.max_overflow; });
    // The name before the conventions renamed it to .limit; emitted as well
    // while dashboards move.
    each_pool(pools, fn,
              {"db.client.connection.max", "db_client_connection_max", "{connection}",
               "The most open connections allowed (size + max_overflow); former name of "
               "db_client_connection_limit",
               mt::gauge},
              [](const st& s, const ps&) { return s.size + s.max_overflow; });
    each_pool(pools, fn,
              {"db.client.connection.pending_requests", "db_client_connection_pending_requests",
               "{request}", "Acquires waiting for a connection now", mt::gauge},
              [](const st& s, const ps&) { return s.waiting; });
    each_pool(pools, fn,
              {"db.client.connection.timeouts", "db_client_connection_timeouts_total", "{timeout}",
               "Acquires that gave up waiting for a connection (pool_timeout)", mt::counter},
              [](const st& s, const ps&) { return s.timeouts; });
    each_histogram(pools, fn,
                   {"db.client.connection.create_time", "db_client_connection_create_time_seconds",
                    "s", "How long opening a connection took (on_connect included)", mt::histogram},
                   &st::create_time);
    each_histogram(pools, fn,
                   {"db.client.connection.wait_time", "db_client_connection_wait_time_seconds", "s",
                    "How long successful acquires waited for a connection", mt::histogram},
                   &st::wait_time);
    each_histogram(pools, fn,
                   {"db.client.connection.use_time", "db_client_connection_use_time_seconds", "s",
                    "How long a connection was held between acquire and return", mt::histogram},
                   &st::use_time);
    // ---- OpenTelemetry database client: operations.
    each_histogram(pools, fn,
                   {"db.client.operation.duration", "db_client_operation_duration_seconds", "s",
                    "How long statements run through the pool took", mt::histogram},
                   &st::operation_time);

    // ---- uvdb's own: gauges.
    each_pool(pools, fn,
              {"uvdb.pool.size", "uvdb_pool_size", "{connection}",
               "Configured persistent connections (size)", mt::gauge},
              [](const st& s, const ps&) { return s.size; });
    each_pool(pools, fn,
              {"uvdb.pool.max_overflow", "uvdb_pool_max_overflow", "{connection}",
               "Configured overflow connections (max_overflow)", mt::gauge},
              [](const st& s, const ps&) { return s.max_overflow; });
    each_pool(pools, fn,
              {"uvdb.pool.connections", "uvdb_pool_connections", "{connection}",
               "Every connection the pool holds (idle, used, connecting, checking)", mt::gauge},
              [](const st& s, const ps&) { return s.total; });
    each_pool(pools, fn,
              {"uvdb.pool.overflow", "uvdb_pool_overflow", "{connection}",
               "Connections above size now", mt::gauge},
              [](const st& s, const ps&) { return s.overflow; });
    each_pool(pools, fn,
              {"uvdb.pool.connecting", "uvdb_pool_connecting", "{connection}",
               "Connects in flight (on_connect included)", mt::gauge},
              [](const st& s, const ps&) { return s.connecting; });
    each_pool(pools, fn,
              {"uvdb.pool.checking", "uvdb_pool_checking", "{connection}",
               "Connections being pinged before checkout or reset after return", mt::gauge},
              [](const st& s, const ps&) { return s.pending; });
    each_pool(pools, fn,
              {"uvdb.pool.pipelined_in_flight", "uvdb_pool_pipelined_in_flight", "{statement}",
               "pool.query statements in flight on connections carrying more than one "
               "(pipeline_depth)",
               mt::gauge},
              [](const st& s, const ps&) { return s.pipelined_in_flight; });
    each_pool(
        pools, fn,
        {"uvdb.pool.closed", "uvdb_pool_closed", "1", "1 once the pool was closed", mt::gauge},
        [](const st& s, const ps&) { return s.closed ? 1 : 0; });
    each_pool(pools, fn,
              {"uvdb.pool.connect_time", "uvdb_pool_connect_time_seconds", "s",
               "Moving average of recent connect times (the automatic overflow delay)", mt::gauge},
              [](const st& s, const ps&) { return seconds_from_us(s.connect_time.count()); });
    each_pool(
        pools, fn,
        {"uvdb.pool.breaker_state", "uvdb_pool_breaker_state", "1",
         "The circuit breaker: 0 closed, 1 open, 2 half-open (a probe connect runs)", mt::gauge},
        [](const st& s, const ps&) { return static_cast<int>(s.breaker); });
    each_pool(
        pools, fn,
        {"uvdb.pool.longest_held", "uvdb_pool_longest_held_seconds", "s",
         "How long the oldest lease still out has been held (0 when none)", mt::gauge},
        [](const st& s, const ps&) { return static_cast<double>(s.longest_held.count()) / 1e3; });

    // ---- uvdb's own: counters.
    struct counter {
        std::string_view name, prometheus, help;
        std::uint64_t st::*member;
    };
    static constexpr std::array<counter, 15> counters{{
        {"uvdb.pool.acquires", "uvdb_pool_acquires_total",
         "Acquire calls, including those that failed", &st::acquires},
        {"uvdb.pool.rejected", "uvdb_pool_rejected_total",
         "Acquires refused at once (pool_full: max_waiters reached, or pool_closed)",
         &st::rejected},
        {"uvdb.pool.connects", "uvdb_pool_connects_total",
         "Connect attempts (first connects and reconnects alike)", &st::connects},
        {"uvdb.pool.connect_failures", "uvdb_pool_connect_failures_total",
         "Failed connects, on_connect failures included", &st::connect_failures},
        {"uvdb.pool.pings", "uvdb_pool_pings_total", "Pre-pings sent before checkout", &st::pings},
        {"uvdb.pool.ping_failures", "uvdb_pool_ping_failures_total",
         "Pre-pings that failed (the connection was replaced)", &st::ping_failures},
        {"uvdb.pool.recycled", "uvdb_pool_recycled_total",
         "Connections closed because older than recycle", &st::recycled},
        {"uvdb.pool.invalidated", "uvdb_pool_invalidated_total",
         "Connections closed by invalidate(), a fatal error or pool-wide invalidation",
         &st::invalidated},
        {"uvdb.pool.leaks", "uvdb_pool_leaks_total",
         "Leases reported as held longer than leak_threshold", &st::leaks_reported},
        {"uvdb.pool.closed_broken", "uvdb_pool_closed_broken_total",
         "Connections closed on return: broken, still busy, or their reset failed",
         &st::closed_broken},
        {"uvdb.pool.idle_closed", "uvdb_pool_idle_closed_total",
         "Connections closed by idle_timeout", &st::idle_closed},
        {"uvdb.pool.overflow_closed", "uvdb_pool_overflow_closed_total",
         "Overflow connections closed after overflow_linger idle", &st::overflow_closed},
        {"uvdb.pool.breaker_opened", "uvdb_pool_breaker_opened_total",
         "Times the circuit breaker opened", &st::breaker_opened},
        {"uvdb.pool.breaker_rejected", "uvdb_pool_breaker_rejected_total",
         "Acquires failed at once because the circuit breaker was open", &st::breaker_rejected},
        {"uvdb.pool.pipelined", "uvdb_pool_pipelined_total",
         "pool.query statements sent behind others on a shared connection (pipeline_depth)",
         &st::pipelined},
    }};
    for (const counter& c : counters) {
        const auto member = c.member;
        each_pool(pools, fn, {c.name, c.prometheus, "1", c.help, mt::counter},
                  [member](const st& s, const ps&) { return s.*member; });
    }
}

}  // namespace uvdb::metrics
