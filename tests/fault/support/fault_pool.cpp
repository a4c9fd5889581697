#include "fault/support/fault_pool.hpp"

#include <catch2/catch.hpp>
#include <functional>
#include <memory>

#include "integration/pool_pg_support.hpp"
#include "integration/support/test_env.hpp"

namespace uvdb::test {

using namespace std::chrono_literals;

pool_options fault_pool_options(std::size_t size, std::size_t max_overflow) {
    pool_options o = pool_test_options(size, max_overflow);
    o.timeout = 5s;
    o.connection.connect_timeout = 3s;
    o.ping_timeout = 1s;
    o.connect_backoff_base = 20ms;
    o.connect_backoff_cap = 400ms;
    o.random_seed = 42;
    return o;
}

std::string url_via(const std::string& host, int port, const std::string& sslmode) {
    return make_url({.host = host, .port = std::to_string(port), .sslmode = sslmode});
}

result<result_set> pool_query_sync(event_loop& loop, pool& db, std::string_view sql, params p,
                                   std::chrono::milliseconds deadline) {
    auto slot = make_query_slot();
    db.query(sql, std::move(p), store_in(slot));
    run_until(
        loop, [&] { return slot->has_value(); }, deadline, "a pool query's answer");
    return std::move(**slot);
}

result<lease> acquire_sync(event_loop& loop, pool& db, std::chrono::milliseconds timeout,
                           std::chrono::milliseconds deadline) {
    auto got = std::make_shared<std::optional<result<lease>>>();
    db.acquire(timeout, [got](result<lease> r) { got->emplace(std::move(r)); });
    run_until(
        loop, [&] { return got->has_value(); }, deadline, "an acquire's answer");
    return std::move(**got);
}

std::vector<std::string> run_pool_queries(event_loop& loop, pool& db, int n, int concurrency) {
    struct state {
        int started = 0;
        int finished = 0;
        std::vector<std::string> failures;
        std::function<void()> start_one;
    };
    auto st = std::make_shared<state>();
    st->start_one = [&db, raw = st.get(), n] {
        if (raw->started == n) return;
        const int k = raw->started++;
        db.query("SELECT $1::int + 1", make_params(k), [raw, k](result<result_set> r) {
            ++raw->finished;
            if (!r) {
                raw->failures.push_back(describe(r.err()));
            } else if (r->value<int>() != k + 1) {
                raw->failures.push_back("wrong answer for " + std::to_string(k));
            }
            raw->start_one();
        });
    };
    for (int i = 0; i < concurrency; ++i) st->start_one();
    run_until(
        loop, [&] { return st->finished == n; }, 60s, "the pool queries");
    return st->failures;
}

std::vector<std::int64_t> warm_up(event_loop& loop, pool& db, std::size_t n) {
    auto leases = std::make_shared<std::vector<lease>>();
    auto failures = std::make_shared<std::vector<std::string>>();
    for (std::size_t i = 0; i < n; ++i) {
        db.acquire([leases, failures](result<lease> r) {
            if (r) {
                leases->push_back(std::move(r).value());
            } else {
                failures->push_back(describe(r.err()));
            }
        });
    }
    run_until(
        loop, [&] { return leases->size() + failures->size() == n; }, 30s, "warm-up");
    INFO("first warm-up failure: " << (failures->empty() ? "" : failures->front()));
    REQUIRE(failures->empty());
    std::vector<std::int64_t> pids;
    for (auto& l : *leases) pids.push_back(l->server_pid());
    leases->clear();
    run_for(loop, 20ms);
    return pids;
}

double ms_between(std::chrono::steady_clock::time_point start,
                  std::chrono::steady_clock::time_point end) {
    return std::chrono::duration<double, std::milli>(end - start).count();
}

}  // namespace uvdb::test
