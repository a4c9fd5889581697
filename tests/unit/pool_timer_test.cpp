// The pool's deadline machinery: the indexed heap and the loop-backed
// timer source (one libuv timer per pool).

#include <uv.h>

#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <uvdb/event_loop.hpp>

#include "timer_source.hpp"  // pool/src: the pool's test seam, not installed

using namespace uvdb;
using namespace std::chrono_literals;
using detail::deadline_heap;

TEST_CASE("deadline_heap pops in deadline order, ties in scheduling order", "[unit][pool]") {
    deadline_heap heap;
    const auto t0 = deadline_heap::time_point{} + 1h;
    std::vector<int> fired;
    heap.push(t0 + 30ms, [&] { fired.push_back(3); });
    heap.push(t0 + 10ms, [&] { fired.push_back(1); });
    heap.push(t0 + 20ms, [&] { fired.push_back(2); });
    heap.push(t0 + 10ms, [&] { fired.push_back(11); });
    CHECK_FALSE(static_cast<bool>(heap.pop_due(t0 + 9ms)));
    while (auto cb = heap.pop_due(t0 + 30ms)) cb();
    CHECK(fired == std::vector<int>{1, 11, 2, 3});
    CHECK(heap.empty());
}

TEST_CASE("deadline_heap cancel, stale handles and a randomized comparison", "[unit][pool]") {
    deadline_heap heap;
    const auto t0 = deadline_heap::time_point{} + 1h;
    auto h1 = heap.push(t0 + 5ms, [] {});
    CHECK(heap.cancel(h1));
    CHECK_FALSE(heap.cancel(h1));  // twice
    CHECK_FALSE(heap.cancel(0));
    auto h2 = heap.push(t0 + 5ms, [] {});  // reuses the slot
    CHECK_FALSE(heap.cancel(h1));          // the old handle does not cancel the new entry
    CHECK(heap.size() == 1);
    CHECK(heap.cancel(h2));

    // Against a reference model: a multimap keyed on (deadline, sequence).
    std::mt19937 rng(7);
    std::map<std::pair<long, int>, int> model;  // (ms, seq) -> id
    std::map<int, deadline_heap::handle> handles;
    std::map<int, std::pair<long, int>> keys;
    std::vector<int> fired;
    int seq = 0;
    long now = 0;
    for (int step = 0; step < 20'000; ++step) {
        const int action = static_cast<int>(rng() % 10);
        if (action < 5) {
            const long at = now + static_cast<long>(rng() % 100);
            const int id = seq++;
            handles[id] = heap.push(t0 + std::chrono::milliseconds(at),
                                    [&fired, id] { fired.push_back(id); });
            keys[id] = {at, id};
            model[{at, id}] = id;
        } else if (action < 8 && !handles.empty()) {
            auto it = handles.begin();
            std::advance(it, static_cast<long>(rng() % handles.size()));
            CHECK(heap.cancel(it->second));
            model.erase(keys[it->first]);
            keys.erase(it->first);
            handles.erase(it);
        } else {
            now += static_cast<long>(rng() % 30);
            fired.clear();
            while (auto cb = heap.pop_due(t0 + std::chrono::milliseconds(now))) cb();
            std::vector<int> expected;
            while (!model.empty() && model.begin()->first.first <= now) {
                const int id = model.begin()->second;
                expected.push_back(id);
                model.erase(model.begin());
                handles.erase(id);
                keys.erase(id);
            }
            REQUIRE(fired == expected);
        }
        REQUIRE(heap.size() == model.size());
    }
}

TEST_CASE("the loop timer source fires due callbacks and lets the loop end when idle",
          "[unit][pool]") {
    event_loop loop;
    auto timers = detail::make_loop_timer_source(loop);
    std::vector<int> fired;
    const auto now = timers->now();
    timers->schedule(now + 2ms, [&] { fired.push_back(2); });
    timers->schedule(now, [&] { fired.push_back(0); });
    auto cancelled = timers->schedule(now + 1ms, [&] { fired.push_back(1); });
    timers->cancel(cancelled);
    CHECK(fired.empty());  // never inline
    loop.run();
    CHECK(fired == std::vector<int>{0, 2});

    // A far deadline, then cancelled: nothing keeps the loop alive any more.
    auto far = timers->schedule(timers->now() + 1h, [&] { fired.push_back(99); });
    CHECK(uv_loop_alive(loop.native()) != 0);
    timers->cancel(far);
    CHECK(uv_loop_alive(loop.native()) == 0);
}
