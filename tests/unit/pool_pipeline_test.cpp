// pool.query pipelining (pool_options::pipeline_depth) on the fake driver
// and the manual clock: when a statement shares a connection, how many go
// on one, never onto a lease, never behind an old front, what a fatal error,
// a stop request and a drain do to the statements sharing a connection.

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <stop_token>
#include <uvdb/pool.hpp>
#include <vector>

#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;

namespace {

pool_options pipelined(std::size_t size, std::size_t max_overflow, std::size_t depth) {
    pool_options o = test_pool_options(size, max_overflow);
    o.pipeline_depth = depth;
    o.pipeline_max_front_age = std::chrono::milliseconds{5};
    return o;
}

/// Opens `n` connections and leaves them idle.
void warm(pool_harness& h, std::size_t n) {
    std::vector<lease> held;
    for (std::size_t i = 0; i < n; ++i) held.push_back(h.acquire_now());
    held.clear();
    h.settle();
    REQUIRE(h.stats().idle == n);
}

std::vector<std::shared_ptr<query_probe>> issue(pool_harness& h, std::size_t n,
                                                std::string_view sql = "SELECT 1") {
    std::vector<std::shared_ptr<query_probe>> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(h.query(sql));
    return out;
}

std::size_t answered(const std::vector<std::shared_ptr<query_probe>>& qs) {
    std::size_t n = 0;
    for (const auto& q : qs) n += q->calls;
    return n;
}

bool all_ok(const std::vector<std::shared_ptr<query_probe>>& qs) {
    for (const auto& q : qs) {
        if (q->calls != 1 || !q->ok()) return false;
    }
    return true;
}

}  // namespace

TEST_CASE("pipelining: a busy pipelining connection with room takes a statement before an idle one",
          "[unit][pool][pipeline]") {
    pool_harness h;
    h.make(pipelined(2, 0, 4));
    h.fake().query_latency = std::chrono::milliseconds{1};
    warm(h, 2);
    REQUIRE(h.fake().live.size() == 2);
    CHECK(h.fake().live[0]->pipeline_depth() == 4);  // the pool's depth reached the driver

    // The first takes an idle connection; the next ones are packed behind
    // it (its front is young) up to the depth, the other stays idle.
    auto two = issue(h, 2);
    CHECK(h.stats().pipelined == 1);
    CHECK(h.stats().idle == 1);
    auto more = issue(h, 2);
    CHECK(h.stats().pipelined == 3);
    CHECK(h.stats().pipelined_in_flight == 4);
    const std::size_t first = h.fake().live[0]->pending() == 4 ? 0 : 1;
    CHECK(h.fake().live[first]->pending() == 4);
    CHECK(h.fake().live[1 - first]->pending() == 0);
    // Full: the next one takes the idle connection.
    auto fifth = issue(h, 1);
    CHECK(h.fake().live[1 - first]->pending() == 1);
    CHECK(h.stats().waiting == 0);

    h.advance(std::chrono::milliseconds{5});
    CHECK(all_ok(two));
    CHECK(all_ok(more));
    CHECK(all_ok(fifth));
    CHECK(h.stats().idle == 2);
    CHECK(h.stats().checked_out == 0);
    CHECK(h.stats().pipelined_in_flight == 0);
    CHECK(h.fake().connected == 2);
}

TEST_CASE("pipelining: never more than pipeline_depth statements on a connection",
          "[unit][pool][pipeline]") {
    pool_harness h;
    h.make(pipelined(1, 0, 3));
    h.fake().query_latency = std::chrono::milliseconds{1};
    warm(h, 1);
    h.fake().max_pending = 0;

    auto qs = issue(h, 10);
    CHECK(h.fake().live[0]->pending() == 3);
    CHECK(h.stats().waiting == 7);
    CHECK(h.stats().pipelined == 2);
    for (int i = 0; i < 20 && answered(qs) < qs.size(); ++i) {
        h.advance(std::chrono::milliseconds{1});
        CHECK(h.fake().live[0]->pending() <= 3);
    }
    CHECK(all_ok(qs));
    CHECK(h.fake().max_pending <= 3);
    CHECK(h.fake().connected == 1);
    CHECK(h.stats().pipelined > 2);  // the waiting ones were pipelined as room came
    CHECK(h.stats().idle == 1);
}

TEST_CASE("pipelining: depth 0 or 1 is one statement per connection, as before",
          "[unit][pool][pipeline]") {
    const std::size_t depth = GENERATE(0, 1);
    pool_harness h;
    h.make(pipelined(1, 0, depth));
    h.fake().query_latency = std::chrono::milliseconds{1};
    warm(h, 1);
    h.fake().max_pending = 0;
    CHECK(h.fake().live[0]->pipeline_depth() == 16);  // connect_options' own default stays

    auto qs = issue(h, 4);
    CHECK(h.stats().waiting == 3);
    CHECK(h.fake().live[0]->pending() == 1);
    h.advance(std::chrono::milliseconds{10});
    CHECK(all_ok(qs));
    CHECK(h.fake().max_pending == 1);
    CHECK(h.stats().pipelined == 0);
}

