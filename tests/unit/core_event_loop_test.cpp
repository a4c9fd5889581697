#include <uv.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <uvdb/event_loop.hpp>
#include <uvdb/offload.hpp>
#include <uvdb/timer.hpp>
#include <vector>

#include "core_log_capture.hpp"

using namespace std::chrono_literals;

namespace {

struct destroy_counter {
    int* count;
    explicit destroy_counter(int* c) : count(c) {}
    destroy_counter(destroy_counter&& o) noexcept : count(std::exchange(o.count, nullptr)) {}
    destroy_counter& operator=(destroy_counter&&) = delete;
    ~destroy_counter() {
        if (count != nullptr) ++*count;
    }
};

}  // namespace

TEST_CASE("defer never runs inline and runs in order", "[unit][event_loop]") {
    uvdb::event_loop loop;
    std::vector<int> order;
    for (int i = 0; i < 5; ++i) loop.defer([&order, i] { order.push_back(i); });
    CHECK(order.empty());
    loop.run();
    CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("work deferred from deferred work runs, after what was queued before it",
          "[unit][event_loop]") {
    uvdb::event_loop loop;
    std::vector<int> order;
    loop.defer([&] {
        order.push_back(1);
        loop.defer([&] {
            order.push_back(3);
            loop.defer([&] { order.push_back(4); });
        });
        CHECK(order == std::vector<int>{1});  // still not inline
    });
    loop.defer([&] { order.push_back(2); });
    loop.run();
    CHECK(order == std::vector<int>{1, 2, 3, 4});
}

TEST_CASE("a long chain of self-deferring work completes without blocking", "[unit][event_loop]") {
    uvdb::event_loop loop;
    int remaining = 1000;
    std::function<void()> again = [&] {
        if (--remaining > 0) loop.defer([&] { again(); });
    };
    loop.defer([&] { again(); });
    loop.run();  // ends only if deferred work keeps the loop alive, and then lets it go
    CHECK(remaining == 0);
}

TEST_CASE("work deferred from a timer callback runs before the loop blocks in poll",
          "[unit][event_loop]") {
    uvdb::event_loop loop;
    uvdb::timer keepalive(loop);
    keepalive.start(5s, [] {});
    bool ran = false;
    uvdb::timer t(loop);
    t.start(0ms, [&] { loop.defer([&] { ran = true; }); });
    auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < 3 && !ran; ++i) loop.run_once();
    CHECK(ran);
    // Had the deferred work waited for poll, run_once would have slept until
    // the 5 s keepalive timer.
    CHECK(std::chrono::steady_clock::now() - started < 2s);
}

TEST_CASE("work deferred from an I/O-phase callback runs in the same iteration",
          "[unit][event_loop]") {
    uvdb::event_loop loop;
    uvdb::timer keepalive(loop);
    keepalive.start(5s, [] {});
    bool posted_ran = false;
    bool deferred_ran = false;
    loop.post([&] {
        posted_ran = true;
        loop.defer([&] { deferred_ran = true; });
    });
    auto started = std::chrono::steady_clock::now();
    while (!deferred_ran && std::chrono::steady_clock::now() - started < 3s) loop.run_once();
    CHECK(posted_ran);
    CHECK(deferred_ran);
    CHECK(std::chrono::steady_clock::now() - started < 2s);
}

TEST_CASE("post from four threads runs every item exactly once on the loop thread",
          "[unit][event_loop]") {
    uvdb::event_loop loop;
    constexpr int threads = 4;
    constexpr int per_thread = 10000;
    std::vector<int> hits(static_cast<std::size_t>(threads) * per_thread, 0);
    int total = 0;
    bool all_on_loop_thread = true;
    auto loop_thread = std::this_thread::get_id();

    uvdb::timer keepalive(loop);  // post() alone does not keep the loop alive
    keepalive.start(1h, [] {});

    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int i = 0; i < per_thread; ++i) {
                int id = t * per_thread + i;
                loop.post([&, id] {
                    ++hits[static_cast<std::size_t>(id)];
                    all_on_loop_thread =
                        all_on_loop_thread && std::this_thread::get_id() == loop_thread;
                    if (++total == threads * per_thread) keepalive.close();
                });
            }
        });
    }
    loop.run();
    for (auto& w : workers) w.join();
    CHECK(total == threads * per_thread);
    CHECK(all_on_loop_thread);
    CHECK(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
}

TEST_CASE("work posted before run() runs even when nothing else is alive", "[unit][event_loop]") {
    uvdb::event_loop loop;
    bool ran = false;
    std::thread([&] { loop.post([&] { ran = true; }); }).join();
    loop.run();
    CHECK(ran);
}

