// The routing pool against the fake driver, the manual clock and a lag
// source the test sets by hand: which pool each call goes to, "fewest
// reads in flight", a replica leaving and rejoining the healthy set, the
// two fallbacks, and read-only transactions. Probe rounds run only when the
// test asks (probe_interval 0), so nothing depends on timing.

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <string>
#include <uvdb/coro.hpp>
#include <uvdb/routing_pool.hpp>
#include <vector>

#include "pool_test_access.hpp"  // pool/src: pools on the manual clock
#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;
using namespace std::chrono_literals;

namespace {

template <class T>
struct probe {
    int calls = 0;
    std::optional<result<T>> got;
    auto callback() {
        return [this](result<T> r) {
            ++calls;
            got.emplace(std::move(r));
        };
    }
    bool ok() const { return got && got->ok(); }
};

/// Lags the test sets; answered on the next loop turn like a real probe.
class manual_lag final : public lag_source {
  public:
    explicit manual_lag(event_loop& loop, std::size_t replicas)
        : next(replicas, result<std::chrono::milliseconds>(0ms)), loop_(loop) {}
    void measure(callback cb) override {
        ++rounds;
        loop_.defer([cb = std::move(cb), v = next]() mutable { cb(std::move(v)); });
    }
    void set(std::size_t i, std::chrono::milliseconds lag) {
        next[i] = result<std::chrono::milliseconds>(lag);
    }
    void fail(std::size_t i, error e) { next[i] = result<std::chrono::milliseconds>(std::move(e)); }
    std::vector<result<std::chrono::milliseconds>> next;
    int rounds = 0;

  private:
    event_loop& loop_;
};

struct fixture {
    pool_harness h;
    std::shared_ptr<manual_lag> lag;
    std::optional<routing_pool> db;

    explicit fixture(std::size_t replicas, replica_fallback fallback = replica_fallback::primary) {
        lag = std::make_shared<manual_lag>(h.loop, replicas);
        auto opts = test_pool_options();
        opts.name = "main";
        pool primary = detail::pool_test_access::make(h.loop, h.driver, opts, h.clock);
        std::vector<pool> rs;
        for (std::size_t i = 0; i < replicas; ++i) {
            auto ro = opts;
            ro.name = "replica-" + std::to_string(i + 1);
            rs.push_back(detail::pool_test_access::make(h.loop, h.driver, ro, h.clock));
        }
        replica_policy policy;
        policy.max_replication_lag = 5s;
        policy.probe_interval = 0ms;  // rounds on request only
        policy.fallback = fallback;
        db.emplace(std::move(primary), std::move(rs), policy, lag);
    }
    ~fixture() {
        db.reset();
        h.settle();
    }

    void probe_round() {
        bool done = false;
        db->probe_now([&done] { done = true; });
        h.settle();
        REQUIRE(done);
    }
    std::uint64_t acquires_on_primary() { return db->primary().stats().acquires; }
    std::uint64_t acquires_on(std::size_t i) { return db->replicas()[i].stats().acquires; }
    result<result_set> read(std::string_view sql = "SELECT 1") {
        probe<result_set> p;
        db->read(sql, p.callback());
        h.settle();
        REQUIRE(p.calls == 1);
        return std::move(*p.got);
    }
};

}  // namespace

TEST_CASE("writes and read-write work go to the primary, reads to a replica", "[unit][routing]") {
    fixture f(1);
    f.probe_round();
    REQUIRE(f.db->stats().replicas[0].state == replica_state::healthy);

    probe<result_set> w;
    f.db->query("INSERT INTO t VALUES ($1)", 1, w.callback());
    f.h.settle();
    CHECK(w.ok());
    CHECK(f.acquires_on_primary() == 1);
    CHECK(f.acquires_on(0) == 0);

    CHECK(f.read().ok());
    CHECK(f.acquires_on_primary() == 1);
    CHECK(f.acquires_on(0) == 1);

    const auto s = f.db->stats();
    CHECK(s.reads == 1);
    CHECK(s.reads_on_primary == 0);
    CHECK(s.replicas[0].reads == 1);
    CHECK(s.replicas[0].outstanding == 0);
    CHECK(s.replicas[0].name == "replica-1");
}