TEST_CASE("pipelining: nothing goes onto a leased connection, and a waiting lease is not starved",
          "[unit][pool][pipeline]") {
    pool_harness h;
    h.make(pipelined(1, 0, 8));
    h.fake().query_latency = std::chrono::milliseconds{1};
    warm(h, 1);

    SECTION("a lease holds the connection") {
        lease l = h.acquire_now();
        std::optional<result<result_set>> mine;
        l->query("SLEEP 3", [&](result<result_set> r) { mine.emplace(std::move(r)); });
        auto q = h.query("SELECT 1");
        h.settle();
        CHECK(h.stats().waiting == 1);
        CHECK(h.stats().pipelined == 0);
        CHECK(h.fake().live[0]->pending() == 1);
        h.advance(std::chrono::milliseconds{3});
        REQUIRE(mine);
        CHECK(q->calls == 0);  // the lease is still out
        l.release();
        h.advance(std::chrono::milliseconds{1});
        CHECK(q->ok());
    }
    SECTION("a lease caller waiting first stops the sharing until it is served") {
        auto first = h.query("SLEEP 2");
        auto waiting_lease = h.acquire();
        auto later = issue(h, 3);
        CHECK(h.stats().pipelined == 0);
        CHECK(h.stats().waiting == 4);
        CHECK(h.fake().live[0]->pending() == 1);
        h.advance(std::chrono::milliseconds{2});
        CHECK(first->ok());
        REQUIRE(waiting_lease->ok());
        CHECK(answered(later) == 0);
        {
            lease l = waiting_lease->take();
            CHECK(h.fake().live[0]->pending() == 0);
        }
        h.advance(std::chrono::milliseconds{5});
        CHECK(all_ok(later));
        CHECK(h.stats().pipelined == 2);  // behind the first of them, once the lease was back
    }
}

TEST_CASE("pipelining: not behind a front statement that has run too long",
          "[unit][pool][pipeline]") {
    pool_harness h;
    h.make(pipelined(1, 1, 4));
    h.fake().query_latency = std::chrono::milliseconds{1};
    warm(h, 1);

    auto slow = h.query("SLEEP 100");
    SECTION("young: shared") {
        h.advance(std::chrono::milliseconds{2});
        auto fast = h.query("SELECT 1");
        CHECK(h.stats().pipelined == 1);
        CHECK(h.fake().live.size() == 1);
        h.advance(std::chrono::milliseconds{100});
        CHECK(fast->ok());
    }
    SECTION("old: an overflow connection instead") {
        h.advance(std::chrono::milliseconds{5});
        auto fast = h.query("SELECT 1");
        h.settle();
        CHECK(h.stats().pipelined == 0);
        h.advance(std::chrono::milliseconds{1});
        CHECK(fast->ok());  // long before the slow one
        CHECK(slow->calls == 0);
        CHECK(h.fake().connected == 2);
    }
    h.advance(std::chrono::milliseconds{100});
    CHECK(slow->ok());
}

TEST_CASE("pipelining: a fatal error fails every statement on the connection, the pool recovers",
          "[unit][pool][pipeline]") {
    pool_harness h;
    h.make(pipelined(1, 0, 8));
    h.fake().query_latency = std::chrono::milliseconds{1};
    h.fake().query_fault = [](fake_connection&, std::string_view sql) -> std::optional<error> {
        if (sql == "DIE") return lost_error();
        return std::nullopt;
    };
    warm(h, 1);

    auto first = h.query("DIE");
    auto behind = issue(h, 7);
    auto queued = issue(h, 2);  // beyond the depth: waiting for a connection
    CHECK(h.stats().pipelined == 7);
    CHECK(h.fake().live[0]->pending() == 8);
    CHECK(h.stats().waiting == 2);
    h.advance(std::chrono::milliseconds{2});
    REQUIRE(first->calls == 1);
    CHECK(first->got->err().value() == errc::connection_lost);
    for (const auto& q : behind) {
        REQUIRE(q->calls == 1);
        CHECK(q->got->err().value() == errc::connection_lost);
    }
    CHECK(h.stats().invalidated == 1);  // once, for the whole connection
    h.advance(std::chrono::milliseconds{5});
    CHECK(h.fake().connected == 2);  // a new one for the rest
    CHECK(all_ok(queued));
    CHECK(h.stats().checked_out == 0);

    auto after = issue(h, 3);
    h.advance(std::chrono::milliseconds{5});
    CHECK(all_ok(after));
}

