// A randomized property test: thousands of operations mixing acquires,
// releases, invalidations, timeouts, connect/ping/reset failures, server
// restarts, clock jumps and close, checking the pool's invariants after
// every step. The seed is fixed, so a failure reproduces.

#include <catch2/catch.hpp>
#include <random>
#include <uvdb/pool.hpp>

#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;

namespace {

struct model {
    std::vector<lease> leases;                // held by "the application"
    std::vector<std::shared_ptr<int>> calls;  // one counter per callback issued
    int double_calls = 0;

    std::size_t uncalled() const {
        std::size_t n = 0;
        for (auto& c : calls) n += (*c == 0) ? 1 : 0;
        return n;
    }
};

void check_invariants(pool_harness& h, const model& m, const pool_options& o, int step) {
    const pool_stats st = h.stats();
    INFO("step " << step << ": idle " << st.idle << ", checked_out " << st.checked_out
                 << ", connecting " << st.connecting << ", pending " << st.pending << ", total "
                 << st.total << ", waiting " << st.waiting << ", live " << h.driver->live()
                 << ", leases " << m.leases.size());
    REQUIRE(st.idle + st.checked_out + st.connecting + st.pending == st.total);
    REQUIRE(st.total <= o.size + o.max_overflow);
    REQUIRE(st.checked_out == m.leases.size());
    REQUIRE(h.driver->live() == st.total);
    REQUIRE(st.waiting == m.uncalled());
    REQUIRE(m.double_calls == 0);
}

}  // namespace

TEST_CASE("pool invariants hold under random operations", "[unit][pool][property]") {
    std::mt19937_64 rng(20261126);
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    auto chance = [&](int percent) { return static_cast<int>(rng() % 100) < percent; };

    int total_steps = 0;
    for (int epoch = 0; epoch < 5; ++epoch) {
        pool_harness h;
        pool_options o = test_pool_options(3, 2);
        o.min_idle = epoch % 2;
        o.max_connecting = 2;
        o.timeout = 1'500ms;
        o.max_waiters = epoch == 3 ? 6 : 0;
        o.recycle = 20'000ms;
        o.idle_timeout = epoch % 2 == 0 ? 4'000ms : 0ms;
        o.leak_threshold = 10'000ms;
        o.order = epoch % 2 == 0 ? idle_order::lifo : idle_order::fifo;
        o.random_seed = 100 + static_cast<std::uint64_t>(epoch);
        bool fail_connects = false;
        bool fail_pings = false;
        h.fake().connect_fault = [&](std::size_t) -> std::optional<error> {
            if (!fail_connects) return std::nullopt;
            return chance(5) ? auth_error() : refused_error();
        };
        h.fake().ping_fault = [&](fake_connection&) -> std::optional<error> {
            if (fail_pings && chance(50))
                return error(errc::timeout, "ping timed out").with_fatal(true);
            return std::nullopt;
        };
        h.fake().record_sql = false;
        h.make(o);
        model m;

        auto issue_acquire = [&](std::optional<std::chrono::milliseconds> timeout) {
            auto calls = std::make_shared<int>(0);
            m.calls.push_back(calls);
            auto cb = [&m, calls](result<lease> r) {
                if (++*calls > 1) ++m.double_calls;
                if (r) m.leases.push_back(std::move(r).value());
            };
            if (timeout) {
                h.get().acquire(*timeout, std::move(cb));
            } else {
                h.get().acquire(std::move(cb));
            }
        };

        const int steps = 2'100;
        for (int step = 0; step < steps; ++step, ++total_steps) {
            const bool closing = step >= steps - 100;
            if (step == steps - 100) h.get().close();
            const int action = static_cast<int>(rng() % 100);
            if (action < 25) {
                issue_acquire(chance(50)
                                  ? std::nullopt
                                  : std::optional(std::chrono::milliseconds(10 + pick(2'000))));
            } else if (action < 32) {
                auto calls = std::make_shared<int>(0);
                m.calls.push_back(calls);
                h.get().query("SELECT 1", [&m, calls](result<result_set>) {
                    if (++*calls > 1) ++m.double_calls;
                });
            } else if (action < 52 && !m.leases.empty()) {
                const std::size_t i = pick(m.leases.size());
                lease l = std::move(m.leases[i]);
                m.leases.erase(m.leases.begin() + static_cast<std::ptrdiff_t>(i));
                switch (pick(6)) {
                    case 0:
                        l.invalidate();
                        break;
                    case 1:
                        l.invalidate(lost_error());
                        break;
                    case 2:
                        l.release_without_reset();
                        break;
                    case 3:
                        // Leaves a transaction open (or a statement running) on return.
                        l->query(chance(50) ? "BEGIN" : "SLEEP 50", [](result<result_set>) {});
                        if (chance(50)) h.settle();
                        l.release();
                        break;
                    default:
                        l.release();
                        break;
                }
            } else if (action < 57 && !m.leases.empty()) {
                // A statement on a held lease; it may break the connection.
                lease& l = m.leases[pick(m.leases.size())];
                l->query(chance(20) ? "FAIL" : "SELECT 1", [](result<result_set>) {});
            } else if (action < 80) {
                h.advance(std::chrono::milliseconds(pick(chance(10) ? 5'000 : 700)));
            } else if (action < 85) {
                fail_connects = !fail_connects;
            } else if (action < 89) {
                fail_pings = !fail_pings;
            } else if (action < 91) {
                h.driver->kill_all();
            } else if (action < 94 && h.driver->live() != 0) {
                h.fake().live[pick(h.driver->live())]->kill();
            } else if (action < 97) {
                h.fake().connect_latency = std::chrono::milliseconds(chance(50) ? 0 : pick(300));
                h.fake().ping_latency = std::chrono::milliseconds(chance(50) ? 0 : pick(100));
                h.fake().reset_latency = std::chrono::milliseconds(chance(50) ? 0 : pick(100));
            } else if (closing) {
                h.get().close();  // idempotent
            }
            h.settle();
            check_invariants(h, m, o, total_steps);
        }

        // The end of an epoch: everything given back, nothing left open,
        // every callback called exactly once.
        h.get().close();
        m.leases.clear();
        h.advance(60'000ms);
        const pool_stats st = h.stats();
        CHECK(st.total == 0);
        CHECK(st.checked_out == 0);
        CHECK(h.driver->live() == 0);
        for (auto& c : m.calls) REQUIRE(*c == 1);
        CHECK(st.acquires > 300);
        CHECK(st.timeouts > 0);
        CHECK(st.connect_failures > 0);
        CHECK(st.invalidated > 0);
    }
    CHECK(total_steps >= 10'000);
}
