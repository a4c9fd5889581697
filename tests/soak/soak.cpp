// uvdb-soak: a pooled load against a real PostgreSQL for a given time while
// faults from docs/FAULTS.md are injected every few seconds; then a
// report of every failure (when, and whether it fell inside a fault window),
// RSS after warm-up and at the end, open file descriptors, and the server's
// count of the pool's connections against the pool's own. scripts/soak.sh
// starts a throwaway server and runs this; see --help.
//
// Threads: the loop thread runs the pool and the callers; one fault thread
// runs the blocking parts (pg_ctl, admin SQL through libpq's blocking API,
// kill -STOP/-CONT) so the loop never waits for them. They share only the
// fault-window list (mutex) and a stop flag.

#include <libpq-fe.h>
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <uvdb/event_loop.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/timer.hpp>
#include <uvdb/url.hpp>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct options {
    std::string url, admin_url, pgctl;
    double seconds = 300, warmup = 20, fault_every = 10, grace = 3;
    double recycle = 0;  // pool recycle in seconds; 0 = the pool's default
    std::uint64_t warmup_connects =
        1000;  // connects the warm-up churn makes at most (see struct churn)
    int clients = 32;
    std::size_t size = 8, overflow = 4;
    std::vector<std::string> faults = {"terminate", "restart-fast", "stop-cont", "conn-limit",
                                       "restart-immediate"};
    std::string app = "uvdb-soak";
};

const clock_type::time_point t0 = clock_type::now();
double now_s() { return std::chrono::duration<double>(clock_type::now() - t0).count(); }

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    char buf[32];
    std::strftime(buf, sizeof buf, "%H:%M:%S", std::gmtime(&t));
    return buf;
}

long rss_kib() {
    std::ifstream f("/proc/self/statm");
    long pages = 0, resident = 0;
    f >> pages >> resident;
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/// Bytes malloc has handed out and not had back, over every arena (glibc's
/// malloc_info totals: memory taken from the system minus free chunks). Set
/// against RSS it tells a leak (both grow) from fragmentation (RSS grows,
/// this does not).
long heap_in_use_kib() {
    char* buf = nullptr;
    std::size_t len = 0;
    FILE* f = open_memstream(&buf, &len);
    if (f == nullptr) return -1;
    malloc_info(0, f);
    std::fclose(f);
    const std::string xml(buf, len);
    std::free(buf);
    // The totals over all arenas come last.
    auto last_size = [&](const std::string& tag) -> long {
        const std::size_t at = xml.rfind(tag);
        if (at == std::string::npos) return -1;
        const std::size_t size = xml.find("size=\"", at);
        return size == std::string::npos ? -1 : std::atol(xml.c_str() + size + 6);
    };
    const long system = last_size("<system type=\"current\"");
    const long fast = last_size("<total type=\"fast\"");
    const long rest = last_size("<total type=\"rest\"");
    if (system < 0 || fast < 0 || rest < 0) return -1;
    return (system - fast - rest) / 1024;
}

long fd_count() {
    long n = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd");
         it != std::filesystem::directory_iterator(); ++it) {
        ++n;
    }
    return n - 1;  // the iterator's own descriptor
}

struct fault_window {
    std::string name;
    double start = 0, end = 1e18;  // end: when the fault was undone, plus the grace period
    std::string note;
};

struct failure {
    double t;
    std::string what;
};

/// The fault thread's state; windows are read by the loop thread at the end.
struct fault_log {
    std::mutex m;
    std::condition_variable cv;
    bool stop = false;
    std::vector<fault_window> windows;
};

// Admin SQL on the fault thread: libpq's blocking API, a fresh connection
// each time (a restart kills the old one). Returns the first cell or an
// error text; never prints the URL (it holds a password).
std::string admin_sql(const std::string& url, const std::string& sql) {
    PGconn* c = PQconnectdb(url.c_str());
    std::string out;
    if (PQstatus(c) != CONNECTION_OK) {
        out = std::string("admin connect failed: ") + PQerrorMessage(c);
    } else {
        const std::unique_ptr<PGresult, decltype(&PQclear)> owned(PQexec(c, sql.c_str()), &PQclear);
        PGresult* r = owned.get();
        const auto st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK && PQntuples(r) > 0) {
            out = PQgetvalue(r, 0, 0);
        } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            out = std::string("admin error: ") + PQresultErrorMessage(r);
        }
    }
    PQfinish(c);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