TEST_CASE("before the first probe a replica takes no reads", "[unit][routing]") {
    fixture f(1);
    CHECK(f.db->stats().replicas[0].state == replica_state::unknown);
    CHECK(f.read().ok());
    CHECK(f.acquires_on_primary() == 1);
    CHECK(f.acquires_on(0) == 0);
    CHECK(f.db->stats().reads_on_primary == 1);
}

TEST_CASE("a read goes to the replica with the fewest reads in flight", "[unit][routing]") {
    fixture f(2);
    f.h.fake().query_latency = 0ms;
    f.probe_round();

    // A slow read on replica-1, then a quick one on replica-2 that completes.
    probe<result_set> slow;
    f.db->read("SLEEP 100", slow.callback());
    f.h.settle();
    CHECK(f.db->stats().replicas[0].outstanding == 1);
    CHECK(f.read().ok());
    CHECK(f.acquires_on(1) == 1);

    // Turn by turn it would be replica-1's; replica-1 is still busy, so replica-2.
    CHECK(f.read().ok());
    CHECK(f.acquires_on(0) == 1);
    CHECK(f.acquires_on(1) == 2);

    f.h.advance(100ms);
    CHECK(slow.ok());
    const auto s = f.db->stats();
    CHECK(s.replicas[0].outstanding == 0);
    CHECK(s.replicas[1].outstanding == 0);
    CHECK(s.replicas[0].reads == 1);
    CHECK(s.replicas[1].reads == 2);
}

TEST_CASE("a replica beyond the lag budget is excluded until it is back under it",
          "[unit][routing]") {
    fixture f(2);
    f.probe_round();
    REQUIRE(f.db->stats().healthy == 2);

    f.lag->set(0, 6s);  // beyond max_replication_lag 5s
    f.probe_round();
    auto s = f.db->stats();
    CHECK(s.replicas[0].state == replica_state::lagging);
    CHECK(s.replicas[0].lag == std::optional<std::chrono::milliseconds>(6s));
    CHECK(s.replicas[0].exclusions == 1);
    CHECK(s.healthy == 1);
    for (int i = 0; i < 3; ++i) CHECK(f.read().ok());
    CHECK(f.acquires_on(0) == 0);
    CHECK(f.acquires_on(1) == 3);

    // Exactly at the budget is within it.
    f.lag->set(0, 5s);
    f.probe_round();
    CHECK(f.db->stats().replicas[0].state == replica_state::healthy);
    CHECK(f.read().ok());
    CHECK(f.read().ok());
    CHECK(f.acquires_on(0) >= 1);

    // A failed probe excludes it too, with the reason kept.
    f.lag->fail(1, error(errc::connect_failed, "connection refused (fake)"));
    f.probe_round();
    s = f.db->stats();
    CHECK(s.replicas[1].state == replica_state::down);
    CHECK(s.replicas[1].probe_failures == 1);
    CHECK(s.replicas[1].last_error.find("connection refused") != std::string::npos);
    CHECK_FALSE(s.replicas[1].lag);
    CHECK(f.h.logs.count("replica_excluded pool=replica-2 state=down") == 1);
}

TEST_CASE("with no healthy replica reads go to the primary (fallback primary)", "[unit][routing]") {
    fixture f(1);
    f.lag->set(0, 30s);
    f.probe_round();
    CHECK(f.read().ok());
    CHECK(f.acquires_on_primary() == 1);
    CHECK(f.acquires_on(0) == 0);
    CHECK(f.db->stats().reads_on_primary == 1);
    CHECK(f.db->pick_replica() == nullptr);

    f.lag->set(0, 10ms);
    f.probe_round();
    CHECK(f.db->pick_replica() == &f.db->replicas()[0]);
    CHECK(f.read().ok());
    CHECK(f.acquires_on(0) == 1);
    CHECK(f.h.logs.count("replica_healthy pool=replica-1") == 1);  // back under the budget
}

