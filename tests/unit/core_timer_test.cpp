#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <uvdb/event_loop.hpp>
#include <uvdb/timer.hpp>

using namespace std::chrono_literals;

TEST_CASE("a timer fires once after its delay", "[unit][timer]") {
    uvdb::event_loop loop;
    uvdb::timer t(loop);
    CHECK_FALSE(t.active());
    int fired = 0;
    auto start = loop.update_time();
    uvdb::event_loop::clock::time_point when{};
    t.start(20ms, [&] {
        ++fired;
        when = loop.now();
    });
    CHECK(t.active());
    loop.run();
    CHECK(fired == 1);
    CHECK(when - start >= 20ms);
    CHECK_FALSE(t.active());
}

TEST_CASE("a repeating timer fires until stopped", "[unit][timer]") {
    uvdb::event_loop loop;
    uvdb::timer t(loop);
    int fired = 0;
    t.start(
        1ms,
        [&] {
            if (++fired == 5) t.stop();
        },
        1ms);
    loop.run();
    CHECK(fired == 5);
    CHECK_FALSE(t.active());
}

TEST_CASE("restarting a timer replaces its callback, also from inside it", "[unit][timer]") {
    uvdb::event_loop loop;
    uvdb::timer t(loop);
    int first = 0;
    int second = 0;
    t.start(1h, [&] { ++first; });
    t.start(0ms, [&] {
        ++first;
        t.start(1ms, [&] { ++second; });
    });
    loop.run();
    CHECK(first == 1);
    CHECK(second == 1);
}

TEST_CASE("a stopped timer does not fire", "[unit][timer]") {
    uvdb::event_loop loop;
    uvdb::timer t(loop);
    bool fired = false;
    t.start(0ms, [&] { fired = true; });
    t.stop();
    t.stop();  // idempotent
    loop.run();
    CHECK_FALSE(fired);
}

TEST_CASE("a timer may be destroyed inside its own callback", "[unit][timer]") {
    uvdb::event_loop loop;
    auto t = std::make_unique<uvdb::timer>(loop);
    auto witness = std::make_shared<int>(0);
    std::weak_ptr<int> alive = witness;
    int fired = 0;
    t->start(
        0ms,
        [&, w = std::move(witness)] {
            ++fired;
            t.reset();       // destroys the timer object while its callback runs
            CHECK(*w == 0);  // the capture is still intact
        },
        1ms);
    loop.run();
    CHECK(fired == 1);
    CHECK(alive.expired());  // the callback and its captures were released
}

TEST_CASE("a timer closed inside its callback can be started again", "[unit][timer]") {
    uvdb::event_loop loop;
    uvdb::timer t(loop);
    int fired = 0;
    t.start(0ms, [&] {
        ++fired;
        t.close();
        t.close();
        t.start(1ms, [&] { ++fired; });
    });
    loop.run();
    CHECK(fired == 2);
}

TEST_CASE("a moved timer keeps its schedule", "[unit][timer]") {
    uvdb::event_loop loop;
    uvdb::timer a(loop);
    bool fired = false;
    a.start(1ms, [&] { fired = true; });
    uvdb::timer b = std::move(a);
    CHECK_FALSE(a.active());  // NOLINT(bugprone-use-after-move)
    CHECK(b.active());
    uvdb::timer c;
    c = std::move(b);
    loop.run();
    CHECK(fired);
}
