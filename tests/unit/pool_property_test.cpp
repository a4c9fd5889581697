// A randomized property test: thousands of operations mixing acquires,
// releases, invalidations, timeouts, connect/ping/reset failures, server
// restarts, clock jumps and close, checking the pool's invariants after
// every step. The seed is fixed, so a failure reproduces. Epochs with
// pool_options::pipeline_depth run pool.query statements that take time, so
// that several share connections: no connection ever has more than the
// depth in flight, and nothing is ever sent on a lease's connection but
// what its holder sent.

#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <uvdb/pool.hpp>

#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;

namespace {

struct model {
    std::vector<lease> leases;                      // held by "the application"
    std::vector<std::shared_ptr<int>> calls;        // one counter per acquire callback issued
    std::vector<std::shared_ptr<int>> query_calls;  // one counter per pool.query issued
    // Statements sent on held leases and not answered yet, by fake connection id.
    std::map<std::uint64_t, int> lease_statements;
    int double_calls = 0;

    static std::size_t uncalled(const std::vector<std::shared_ptr<int>>& v) {
        std::size_t n = 0;
        for (auto& c : v) n += (*c == 0) ? 1 : 0;
        return n;
    }
};

std::uint64_t fake_id(const lease& l) { return dynamic_cast<const fake_connection&>(*l).id(); }

void check_invariants(pool_harness& h, const model& m, const pool_options& o, int step) {
    const pool_stats st = h.stats();
    const std::size_t queries_out = model::uncalled(m.query_calls);
    INFO("step " << step << ": idle " << st.idle << ", checked_out " << st.checked_out
                 << ", connecting " << st.connecting << ", pending " << st.pending << ", total "
                 << st.total << ", waiting " << st.waiting << ", live " << h.driver->live()
                 << ", leases " << m.leases.size() << ", queries out " << queries_out
                 << ", pipelined in flight " << st.pipelined_in_flight);
    REQUIRE(st.idle + st.checked_out + st.connecting + st.pending == st.total);
    REQUIRE(st.total <= o.size + o.max_overflow);
    // Connections out are the leases, and those pool.query statements hold.
    REQUIRE(st.checked_out >= m.leases.size());
    REQUIRE(st.checked_out - m.leases.size() <= queries_out);
    REQUIRE(h.driver->live() == st.total);
    // Waiting: every acquire not answered yet, and some pool.query calls.
    REQUIRE(st.waiting >= model::uncalled(m.calls));
    REQUIRE(st.waiting <= model::uncalled(m.calls) + queries_out);
    REQUIRE(st.pipelined_in_flight <= queries_out);
    REQUIRE(m.double_calls == 0);
    // Leases never share: a lease's connection carries what its holder sent.
    std::map<std::uint64_t, bool> leased;
    for (const lease& l : m.leases) {
        const std::uint64_t id = fake_id(l);
        leased[id] = true;
        const auto it = m.lease_statements.find(id);
        REQUIRE(l->pending() ==
                static_cast<std::size_t>(it == m.lease_statements.end() ? 0 : it->second));
    }
    // Never more than pipeline_depth in flight on the others.
    const std::size_t depth = std::max<std::size_t>(o.pipeline_depth, 1);
    for (const fake_connection* c : h.fake().live) {
        if (!leased.count(c->id())) REQUIRE(c->pending() <= depth);
    }
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
        o.pipeline_depth = epoch == 4 ? 0 : (epoch % 2 == 0 ? 4 : 2);
        o.pipeline_max_front_age = std::chrono::milliseconds(epoch == 2 ? 50 : 5);
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
                // A burst of pool.query calls, some taking time: with a
                // pipeline_depth they share connections.
                const std::size_t burst = 1 + pick(6);
                for (std::size_t b = 0; b < burst; ++b) {
                    auto calls = std::make_shared<int>(0);
                    m.query_calls.push_back(calls);
                    const char* sql =
                        chance(50) ? "SELECT 1" : (chance(80) ? "SLEEP 3" : "SLEEP 60");
                    h.get().query(sql, [&m, calls](result<result_set>) {
                        if (++*calls > 1) ++m.double_calls;
                    });
                }
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
                    case 3: {
                        // Leaves a transaction open (or a statement running) on return.
                        const std::uint64_t id = fake_id(l);
                        ++m.lease_statements[id];
                        l->query(chance(50) ? "BEGIN" : "SLEEP 50",
                                 [&m, id](result<result_set>) { --m.lease_statements[id]; });
                        if (chance(50)) h.settle();
                        l.release();
                        break;
                    }
                    default:
                        l.release();
                        break;
                }
            } else if (action < 57 && !m.leases.empty()) {
                // A statement on a held lease; it may break the connection.
                lease& l = m.leases[pick(m.leases.size())];
                const std::uint64_t id = fake_id(l);
                ++m.lease_statements[id];
                l->query(chance(20) ? "FAIL" : "SELECT 1",
                         [&m, id](result<result_set>) { --m.lease_statements[id]; });
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
        for (auto& c : m.query_calls) REQUIRE(*c == 1);
        if (o.pipeline_depth > 1) CHECK(st.pipelined > 0);
        CHECK(st.acquires > 300);
        CHECK(st.timeouts > 0);
        CHECK(st.connect_failures > 0);
        CHECK(st.invalidated > 0);
    }
    CHECK(total_steps >= 10'000);
}
