#include "rss_soak.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>
#include <uvdb/pool.hpp>
#include <uvdb/timer.hpp>
#include <vector>

namespace uvdb::bench {

namespace {

using clock_type = std::chrono::steady_clock;

/// One connection's worth of load: acquire, SELECT 1, release, pause, again.
class soak_worker {
  public:
    soak_worker(event_loop& loop, pool& db, std::chrono::milliseconds tick)
        : pause_(loop), db_(db), tick_(tick) {}

    void start(const bool* stop) {
        stop_ = stop;
        next();
    }
    bool idle() const noexcept { return idle_; }
    std::uint64_t queries = 0;
    std::uint64_t failures = 0;

  private:
    void next() {
        if (*stop_) {
            idle_ = true;
            return;
        }
        db_.query("SELECT 1", [this](result<result_set> r) {
            if (r && r->size() == 1 && r->value<int>() == 1) {
                ++queries;
            } else {
                ++failures;
            }
            pause_.start(tick_, [this] { next(); });
        });
    }

    timer pause_;
    pool& db_;
    std::chrono::milliseconds tick_;
    const bool* stop_ = nullptr;
    bool idle_ = false;
};

void run_until(event_loop& loop, clock_type::time_point until, const auto& done) {
    timer tick(loop);
    while (!done() && clock_type::now() < until) {
        tick.start(std::chrono::milliseconds{5}, [] {});
        loop.run_once();
    }
}

}  // namespace

std::size_t resident_kb() {
    std::FILE* f = std::fopen("/proc/self/statm", "r");
    if (f == nullptr) return 0;
    unsigned long size = 0, resident = 0;
    const int n = std::fscanf(f, "%lu %lu", &size, &resident);
    std::fclose(f);
    if (n != 2) return 0;
    return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)) / 1024;
}

int run_rss_soak(event_loop& loop, std::shared_ptr<driver> drv, const soak_settings& s) {
    pool_options o = s.pool;
    o.max_overflow = 0;
    o.min_idle = o.size;
    o.order = idle_order::fifo;  // every connection takes its turn
    const std::size_t n = o.size;
    const std::size_t rss_before_pool = resident_kb();
    std::optional<pool> db;
    db.emplace(loop, std::move(drv), o);

    // All connections open (TLS + SCRAM) before the first sample.
    run_until(loop, clock_type::now() + std::chrono::seconds(60),
              [&] { return db->stats().idle >= n; });
    if (db->stats().idle < n) {
        std::fprintf(stderr, "uvdb-bench: rss-soak: only %zu of %zu connections opened in 60 s\n",
                     db->stats().idle, n);
        return 1;
    }

    bool stop = false;
    std::vector<std::unique_ptr<soak_worker>> workers;
    for (std::size_t i = 0; i < n; ++i)
        workers.push_back(std::make_unique<soak_worker>(loop, *db, s.tick));
    for (auto& w : workers) w->start(&stop);

    const auto t0 = clock_type::now();
    const auto end = t0 + std::chrono::duration_cast<clock_type::duration>(
                              std::chrono::duration<double>(s.seconds));
    // The first sample after one round of queries: TLS buffers and result
    // buffers of every connection have been touched once.
    run_until(loop, t0 + std::chrono::milliseconds{500}, [] { return false; });
    std::vector<std::size_t> samples{resident_kb()};
    auto report = [&](double at) {
        if (!s.quiet) {
            std::fprintf(stderr,
                         "uvdb-bench: rss-soak: %6.0f s  rss %zu kB  live %zu  queries %llu\n", at,
                         samples.back(), db->stats().total, static_cast<unsigned long long>([&] {
                             std::uint64_t q = 0;
                             for (auto& w : workers) q += w->queries;
                             return q;
                         }()));
        }
    };
    report(0.5);
    for (auto next = t0 + s.sample_every; next < end; next += s.sample_every) {
        run_until(loop, next, [] { return false; });
        samples.push_back(resident_kb());
        report(std::chrono::duration<double>(clock_type::now() - t0).count());
    }
    run_until(loop, end, [] { return false; });
    samples.push_back(resident_kb());
    report(std::chrono::duration<double>(clock_type::now() - t0).count());
    stop = true;
    run_until(loop, clock_type::now() + std::chrono::seconds(10), [&] {
        return std::all_of(workers.begin(), workers.end(), [](auto& w) { return w->idle(); });
    });
    const double seconds = std::chrono::duration<double>(clock_type::now() - t0).count();

    std::uint64_t queries = 0, failures = 0;
    for (auto& w : workers) {
        queries += w->queries;
        failures += w->failures;
    }
    const auto live = db->stats().total;
    db->close();
    db.reset();
    workers.clear();

    const std::size_t start_kb = samples.front();
    const std::size_t end_kb = samples.back();
    const std::size_t max_kb = *std::max_element(samples.begin(), samples.end());
    if (s.json) {
        std::printf(
            "{\"peer\": \"uvdb\", \"scenario\": \"rss_soak\", \"connections\": %zu, "
            "\"live_at_end\": %zu, "
            "\"seconds\": %.1f, \"queries\": %llu, \"failures\": %llu, \"rss_before_pool_kb\": "
            "%zu, "
            "\"rss_start_kb\": %zu, \"rss_end_kb\": %zu, \"rss_max_kb\": %zu, \"samples\": %zu, "
            "\"notes\": \"pool(%zu,0,min_idle=%zu,fifo); each connection: acquire, SELECT 1, "
            "release, %lld ms pause\"}\n",
            n, live, seconds, static_cast<unsigned long long>(queries),
            static_cast<unsigned long long>(failures), rss_before_pool, start_kb, end_kb, max_kb,
            samples.size(), n, n, static_cast<long long>(s.tick.count()));
    } else {
        std::printf("rss-soak: %zu live TLS connections for %.0f s, %llu queries (%llu failed)\n",
                    n, seconds, static_cast<unsigned long long>(queries),
                    static_cast<unsigned long long>(failures));
        std::printf(
            "  RSS before the pool %zu kB; with the pool: start %zu kB, end %zu kB, max %zu kB "
            "(%zu samples)\n",
            rss_before_pool, start_kb, end_kb, max_kb, samples.size());
    }
    return failures == 0 ? 0 : 1;
}

}  // namespace uvdb::bench
