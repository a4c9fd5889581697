// Micro-benchmark of the pool's own overhead: acquire + release against the
// unit tests' fake driver (no network). Prints ns per acquire+release and
// heap allocations per operation; asserts nothing about time.
//
//   uvdb_pool_bench [operations]

#include <spdlog/logger.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <new>
#include <uvdb/event_loop.hpp>
#include <uvdb/log.hpp>
#include <uvdb/pool.hpp>
#include <vector>

#include "unit/support/fake_driver.hpp"

namespace {

// Counts every heap allocation of the process, to show the steady state allocates nothing.
std::atomic<std::size_t> g_allocations{0};

}  // namespace

void* operator new(std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using clock_type = std::chrono::steady_clock;

uvdb::pool_options bench_options(std::size_t size) {
    uvdb::pool_options o;
    o.connection.url = "fake://bench";
    o.size = size;
    o.max_overflow = 0;
    o.random_seed = 1;
    // pre_ping stays on, so the checkout still reads the clock and decides; the
    // threshold is far above a run's length so that a descheduled run (a loaded
    // machine) never finds an idle connection due a ping, which try_acquire
    // cannot give out (the run used to abort there).
    o.pre_ping_idle_threshold = std::chrono::hours(1);
    return o;
}

struct measurement {
    double ns_per_op;
    double allocs_per_op;
};

void report(const char* name, std::size_t ops, measurement m) {
    std::printf("%-52s %10zu ops  %8.1f ns/op  %6.3f allocations/op\n", name, ops, m.ns_per_op,
                m.allocs_per_op);
}

/// Opens `n` connections and leaves them idle.
void warm_up(uvdb::event_loop& loop, uvdb::pool& p, std::size_t n) {
    std::vector<uvdb::lease> held;
    std::size_t got = 0;
    for (std::size_t i = 0; i < n; ++i) {
        p.acquire([&](uvdb::result<uvdb::lease> r) {
            if (!r) {
                std::fprintf(stderr, "warm-up acquire failed: %s\n", r.err().to_string().c_str());
                std::exit(1);
            }
            held.push_back(std::move(r).value());
            ++got;
        });
    }
    loop.run();
    if (got != n) {
        std::fprintf(stderr, "warm-up got %zu of %zu connections\n", got, n);
        std::exit(1);
    }
    held.clear();
    loop.run();
}

/// try_acquire + drop: the pool's bookkeeping alone, no loop turn.
measurement bench_try_acquire(uvdb::event_loop& loop, uvdb::pool& p, std::size_t ops) {
    const std::size_t a0 = g_allocations.load();
    const auto t0 = clock_type::now();
    for (std::size_t i = 0; i < ops; ++i) {
        auto l = p.try_acquire();
        if (!l) std::abort();
    }
    const auto t1 = clock_type::now();
    const std::size_t a1 = g_allocations.load();
    loop.run();
    return {std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(ops),
            static_cast<double>(a1 - a0) / static_cast<double>(ops)};
}

/// `chains` callers each doing acquire → (callback) drop → acquire … until
/// `ops` acquires completed in all. With chains > size, callers wait.
struct chain_state {
    uvdb::pool* p;
    std::size_t remaining;
    std::size_t failures = 0;
};

void chain_step(chain_state& st) {
    if (st.remaining == 0) return;
    --st.remaining;
    st.p->acquire([&st](uvdb::result<uvdb::lease> r) {
        if (!r) {
            ++st.failures;
        } else {
            r->release();  // give it back before asking again
        }
        chain_step(st);
    });
}

measurement bench_chains(uvdb::event_loop& loop, uvdb::pool& p, std::size_t chains,
                         std::size_t ops) {
    chain_state st{&p, ops};
    const std::size_t a0 = g_allocations.load();
    const auto t0 = clock_type::now();
    for (std::size_t i = 0; i < chains; ++i) chain_step(st);
    loop.run();
    const auto t1 = clock_type::now();
    const std::size_t a1 = g_allocations.load();
    if (st.failures != 0) {
        std::fprintf(stderr, "%zu acquires failed\n", st.failures);
        std::exit(1);
    }
    return {std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(ops),
            static_cast<double>(a1 - a0) / static_cast<double>(ops)};
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t ops = 2'000'000;
    if (argc > 1) ops = std::strtoull(argv[1], nullptr, 10);
    uvdb::logger().set_level(spdlog::level::warn);

    uvdb::event_loop loop;
    auto drv = std::make_shared<uvdb::test::fake_driver>();

    {
        uvdb::pool p(loop, drv, bench_options(4));
        warm_up(loop, p, 1);
        bench_try_acquire(loop, p, ops / 10);  // warm caches
        report("try_acquire + release (no waiters, no loop turn)", ops,
               bench_try_acquire(loop, p, ops));
        bench_chains(loop, p, 1, ops / 10);
        report("acquire(cb) + release, 1 caller (no waiters)", ops, bench_chains(loop, p, 1, ops));
        bench_chains(loop, p, 4, ops / 10);
        report("acquire(cb) + release, 4 callers, size 4", ops, bench_chains(loop, p, 4, ops));
    }
    loop.run();
    {
        uvdb::pool p(loop, drv, bench_options(4));
        warm_up(loop, p, 4);
        bench_chains(loop, p, 64, ops / 10);
        report("acquire(cb) + release, 64 callers, size 4 (waiters)", ops,
               bench_chains(loop, p, 64, ops));
        auto st = p.stats();
        std::printf("  stats: acquires %llu, timeouts %llu, connects %llu, pings %llu, total %zu\n",
                    static_cast<unsigned long long>(st.acquires),
                    static_cast<unsigned long long>(st.timeouts),
                    static_cast<unsigned long long>(st.connects),
                    static_cast<unsigned long long>(st.pings), st.total);
    }
    loop.run();
    return 0;
}
