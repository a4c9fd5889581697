// pool_monitor: what a pool looks like under load. 50 callers query through
// a pool of 10 + 10 overflow for a few seconds while a timer prints the
// pool's stats every second; then the server's own view of the connections,
// from pg_stat_activity.
//
//   pool_monitor [--seconds 3] [--callers 50] [--metrics-port N]
//   'postgresql://user:password@host:5432/db?...' DATABASE_URL=... pool_monitor
//
// With --metrics-port N it also serves the pool's metrics in Prometheus'
// format on http://127.0.0.1:N/metrics while it runs (0: a free port, printed):
//   curl -s http://127.0.0.1:9187/metrics | grep db_client_connection_count
//
// Read a stats line like this: `waiting` callers queue for a connection
// because all size + max_overflow are checked out; `overflow` connections are
// closed again when the load goes; the wait histogram says how long acquires
// waited; `connect` is how long a new connection takes (the pool opens an
// overflow connection for a caller only after it waited about that long). A `timeouts` count above
// zero means the pool is too small for the load (or a caller holds connections too long).

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <uvdb/coro.hpp>
#include <uvdb/metrics_server.hpp>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/uvdb.hpp>

using namespace std::chrono_literals;

struct monitor_state {
    int seconds = 3, callers = 50, running = 0, ticks = 0, failures = 0;
    int metrics_port = -1;  // -1: no metrics endpoint
    bool stop = false;
    uvdb::timer* ticker = nullptr;
    std::string first_error;
    int exit_code = 1;
};

std::string ms(std::chrono::microseconds us) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fms", static_cast<double>(us.count()) / 1000.0);
    return buf;
}

void print_stats(const char* label, const uvdb::pool_stats& st) {
    // wait_time percentiles are bucket upper bounds, hence "<=".
    std::printf(
        "[%s] size=%zu total=%zu checked_out=%zu idle=%zu waiting=%zu connecting=%zu overflow=%zu "
        "acquires=%llu timeouts=%llu wait p50<=%s p99<=%s connect=%s\n",
        label, st.size, st.total, st.checked_out, st.idle, st.waiting, st.connecting, st.overflow,
        static_cast<unsigned long long>(st.acquires), static_cast<unsigned long long>(st.timeouts),
        ms(st.wait_time.percentile(0.50)).c_str(), ms(st.wait_time.percentile(0.99)).c_str(),
        ms(st.connect_time).c_str());
    std::fflush(stdout);  // show each line as it happens, even through a pipe
}

// One caller: a short statement (1–5 ms on the server) again and again until told to stop.
uvdb::task<void> caller(uvdb::pool& db, monitor_state& s, int id) {
    for (int n = 0; !s.stop; ++n) {
        auto r =
            co_await db.query("SELECT pg_sleep($1)", uvdb::make_params(0.001 * (1 + (id + n) % 5)));
        if (!r) {
            if (s.failures++ == 0) s.first_error = r.err().to_string();
            s.stop = true;  // e.g. a wrong password: every caller would fail the same way
        }
    }
}

// After the load: the server's view, with the query from the pooling write-up.
uvdb::task<void> report(uvdb::pool& db, monitor_state& s) {
    print_stats("after load", db.stats());
    auto r = co_await db.query(
        "SELECT coalesce(application_name, '') AS application_name, count(*) AS connections, "
        "count(*) FILTER (WHERE state = 'active') AS active, count(*) FILTER (WHERE state = "
        "'idle') AS idle "
        "FROM pg_stat_activity WHERE backend_type = 'client backend' "
        "GROUP BY application_name ORDER BY connections DESC");
    if (!r) {
        std::fprintf(stderr, "error: %s\n", r.err().to_string().c_str());
    } else {
        std::printf("pg_stat_activity:\n %-24s | connections | active | idle\n",
                    "application_name");
        for (const uvdb::row row : *r) {
            std::printf(" %-24s | %11s | %6s | %4s\n", std::string(row.text(0)).c_str(),
                        std::string(row.text(1)).c_str(), std::string(row.text(2)).c_str(),
                        std::string(row.text(3)).c_str());
        }
        // The report's own query holds one of them, hence the one "active".
        std::printf("the pool holds %zu connections, shown above as uvdb-pool-monitor\n",
                    db.stats().total);
    }
    if (s.failures > 0)
        std::fprintf(stderr, "error: %d queries failed, first: %s\n", s.failures,
                     s.first_error.c_str());
    s.exit_code = r && s.failures == 0 ? 0 : 1;
    s.ticker->close();  // idempotent: the load may have ended early
    db.close();
}

int main(int argc, char** argv) {
    monitor_state s;
    const char* url = std::getenv("DATABASE_URL");
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            s.seconds = std::atoi(argv[++i]);
        } else if (std::strcmp(argv[i], "--callers") == 0 && i + 1 < argc) {
            s.callers = std::atoi(argv[++i]);
        } else if (std::strcmp(argv[i], "--metrics-port") == 0 && i + 1 < argc) {
            s.metrics_port = std::atoi(argv[++i]);
        } else {
            url = argv[i];
        }
    }
    if (url == nullptr || *url == '\0' || s.seconds < 1 || s.callers < 1 ||
        s.metrics_port > 65535) {
        std::fprintf(stderr,
                     "usage: %s [--seconds S] [--callers N] [--metrics-port N] "
                     "postgresql://user:password@host:port/db  (or set DATABASE_URL)\n",
                     argv[0]);
        return 2;
    }
    std::printf("connecting to %s; %d callers for %d s\n", uvdb::mask_password(url).c_str(),
                s.callers, s.seconds);

    uvdb::event_loop loop;
    uvdb::pool_options opts;
    opts.connection.url = url;
    opts.connection.application_name = "uvdb-pool-monitor";  // how pg_stat_activity tells us apart
    opts.size = 10;
    opts.max_overflow = 10;
    opts.timeout = 10s;
    opts.name = "monitor";  // the db_client_connection_pool_name label
    try {
        uvdb::pool db(loop, uvdb::postgres::make_driver(), opts);

        // One call serves /metrics on this loop; it stops when `metrics` goes.
        std::optional<uvdb::metrics_server> metrics;
        if (s.metrics_port >= 0) {
            auto started = uvdb::metrics_server::start(
                loop, "127.0.0.1", static_cast<std::uint16_t>(s.metrics_port), {&db});
            if (!started) {
                std::fprintf(stderr, "error: %s\n", started.err().to_string().c_str());
                return 1;
            }
            metrics.emplace(std::move(*started));
            std::printf("metrics: http://127.0.0.1:%u/metrics\n", unsigned{metrics->port()});
            std::fflush(stdout);
        }

        // The stats timer: a snapshot is cheap (no I/O), so once a second is nothing.
        uvdb::timer ticker(loop);
        s.ticker = &ticker;
        ticker.start(
            1s,
            [&] {
                ++s.ticks;
                print_stats((std::to_string(s.ticks) + "s").c_str(), db.stats());
                if (s.ticks >= s.seconds) {
                    s.stop = true;  // callers finish their statement in flight, then end
                    ticker.close();
                }
            },
            1s);

        s.running = s.callers;
        for (int i = 0; i < s.callers; ++i) {
            uvdb::spawn(caller(db, s, i), [&](std::exception_ptr failure) {
                if (failure && s.failures++ == 0) s.first_error = "a caller threw an exception";
                if (--s.running == 0) uvdb::spawn(report(db, s));
            });
        }
        loop.run();  // returns when the timer is closed and the pool too
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return s.exit_code;
}