TEST_CASE("uvdb's idle handles do not keep the loop running", "[unit][event_loop]") {
    uvdb::event_loop loop;
    loop.defer([] {});
    loop.run();
    // Nothing queued: run_nowait reports no active handle.
    CHECK_FALSE(loop.run_nowait());
    CHECK_FALSE(loop.run_once());
}

TEST_CASE("a borrowed loop works, and closes cleanly after the event_loop is gone",
          "[unit][event_loop]") {
    uv_loop_t raw;
    REQUIRE(uv_loop_init(&raw) == 0);
    int ran = 0;
    int destroyed_unrun = 0;
    {
        uvdb::event_loop loop(&raw);
        CHECK_FALSE(loop.owns_loop());
        CHECK(loop.native() == &raw);
        loop.defer([&] { ++ran; });
        uv_run(&raw, UV_RUN_DEFAULT);
        CHECK(ran == 1);
        loop.defer([&ran, c = destroy_counter(&destroyed_unrun)] { ++ran; });
    }
    CHECK(destroyed_unrun == 1);
    uv_run(&raw, UV_RUN_DEFAULT);  // lets uvdb's handles close
    CHECK(ran == 1);
    CHECK(uv_loop_close(&raw) == 0);
}

TEST_CASE("an owned loop's destructor cleans up pending work and leftover handles",
          "[unit][event_loop]") {
    int destroyed = 0;
    bool done_ran = false;
    std::atomic<bool> release{false};
    // A handle the application forgot to close; it must outlive the loop.
    static uv_timer_t leftover;
    uvdb_test::log_capture log;
    {
        uvdb::event_loop loop;
        CHECK(loop.owns_loop());
        loop.defer([c = destroy_counter(&destroyed)] {});
        loop.post([c = destroy_counter(&destroyed)] {});
        uvdb::offload(
            loop,
            [&release] {
                while (!release.load()) std::this_thread::yield();
            },
            [&done_ran, c = destroy_counter(&destroyed)] { done_ran = true; });
        uv_timer_init(loop.native(), &leftover);
        uv_timer_start(
            &leftover, [](uv_timer_t*) {}, 3600ULL * 1000, 0);
        release = true;
    }
    CHECK(destroyed == 3);
    CHECK_FALSE(done_ran);
    CHECK(log.contains("closed 1 libuv handle(s) still open on the owned loop"));
}

TEST_CASE("now() follows steady_clock and update_time() refreshes it", "[unit][event_loop]") {
    uvdb::event_loop loop;
    auto a = loop.update_time();
    auto real = std::chrono::steady_clock::now();
    CHECK(a <= real + 50ms);
    CHECK(a >= real - 50ms);
    CHECK(loop.now() == a);
    auto b = loop.update_time();
    CHECK(b >= a);
}

TEST_CASE("event_loop: closing hooks run once at destruction, in order, with the work they defer",
          "[unit][loop]") {
    std::vector<std::string> seen;
    {
        uvdb::event_loop loop;
        loop.add_closing_hook([&] {
            seen.emplace_back("first");
            // As a pool closing a connection: its callback completes deferred.
            loop.defer([&] {
                seen.emplace_back("deferred by first");
                loop.defer([&] { seen.emplace_back("deferred again"); });
            });
        });
        const auto removed = loop.add_closing_hook([&] { seen.emplace_back("removed"); });
        std::uint64_t own = 0;
        own = loop.add_closing_hook([&] {
            seen.emplace_back("third");
            loop.remove_closing_hook(own);  // already taken out: harmless
        });
        loop.remove_closing_hook(removed);
        loop.remove_closing_hook(removed);  // twice: harmless
        loop.run_nowait();
        CHECK(seen.empty());  // running the loop does not run them
    }
    CHECK(seen ==
          std::vector<std::string>{"first", "third", "deferred by first", "deferred again"});
}

TEST_CASE("event_loop: a borrowed loop runs its closing hooks too", "[unit][loop]") {
    uv_loop_t raw;
    REQUIRE(uv_loop_init(&raw) == 0);
    int ran = 0;
    {
        uvdb::event_loop loop(&raw);
        loop.defer([&] { ran += 10; });  // deferred before destruction: never runs
        loop.add_closing_hook([&] { ++ran; });
    }
    CHECK(ran == 1);
    uv_run(&raw, UV_RUN_DEFAULT);  // lets uvdb's handles close, as the application's loop would
    CHECK(uv_loop_close(&raw) == 0);
}