std::string quote_literal(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
    return out + "'";
}

std::string quote_ident(const std::string& s) {
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

/// Sleeps up to `s` seconds; false when asked to stop.
bool nap(fault_log& log, double s) {
    std::unique_lock lk(log.m);
    return !log.cv.wait_for(lk, std::chrono::duration<double>(s), [&] { return log.stop; });
}

/// The user name libpq reads from `url` (empty when it names none); the
/// connection-limit fault alters that role.
std::string url_user(const std::string& url) {
    std::string user;
    if (PQconninfoOption* opts = PQconninfoParse(url.c_str(), nullptr)) {
        for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
            if (std::string_view(o->keyword) == "user" && o->val != nullptr) user = o->val;
        }
        PQconninfoFree(opts);
    }
    return user;
}

void run_faults(const options& o, const std::string& role, fault_log& log) {
    const std::string app = quote_literal(o.app);
    const std::string terminate =
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = " +
        app;
    std::size_t next = 0;
    if (!nap(log, o.warmup)) return;
    while (nap(log, o.fault_every)) {
        const std::string name = o.faults[next++ % o.faults.size()];
        fault_window w{name, now_s(), 0, ""};
        std::printf("t=%7.2fs %s fault %s begins\n", w.start, utc_now().c_str(), name.c_str());
        std::fflush(stdout);
        if (name == "terminate") {
            w.note = "terminated " + admin_sql(o.admin_url, terminate);
        } else if (name == "restart-fast" || name == "restart-immediate") {
            if (o.pgctl.empty()) {
                w.note = "skipped: no UVDB_TEST_PGCTL";
            } else {
                const std::string mode = name == "restart-fast" ? "fast" : "immediate";
                const std::string cmd = o.pgctl + " restart -m " + mode + " -w >/dev/null 2>&1";
                w.note = "pg_ctl exit " + std::to_string(std::system(cmd.c_str()));
            }
        } else if (name == "stop-cont") {
            const std::string pid = admin_sql(
                o.admin_url, "SELECT pid FROM pg_stat_activity WHERE application_name = " + app +
                                 " ORDER BY backend_start LIMIT 1");
            const int p = std::atoi(pid.c_str());
            if (p > 0 && ::kill(p, SIGSTOP) == 0) {
                nap(log, 3);
                ::kill(p, SIGCONT);
                w.note = "backend " + pid + " stopped for 3 s";
            } else {
                w.note = "no backend to stop (" + pid + ")";
            }
        } else if (name == "conn-limit") {
            const std::string alter = "ALTER ROLE " + quote_ident(role) + " CONNECTION LIMIT ";
            w.note = admin_sql(o.admin_url, alter + "1");
            w.note += " terminated " + admin_sql(o.admin_url, terminate);
            nap(log, 3);
            w.note += admin_sql(o.admin_url, alter + "-1");
            w.note = "limit 1 for 3 s" +
                     (w.note.find("error") != std::string::npos ? ": " + w.note : "");
        }
        w.end = now_s() + o.grace;
        std::printf("t=%7.2fs %s fault %s undone (%s); window ends at t=%.2fs\n", now_s(),
                    utc_now().c_str(), name.c_str(), w.note.c_str(), w.end);
        std::fflush(stdout);
        std::lock_guard lk(log.m);
        log.windows.push_back(std::move(w));
    }
}

struct sample {
    double t;
    long rss, heap, fds;
    std::size_t pool_total;
    std::uint64_t connects;  // the pool's connect attempts so far
};

/// The load: `clients` callers, each running one statement after another.
struct load {
    load(uvdb::pool& p, uvdb::event_loop& l) : pool(p), loop(l) {}
    uvdb::pool& pool;
    uvdb::event_loop& loop;
    bool stopping = false;
    int in_flight = 0;
    std::uint64_t ok = 0, failed = 0;
    std::vector<failure> failures;
    std::vector<std::unique_ptr<uvdb::timer>> backoff;

