// graceful_shutdown: serve load until SIGTERM (or SIGINT), then drain the
// pool: no new work is started, the statements in flight finish (up to a
// deadline), every connection closes, and the program exits 0 after printing
// the drain's report. This is what a service does when its orchestrator
// stops it (Kubernetes sends SIGTERM, then SIGKILL after the grace period:
// keep the drain deadline below that period).
//
//   graceful_shutdown [--callers 8] [--deadline-ms 5000] 'postgresql://user:password@host/db'
//   DATABASE_URL=... graceful_shutdown
//   kill -TERM <pid>
//
// The signal is watched on the application's own loop (uv_signal_t), so the
// drain starts on the loop thread like every pool call.

#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <uvdb/coro.hpp>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/uvdb.hpp>

using namespace std::chrono_literals;

struct service {
    uvdb::pool* db = nullptr;
    std::chrono::milliseconds deadline{5000};
    int callers = 8, running = 0;
    long long served = 0, refused = 0, failed = 0;
    bool announced = false, stopping = false, reported = false;
    uv_signal_t term{}, intr{};
};

// One request handler: acquire, run a short statement, give the connection
// back; again and again until the pool says it is draining.
uvdb::task<void> handler(service& s) {
    while (true) {
        auto l = co_await s.db->acquire();
        if (!l) {
            // errc::pool_closed, "the pool is draining": a real service would
            // answer 503 here; this one stops taking work.
            if (l.err().value() == uvdb::errc::pool_closed)
                ++s.refused;
            else
                ++s.failed;
            co_return;
        }
        auto r = co_await l->query("SELECT pg_sleep(0.02)");
        if (!r) {
            ++s.failed;
            std::fprintf(stderr, "statement failed: %s\n", r.err().to_string().c_str());
            co_return;
        }
        ++s.served;
        if (!s.announced) {
            s.announced = true;
            std::printf("serving with %d handlers; send SIGTERM to stop (pid %ld)\n", s.callers,
                        static_cast<long>(::getpid()));
            std::fflush(stdout);
        }
    }
}

void on_signal(uv_signal_t* h, int signum) {
    auto* s = static_cast<service*>(h->data);
    if (s->stopping) return;
    s->stopping = true;
    std::printf("%s received: draining the pool (deadline %lld ms)\n",
                signum == SIGTERM ? "SIGTERM" : "SIGINT",
                static_cast<long long>(s->deadline.count()));
    std::fflush(stdout);
    s->db->drain(s->deadline, [s](uvdb::drain_report rep) {
        s->reported = true;
        std::printf(
            "drain report: leases_at_start=%zu finished=%zu still_out=%zu deadline_reached=%s "
            "took=%lldms\n",
            rep.leases_at_start, rep.finished, rep.still_out,
            rep.deadline_reached ? "true" : "false", static_cast<long long>(rep.took.count()));
        std::fflush(stdout);
        // Nothing else keeps the loop alive: it returns once the handlers end.
        uv_close(reinterpret_cast<uv_handle_t*>(&s->term), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&s->intr), nullptr);
    });
}

int main(int argc, char** argv) {
    service s;
    const char* url = std::getenv("DATABASE_URL");
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--callers") == 0 && i + 1 < argc) {
            s.callers = std::atoi(argv[++i]);
        } else if (std::strcmp(argv[i], "--deadline-ms") == 0 && i + 1 < argc) {
            s.deadline = std::chrono::milliseconds(std::atoll(argv[++i]));
        } else {
            url = argv[i];
        }
    }
    if (url == nullptr || *url == '\0' || s.callers < 1 || s.deadline.count() < 0) {
        std::fprintf(stderr,
                     "usage: %s [--callers N] [--deadline-ms MS] "
                     "postgresql://user:password@host:port/db  (or set DATABASE_URL)\n",
                     argv[0]);
        return 2;
    }

    uvdb::event_loop loop;
    uvdb::pool_options opts;
    opts.connection.url = url;
    opts.connection.application_name = "uvdb-graceful-shutdown";
    opts.size = 4;
    opts.max_overflow = 0;
    opts.timeout = 10s;
    try {
        uvdb::pool db(loop, uvdb::postgres::make_driver(), opts);
        s.db = &db;
        for (uv_signal_t* h : {&s.term, &s.intr}) {
            uv_signal_init(loop.native(), h);
            h->data = &s;
        }
        uv_signal_start(&s.term, on_signal, SIGTERM);
        uv_signal_start(&s.intr, on_signal, SIGINT);

        s.running = s.callers;
        for (int i = 0; i < s.callers; ++i) {
            uvdb::spawn(handler(s), [&](std::exception_ptr e) {
                if (e) ++s.failed;
                if (--s.running == 0 && !s.stopping) {
                    // Every handler failed (no server?): nothing to wait for.
                    uv_close(reinterpret_cast<uv_handle_t*>(&s.term), nullptr);
                    uv_close(reinterpret_cast<uv_handle_t*>(&s.intr), nullptr);
                }
            });
        }
        loop.run();
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    std::printf("served %lld statements; %lld handlers refused by the drain; %lld failures\n",
                s.served, s.refused, s.failed);
    return s.reported && s.failed == 0 ? 0 : 1;
}
