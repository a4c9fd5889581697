// The sizing advisor: the pure function on inputs whose answer is known,
// the snapshot text, and pool::advise on a synthetic load on the fake
// driver (1000 acquires/s, each held 10 ms).

#include <catch2/catch.hpp>
#include <deque>
#include <uvdb/advisor.hpp>
#include <uvdb/pool.hpp>

#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;

namespace {

advisor_input steady(double rate, double hold_ms, std::size_t peak) {
    advisor_input in;
    in.window_s = 60;
    in.arrival_rate = rate;
    in.mean_hold_ms = hold_ms;
    in.peak_in_use = peak;
    in.size = 20;
    in.max_overflow = 40;
    return in;
}

bool says(const advice& a, std::string_view needle) {
    for (const auto& l : a.reasoning)
        if (l.find(needle) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("advise: Little's law plus square-root headroom", "[unit][advisor]") {
    const advice a = advise(steady(1000, 10, 14));
    INFO(a.to_string());
    CHECK(a.enough_data);
    // 1000/s x 10 ms = 10 busy; 10 + 2·√10 = 16.3 → 17; bursts: 1.25 x 17 → 22.
    CHECK(a.size == 17);
    CHECK(a.max_overflow == 5);
    CHECK_FALSE(a.capped);
    CHECK(says(a, "Little's law: 1000.0/s x 10.000 ms = 10.00 connections"));
    CHECK(says(a, "max_connections unknown"));
}

TEST_CASE("advise: a peak above size raises max_overflow", "[unit][advisor]") {
    auto in = steady(1000, 10, 40);
    in.wait_p99_ms = 50;  // callers queued: the observed rate understates the demand
    const advice a = advise(in);
    INFO(a.to_string());
    CHECK(a.size == 17);
    CHECK(a.max_overflow == 50 - 17);  // 1.25 x 40
    CHECK(says(a, "callers waited (acquire wait p99 50.000 ms > mean hold 10.000 ms)"));
    CHECK_FALSE(says(advise(steady(1000, 10, 40)), "callers waited"));
}

TEST_CASE("advise: expensive connects keep the peak in size", "[unit][advisor]") {
    auto in = steady(10'000, 0.5, 30);  // 5 busy on average, bursts of 30
    in.connect_ms = 20;                 // = 40 holds
    const advice a = advise(in);
    INFO(a.to_string());
    CHECK(a.size == 30);
    CHECK(a.max_overflow == 8);  // ceil(37.5) - 30
    CHECK(says(a, "40.0 mean holds"));
}

TEST_CASE("advise: the server's limit over the instances is the ceiling", "[unit][advisor]") {
    auto in = steady(1000, 10, 14);
    in.server_max_connections = 100;
    in.instances = 4;  // (100 - 3) / 4 = 24 per instance: 17 + 5 fits
    advice a = advise(in);
    CHECK_FALSE(a.capped);
    CHECK(a.size == 17);
    CHECK(says(a, "= 24 per instance: 17 + 5 fits"));
    in.instances = 8;  // 12 per instance
    a = advise(in);
    INFO(a.to_string());
    CHECK(a.capped);
    CHECK(a.size == 12);
    CHECK(a.max_overflow == 0);
    in.instances = 20;  // 4 per instance, 10 needed
    a = advise(in);
    CHECK(a.size == 4);
    CHECK(says(a, "more than the server allows"));
}

TEST_CASE("advise: too few observations keep the current values", "[unit][advisor]") {
    auto in = steady(1, 10, 1);
    in.window_s = 5;
    const advice a = advise(in);
    CHECK_FALSE(a.enough_data);
    CHECK(a.size == 20);
    CHECK(a.max_overflow == 40);
    CHECK(says(a, "not enough observations"));
}

TEST_CASE("advisor snapshot text round-trips and names bad lines", "[unit][advisor]") {
    auto in = steady(1234.5, 7.25, 9);
    in.server_max_connections = 200;
    in.instances = 3;
    in.timeouts = 7;
    const std::string text = format_snapshot(in);
    auto back = parse_snapshot(text + "\n# comment\nsome_future_key = 1\n");
    REQUIRE(back.ok());
    CHECK(back.value().arrival_rate == Approx(1234.5));
    CHECK(back.value().mean_hold_ms == Approx(7.25));
    CHECK(back.value().peak_in_use == 9);
    CHECK(back.value().server_max_connections == 200);
    CHECK(back.value().instances == 3);
    CHECK(back.value().timeouts == 7);
    CHECK(advise(back.value()).size == advise(in).size);
    auto bad = parse_snapshot("arrival_rate = 10\nmean_hold_ms = fast\n");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.err().value() == errc::bad_config);
    CHECK(bad.err().message().find("line 2") != std::string::npos);
    CHECK_FALSE(parse_snapshot("just words").ok());
}

TEST_CASE("pool::advise on a synthetic load of 1000/s held 10 ms", "[unit][advisor][pool]") {
    pool_harness h;
    auto o = test_pool_options(30, 10);
    o.pre_ping = false;
    h.make(o);
    std::deque<std::pair<detail::timer_source::time_point, lease>> held;
    for (int ms = 0; ms < 2'000; ++ms) {
        auto p = h.acquire();
        h.settle();
        REQUIRE(p->ok());
        held.emplace_back(h.clock->now() + 10ms, p->take());
        h.advance(1ms);
        while (!held.empty() && held.front().first <= h.clock->now()) {
            held.front().second.release();
            held.pop_front();
        }
    }
    const advisor_input in = h.get().advisor_snapshot();
    CHECK(in.arrival_rate == Approx(1000).epsilon(0.01));
    CHECK(in.mean_hold_ms == Approx(10).epsilon(0.01));
    CHECK(in.peak_in_use >= 10);
    CHECK(in.peak_in_use <= 11);
    const advice a = h.get().advise();
    INFO(a.to_string());
    CHECK(a.enough_data);
    CHECK(a.size == 17);
    CHECK(a.max_overflow == 5);
}