    void next(int caller, std::uint64_t seq) {
        if (stopping) return;
        ++in_flight;
        const auto want = static_cast<std::int64_t>(caller) * 1'000'000 +
                          static_cast<std::int64_t>(seq % 1'000'000);
        pool.query("SELECT $1::int8", uvdb::make_params(want),
                   [this, caller, seq, want](uvdb::result<uvdb::result_set> r) {
                       --in_flight;
                       std::string bad;
                       if (!r) {
                           bad = r.err().to_string();
                       } else if (r->value<std::int64_t>() != want) {
                           bad = "wrong result: " + std::to_string(r->value<std::int64_t>()) +
                                 " for " + std::to_string(want);
                       }
                       if (bad.empty()) {
                           ++ok;
                           next(caller, seq + 1);
                           return;
                       }
                       ++failed;
                       failures.push_back({now_s(), std::move(bad)});
                       // Back off a little so a down server does not make callers spin.
                       backoff[static_cast<std::size_t>(caller)]->start(
                           100ms, [this, caller, seq] { next(caller, seq + 1); });
                   });
    }
};

/// Warm-up churn: during the warm-up, take a connection and close it, again
/// and again, so the pool opens a few hundred. Why: RSS and malloc's "in use"
/// figure both climb with the first few hundred connects and then level off,
/// without any leak (see README.md next to this file: glibc's per-thread
/// caches and arenas of the loop thread and of the 4 threadpool threads where
/// PQconnectPoll does the TLS handshake fill up, while live allocations stay
/// flat). Faults every 10 s make only ~12-16 connects each, so without this a
/// 5-minute run measures that climb instead of growth.
struct churn {
    churn(uvdb::pool& p, uvdb::event_loop& l, double until_s, std::uint64_t connects)
        : pool(p), gap(l), until(until_s), max_connects(connects) {}
    uvdb::pool& pool;
    uvdb::timer gap;
    double until;
    std::uint64_t max_connects;  // enough to reach the plateau (measured: 300-700)

    void next() {
        if (now_s() >= until || pool.stats().connects >= max_connects) return;
        pool.acquire([this](uvdb::result<uvdb::lease> r) {
            if (r) r->invalidate();
            // A short gap keeps this from re-entering the pool from its own callback.
            gap.start(std::chrono::milliseconds(5), [this] { next(); });
        });
    }
};

/// Runs the loop for about `d` (a timer ends it; idle watchers alone would block).
void run_for(uvdb::event_loop& loop, std::chrono::milliseconds d) {
    bool over = false;
    uvdb::timer t(loop);
    t.start(d, [&] { over = true; });
    while (!over) loop.run_once();
}

void usage() {
    std::puts(
        "usage: uvdb-soak [--seconds N] [--warmup N] [--clients N] [--size N] [--overflow N]\n"
        "                 [--fault-every N] [--grace N] [--faults a,b,...] [--url URL] "
        "[--admin-url URL]\n"
        "                 [--warmup-connects N (1000; 0: no churn)] [--recycle SECONDS]\n"
        "The warm-up replaces connections one after another until N connects (or its end),\n"
        "so the allocator's per-thread caches are full before RSS is measured "
        "(tests/soak/README.md).\n"
        "URL: --url, else DATABASE_URL, else UVDB_TEST_URL. Admin (superuser) URL: --admin-url,\n"
        "else UVDB_TEST_ADMIN_URL. pg_ctl wrapper: UVDB_TEST_PGCTL (restart faults skipped "
        "without).\n"
        "Faults: terminate, restart-fast, restart-immediate, stop-cont, conn-limit.\n"
        "Exit 0 when: RSS grew < 5 % after warm-up (the warm-up time plus one round of every\n"
        "fault), no fd growth, every failure inside a fault\n"
        "window, and the server's count of our connections equals the pool's at the end.");
}