TEST_CASE("pipelining: stopping a statement behind others detaches it, the front is cancelled",
          "[unit][pool][pipeline]") {
    pool_harness h;
    h.make(pipelined(1, 0, 4));
    h.fake().query_latency = std::chrono::milliseconds{1};
    warm(h, 1);

    std::stop_source front_stop, back_stop;
    std::optional<result<result_set>> front, middle, back;
    h.get().query(call_options{front_stop.get_token()}, "SLEEP 3",
                  [&](result<result_set> r) { front.emplace(std::move(r)); });
    h.get().query("SLEEP 3", {}, [&](result<result_set> r) { middle.emplace(std::move(r)); });
    h.get().query(call_options{back_stop.get_token()}, "SLEEP 3",
                  [&](result<result_set> r) { back.emplace(std::move(r)); });
    REQUIRE(h.fake().live[0]->pending() == 3);

    back_stop.request_stop();
    h.settle();
    REQUIRE(back);  // answered at once, without waiting for the two before it
    CHECK(back->err().value() == errc::cancelled);
    CHECK_FALSE(front);
    CHECK_FALSE(middle);
    CHECK(h.fake().live[0]->pending() == 3);  // it still runs: only its answer is dropped

    front_stop.request_stop();
    h.settle();
    REQUIRE(front);
    CHECK(front->err().value() == errc::cancelled);  // the driver's cancel, the front's own
    h.advance(std::chrono::milliseconds{10});
    REQUIRE(middle);
    CHECK(middle->ok());  // never someone else's cancel
    CHECK(h.stats().idle == 1);
    CHECK(h.stats().checked_out == 0);
}

TEST_CASE("pipelining: drain waits for the statements sharing a connection",
          "[unit][pool][pipeline]") {
    pool_harness h;
    h.make(pipelined(1, 0, 4));
    h.fake().query_latency = std::chrono::milliseconds{1};
    warm(h, 1);

    auto qs = issue(h, 3, "SLEEP 2");
    REQUIRE(h.stats().pipelined == 2);
    std::optional<drain_report> rep;
    h.get().drain(std::chrono::seconds{5}, [&](drain_report r) { rep = r; });
    h.settle();
    CHECK_FALSE(rep);
    auto refused = h.query("SELECT 1");
    h.settle();
    REQUIRE(refused->calls == 1);
    CHECK(refused->got->err().value() == errc::pool_closed);
    h.advance(std::chrono::milliseconds{4});
    CHECK_FALSE(rep);  // the last one is still running
    h.advance(std::chrono::milliseconds{2});
    REQUIRE(rep);
    CHECK(all_ok(qs));
    CHECK(rep->leases_at_start == 1);
    CHECK(rep->still_out == 0);
    CHECK_FALSE(rep->deadline_reached);
}

TEST_CASE("pipelining: a shared connection stops taking statements to come back now and then",
          "[unit][pool][pipeline]") {
    pool_harness h;
    pool_options o = pipelined(1, 0, 4);
    o.leak_threshold = std::chrono::milliseconds{40};  // shared for at most 20 ms at a time
    h.make(o);
    h.fake().query_latency = std::chrono::milliseconds{1};
    warm(h, 1);

    // A steady stream: one new statement per millisecond.
    std::vector<std::shared_ptr<query_probe>> qs;
    qs.push_back(h.query("SELECT 1"));
    for (int i = 0; i < 60; ++i) {
        qs.push_back(h.query("SELECT 1"));
        h.advance(std::chrono::milliseconds{1});
    }
    h.advance(std::chrono::milliseconds{10});
    CHECK(all_ok(qs));
    CHECK(h.stats().leaks_reported == 0);
    CHECK(h.stats().use_time.total() >= 3);  // it came back more than once
}

TEST_CASE("pipelining: options are checked and shown in the start-up line",
          "[unit][pool][pipeline]") {
    pool_options o = test_pool_options(2, 0);
    o.pipeline_depth = 0;
    CHECK(engine_configured_line(o).find("pipeline_depth") == std::string::npos);  // off: as before
    o.pipeline_depth = 8;
    CHECK(engine_configured_line(o).find(" pipeline_depth=8 pipeline_max_front_age=0.005 ") !=
          std::string::npos);
    CHECK(validate(o));
    o.pipeline_max_front_age = std::chrono::milliseconds{0};
    CHECK_FALSE(validate(o));
    o.pipeline_max_front_age = std::chrono::milliseconds{5};
    o.pipeline_depth = pool_defaults::pipeline_depth_max + 1;
    auto bad = validate(o);
    REQUIRE_FALSE(bad);
    CHECK(bad.err().message().find("pipeline_depth 1025 is larger than 1024") != std::string::npos);
}
