// One driver shared by several threads, each running its own loop with its
// own connections (the "one loop, one owner" rule applies per loop). Catch's
// assertions are not thread-safe: the threads record, the main thread checks.

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>
#include <vector>

#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

namespace {

struct thread_report {
    int correct = 0;
    int timeouts = 0;
    std::vector<std::string> errors;
};

struct chain {
    uvdb::connection* conn = nullptr;
    int next = 0;
    int total = 0;
    bool finished = false;
};

// Runs on its own thread: `conns` connections, each `queries` statements back
// to back and then one statement that times out, then one more that must work.
void run_thread(const uvdb::connect_options& opts, int conns, int queries, thread_report& out) {
    uvdb::event_loop loop;
    std::vector<std::unique_ptr<uvdb::connection>> owned;
    std::vector<std::shared_ptr<chain>> chains;
    for (int i = 0; i < conns; ++i) {
        auto c = std::make_shared<chain>();
        c->total = queries;
        owned.push_back(t::pg_driver()->connect(loop, opts, [c, &out](uvdb::result<void> r) {
            if (!r) {
                out.errors.push_back("connect: " + t::describe(r.err()));
                c->finished = true;
            }
        }));
        c->conn = owned.back().get();
        chains.push_back(c);
    }
    // Statements issued while connecting are queued: issue them all now.
    for (auto& c : chains) {
        for (int k = 0; k < queries; ++k) {
            c->conn->query("SELECT $1::int + 1", uvdb::make_params(k),
                           [c, k, &out](uvdb::result<uvdb::result_set> r) {
                               auto v = r ? (*r)[0].try_get<int>(0) : uvdb::result<int>(r.err());
                               if (v && *v == k + 1) {
                                   ++out.correct;
                               } else {
                                   out.errors.push_back(v ? "wrong answer" : t::describe(v.err()));
                               }
                           });
        }
        uvdb::query_options o;
        o.timeout = 100ms;
        c->conn->query("SELECT pg_sleep(10)", {}, o, [&out](uvdb::result<uvdb::result_set> r) {
            if (!r && r.err().value() == errc::timeout) {
                ++out.timeouts;
            } else {
                out.errors.push_back("expected a timeout, got " +
                                     (r ? std::string("a result") : t::describe(r.err())));
            }
        });
        c->conn->query("SELECT 7", [c, &out](uvdb::result<uvdb::result_set> r) {
            auto v = r ? (*r)[0].try_get<int>(0) : uvdb::result<int>(r.err());
            if (!v || *v != 7)
                out.errors.push_back("after the timeout: " +
                                     (v ? std::string("wrong answer") : t::describe(v.err())));
            c->finished = true;
        });
    }
    const bool done = t::wait_until(
        loop,
        [&] {
            for (auto& c : chains) {
                if (!c->finished) return false;
            }
            return true;
        },
        60s);
    if (!done) out.errors.push_back("deadline passed");
    owned.clear();
    t::run_for(loop, 20ms);
}

}  // namespace

TEST_CASE("four threads, four loops, one driver", "[pg][threads]") {
    const auto opts = t::test_options();  // reads the environment on this thread
    (void)t::pg_driver();
    const auto fds = t::fd_baseline();
    constexpr int threads = 4;
    std::vector<thread_report> reports(threads);
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) {
        pool.emplace_back([&opts, &reports, i] { run_thread(opts, 5, 100, reports[i]); });
    }
    for (auto& th : pool) th.join();
    for (int i = 0; i < threads; ++i) {
        INFO("thread " << i);
        for (const auto& e : reports[i].errors) UNSCOPED_INFO(e);
        CHECK(reports[i].errors.empty());
        CHECK(reports[i].correct == 5 * 100);
        CHECK(reports[i].timeouts == 5);
    }
    // Sockets of cancel requests close on the threadpool, maybe a little later.
    t::check_fds_return_to(fds);
}