std::string env_or(const char* name, const std::string& fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? v : fallback;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "uvdb-soak: %s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--seconds")
            o.seconds = std::stod(val());
        else if (a == "--warmup")
            o.warmup = std::stod(val());
        else if (a == "--clients")
            o.clients = std::stoi(val());
        else if (a == "--size")
            o.size = std::stoul(val());
        else if (a == "--overflow")
            o.overflow = std::stoul(val());
        else if (a == "--fault-every")
            o.fault_every = std::stod(val());
        else if (a == "--grace")
            o.grace = std::stod(val());
        else if (a == "--recycle")
            o.recycle = std::stod(val());
        else if (a == "--warmup-connects")
            o.warmup_connects = std::stoull(val());
        else if (a == "--url")
            o.url = val();
        else if (a == "--admin-url")
            o.admin_url = val();
        else if (a == "--faults") {
            o.faults.clear();
            const std::string list = val();
            for (std::size_t s = 0, c; s <= list.size(); s = c + 1) {
                c = std::min(list.find(',', s), list.size());
                if (c > s) o.faults.push_back(list.substr(s, c - s));
            }
        } else if (a == "--help" || a == "-h") {
            usage();
            return 0;
        } else {
            std::fprintf(stderr, "uvdb-soak: unknown argument %s (see --help)\n", a.c_str());
            return 2;
        }
    }
    if (o.url.empty()) o.url = env_or("DATABASE_URL", env_or("UVDB_TEST_URL", ""));
    if (o.admin_url.empty()) o.admin_url = env_or("UVDB_TEST_ADMIN_URL", "");
    o.pgctl = env_or("UVDB_TEST_PGCTL", "");
    auto checked = uvdb::postgres::make_driver()->check(o.url);
    if (o.url.empty() || o.admin_url.empty() || !checked) {
        std::fprintf(stderr, "uvdb-soak: give a database URL and a superuser URL (%s)\n",
                     checked ? "see --help" : checked.err().message().c_str());
        return 2;
    }
    if (o.faults.empty() || o.clients < 1 || o.seconds <= o.warmup) {
        std::fprintf(stderr, "uvdb-soak: need faults, clients >= 1 and seconds > warmup\n");
        return 2;
    }
    std::printf(
        "uvdb-soak: %s, %.0f s (warm-up %.0f s), %d callers, pool %zu+%zu, a fault every %.0f s\n",
        uvdb::mask_password(o.url).c_str(), o.seconds, o.warmup, o.clients, o.size, o.overflow,
        o.fault_every);
    std::fflush(stdout);

    long fds_before = 0;
    std::vector<sample> samples;
    std::optional<sample> after_warmup, after_cycle;
    // A second baseline once every fault kind has run once: first-time
    // allocations on each fault's code path (TLS and libpq error paths,
    // glibc arenas of the threadpool) are warm-up too, not growth.
    const double cycle_end = o.warmup + o.fault_every * static_cast<double>(o.faults.size() + 1);
    fault_log faults;
    std::string server_count = "?";
    std::size_t pool_total_end = 0;
    {
        uvdb::event_loop loop;
        loop.run_nowait();
        fds_before = fd_count();  // the loop's own descriptors included
        uvdb::pool_options po;
        po.connection.url = o.url;
        po.connection.application_name = o.app;
        po.connection.query_timeout = 2s;
        po.connection.connect_timeout = 5s;
        po.size = o.size;
        po.max_overflow = o.overflow;
        po.timeout = 5s;
        if (o.recycle > 0)
            po.recycle = std::chrono::milliseconds(static_cast<long>(o.recycle * 1000));
        uvdb::pool pool(loop, uvdb::postgres::make_driver(), po);
        load l(pool, loop);
        for (int c = 0; c < o.clients; ++c)
            l.backoff.push_back(std::make_unique<uvdb::timer>(loop));
        for (int c = 0; c < o.clients; ++c) l.next(c, 0);
        churn warm(pool, loop, o.warmup, o.warmup_connects);
        warm.next();

        std::thread fault_thread(run_faults, std::cref(o), url_user(o.url), std::ref(faults));
        uvdb::timer tick(loop);
        std::uint64_t last_ok = 0, last_failed = 0;
        bool done = false;
        tick.start(
            1s,
            [&] {
                const sample s{now_s(),    rss_kib(),          heap_in_use_kib(),
                               fd_count(), pool.stats().total, pool.stats().connects};
                samples.push_back(s);
                if (!after_warmup && s.t >= o.warmup) after_warmup = s;
                if (!after_cycle && s.t >= cycle_end) after_cycle = s;
                if (static_cast<int>(s.t) % 10 == 0) {
                    std::printf(
                        "t=%7.2fs %s ok/s=%llu failed=%llu rss=%ld KiB heap=%ld KiB fds=%ld "
                        "pool=%zu connects=%llu\n",
                        s.t, utc_now().c_str(),
                        static_cast<unsigned long long>((l.ok - last_ok) / 10),
                        static_cast<unsigned long long>(l.failed - last_failed), s.rss, s.heap,
                        s.fds, s.pool_total, static_cast<unsigned long long>(s.connects));
                    std::fflush(stdout);
                    last_ok = l.ok;
                    last_failed = l.failed;
                }
                if (s.t >= o.seconds && !done) {
                    done = true;
                    l.stopping = true;
                }
            },
            1s);
        // Run until the time is up and every caller's statement has come back.
        while (!(done && l.in_flight == 0)) loop.run_once();
        tick.stop();
        {
            std::lock_guard lk(faults.m);
            faults.stop = true;
        }
        faults.cv.notify_all();
        fault_thread.join();
        // Let the pool notice connections a late fault killed, then compare
        // its count with the server's (taken on another thread: it blocks).
        run_for(loop, std::chrono::milliseconds(static_cast<long>(o.grace * 1000)));
        std::string counted;
        std::thread counter([&] {
            counted = admin_sql(o.admin_url,
                                "SELECT count(*) FROM pg_stat_activity WHERE application_name = " +
                                    quote_literal(o.app));
        });
        counter.join();
        server_count = counted;
        pool_total_end = pool.stats().total;
        samples.push_back({now_s(), rss_kib(), heap_in_use_kib(), fd_count(), pool_total_end,
                           pool.stats().connects});
        pool.close();
        run_for(loop, 1s);
        std::printf("\n== failures (%zu of %llu statements)\n", l.failures.size(),
                    static_cast<unsigned long long>(l.ok + l.failed));
        std::size_t outside = 0;
        for (const auto& f : l.failures) {
            const fault_window* in = nullptr;
            for (const auto& w : faults.windows) {
                if (f.t >= w.start && f.t <= w.end) in = &w;
            }
            if (in == nullptr) ++outside;
            std::printf("t=%7.2fs %-28s %s\n", f.t,
                        in ? ("in " + in->name + " window").c_str() : "OUTSIDE any fault window",
                        uvdb::mask_password(f.what).c_str());
        }
        std::printf("\n== fault windows\n");
        for (const auto& w : faults.windows)
            std::printf("%-18s t=%7.2fs .. %7.2fs  %s\n", w.name.c_str(), w.start, w.end,
                        w.note.c_str());

        const sample& a = after_warmup ? *after_warmup : samples.front();
        const sample& c = after_cycle ? *after_cycle : a;
        const sample& z = samples.back();
        auto pct = [](long from, long to) {
            return from > 0 ? 100.0 * static_cast<double>(to - from) / static_cast<double>(from)
                            : 0.0;
        };
        const double growth = pct(c.rss, z.rss);
        long rss_max = 0;
        for (const auto& s : samples) rss_max = std::max(rss_max, s.rss);
        // Sockets of the pool come and go with its size; compare the rest.
        const long fds_a = a.fds - static_cast<long>(a.pool_total);
        const long fds_z = z.fds - static_cast<long>(z.pool_total);
        std::printf("\n== summary\n");
        std::printf("statements ok %llu, failed %llu (outside fault windows: %zu), faults %zu\n",
                    static_cast<unsigned long long>(l.ok),
                    static_cast<unsigned long long>(l.failed), outside, faults.windows.size());
        std::printf(
            "rss after warm-up (t=%.0fs) %ld KiB, after one round of every fault (t=%.0fs) %ld "
            "KiB, "
            "end %ld KiB, max %ld KiB\n",
            a.t, a.rss, c.t, c.rss, z.rss, rss_max);
        std::printf(
            "connects by the pool: %llu at warm-up, %llu at the fault round, %llu at the end\n",
            static_cast<unsigned long long>(a.connects),
            static_cast<unsigned long long>(c.connects),
            static_cast<unsigned long long>(z.connects));
        std::printf("rss growth: %+.2f %% since the fault round, %+.2f %% since warm-up\n", growth,
                    pct(a.rss, z.rss));
        std::printf(
            "heap in use (malloc_info): after warm-up %ld KiB, after the fault round %ld KiB, end "
            "%ld KiB "
            "(%+.2f %% since the fault round)\n",
            a.heap, c.heap, z.heap, pct(c.heap, z.heap));
        std::printf(
            "fds after warm-up %ld (pool %zu), end %ld (pool %zu): %ld -> %ld without pool "
            "sockets\n",
            a.fds, a.pool_total, z.fds, z.pool_total, fds_a, fds_z);
        std::printf("connections at the end: server %s, pool %zu\n", server_count.c_str(),
                    pool_total_end);
        const bool pass = growth < 5.0 && fds_z <= fds_a && outside == 0 &&
                          server_count == std::to_string(pool_total_end);
        std::printf("fds before the pool %ld, after closing it %ld\n", fds_before, fd_count());
        std::printf("result: %s\n", pass ? "PASS" : "FAIL");
        return pass ? 0 : 1;
    }
}