TEST_CASE("with no healthy replica reads fail saying why (fallback fail)", "[unit][routing]") {
    fixture f(2, replica_fallback::fail);
    f.lag->set(0, 7200ms);
    f.lag->fail(1, error(errc::timeout, "the probe statement timed out (fake)"));
    f.probe_round();

    auto r = f.read();
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().value() == errc::pool_timeout);
    const std::string msg = r.err().message();
    CHECK(msg.find("replica-1 lagging (lag 7.2s)") != std::string::npos);
    CHECK(msg.find("replica-2 down (probe: the probe statement timed out") != std::string::npos);
    CHECK(msg.find("max_replication_lag 5.0s") != std::string::npos);
    CHECK(msg.find("s3cret") == std::string::npos);
    CHECK(f.acquires_on_primary() == 0);
    CHECK(f.db->stats().reads_refused == 1);

    // A read-only transaction is a read: refused the same way.
    probe<uvdb::transaction> tx;
    f.db->begin({.read_only = true}, tx.callback());
    f.h.settle();
    REQUIRE(tx.calls == 1);
    CHECK_FALSE(tx.ok());
    CHECK(f.acquires_on_primary() == 0);

    // Writes are not reads: the primary still takes them.
    probe<result_set> w;
    f.db->query("UPDATE t SET x = 1", w.callback());
    f.h.settle();
    CHECK(w.ok());
}

TEST_CASE("read-only transactions go to a replica, the rest to the primary", "[unit][routing]") {
    fixture f(1);
    f.probe_round();

    probe<uvdb::transaction> ro;
    f.db->begin({.read_only = true}, ro.callback());
    f.h.settle();
    REQUIRE(ro.ok());
    CHECK(f.acquires_on(0) == 1);
    CHECK(f.h.fake().sql_log.back() == "BEGIN READ ONLY");
    ro.got.reset();
    f.h.settle();

    probe<uvdb::transaction> rw;
    f.db->begin({}, rw.callback());
    f.h.settle();
    REQUIRE(rw.ok());
    CHECK(f.acquires_on_primary() == 1);
    rw.got.reset();
    f.h.settle();

    // The retried form, read-only: on the replica.
    probe<void> done;
    f.db->transaction(
        tx_options{.read_only = true},
        [](uvdb::transaction& tx, pool::done_callback d) {
            tx.query("SELECT 1", [d = std::move(d)](result<result_set> r) mutable {
                d(result<void>(std::move(r)));
            });
        },
        retry_policy{}, done.callback());
    f.h.settle();
    CHECK(done.ok());
    CHECK(f.acquires_on(0) == 2);
    CHECK(f.acquires_on_primary() == 1);
    CHECK(f.db->stats().replicas[0].outstanding == 0);
}

namespace {
task<result<int>> handler(routing_pool& db) {
    co_await db.query("INSERT INTO t VALUES ($1)", 1);
    auto rs = co_await db.read("SELECT $1::int", 2);
    auto n = co_await db.transaction(tx_options{.read_only = true},
                                     [](uvdb::transaction& tx) -> task<result<int>> {
                                         co_await tx.query("SELECT 1");
                                         co_return 3;
                                     });
    co_return static_cast<int>(rs.size()) + n;
}
}  // namespace

TEST_CASE("a handler written for the pool reads the same on the routing pool",
          "[unit][routing][coro]") {
    fixture f(1);
    f.probe_round();
    std::optional<result<int>> got;
    spawn(handler(*f.db), [&](task_outcome<result<int>> r) { got.emplace(r.value()); });
    f.h.settle();
    REQUIRE(got);
    REQUIRE(got->ok());
    CHECK(**got == 4);
    CHECK(f.acquires_on_primary() == 1);
    CHECK(f.acquires_on(0) == 2);
}
