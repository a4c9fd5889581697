// coroutines: the quickstart's query written with co_await on a pool, and
// what failure looks like when errors are values: a statement the server
// rejects, and a pool that has no connection to spare.
//
//   coroutines
//   'postgresql://user:password@localhost:5432/db?sslmode=verify-full&sslrootcert=ca.crt'
//   DATABASE_URL=... coroutines
//
// Every co_await resumes on the loop thread, from the operation's callback:
// the code reads top to bottom, yet the loop never blocks while it waits.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <uvdb/coro.hpp>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/uvdb.hpp>

using namespace std::chrono_literals;
using sys_us = std::chrono::sys_time<std::chrono::microseconds>;

// A task is lazy: nothing runs until someone awaits it or spawn()s it. It is
// a task<result<void>>, so a co_await that fails ends it with that error, for
// main() to print: no error plumbing in between.
uvdb::task<uvdb::result<void>> run(uvdb::pool& db) {
    // 1. One statement: the pool lends a connection, runs it, takes it back.
    //    Parameters are plain values sent apart from the SQL text, so they can
    //    never become SQL; rows come out as typed tuples.
    auto r =
        co_await db.query("SELECT $1::int AS n, $2::text AS greeting, now() AS at", 42, "hello");
    for (auto [n, greeting, at] : r.as<int, std::string_view, sys_us>()) {
        std::printf("n=%d greeting=%.*s at=%lld us after 1970-01-01 UTC\n", n,
                    static_cast<int>(greeting.size()), greeting.data(),
                    static_cast<long long>(at.time_since_epoch().count()));
    }

    // 2. The server rejects a statement. as_result hands over the raw result
    //    to branch on instead of ending the task. The SQLSTATE is the stable
    //    part to branch on; the message is for people.
    auto bad = co_await uvdb::as_result(db.query("SELECT * FROM table_that_does_not_exist"));
    if (bad) co_return uvdb::error(uvdb::errc::internal, "the query on a missing table succeeded");
    const uvdb::error& e = bad.error();
    std::printf("expected failure: SQLSTATE %s (%s): %s\n", std::string(e.sqlstate()).c_str(),
                std::string(uvdb::sqlstate_name(e.sqlstate())).c_str(), e.server_message().c_str());
    // A statement error leaves the connection healthy; the pool kept it.
    std::printf("connection kept after the error: %s\n", e.is_fatal() ? "no" : "yes");

    // 3. Hold a connection across several statements with a lease. It goes
    //    back to the pool when `held` goes out of scope, on every path.
    auto held = co_await db.acquire();
    auto pid = co_await held.query("SELECT pg_backend_pid()");
    std::printf("holding the pool's only connection (server pid %d)\n", co_await pid.one<int>());

    // 4. The pool is exhausted (size 1, no overflow, and we hold the one
    //    connection): a second acquire waits up to its own timeout, then gets
    //    errc::pool_timeout as a value. An application would answer "busy,
    //    try again" here rather than crash.
    const auto started = std::chrono::steady_clock::now();
    auto second = co_await uvdb::as_result(db.acquire(uvdb::call_options{300ms}));
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    if (second || second.error().value() != uvdb::errc::pool_timeout)
        co_return uvdb::error(uvdb::errc::internal, "expected a pool timeout");
    std::printf("expected failure after %lld ms: %s\n", static_cast<long long>(waited.count()),
                second.error().to_string().c_str());
    co_return uvdb::ok();
}

int main(int argc, char** argv) {
    const char* url = argc > 1 ? argv[1] : std::getenv("DATABASE_URL");
    if (url == nullptr || *url == '\0') {
        std::fprintf(stderr,
                     "usage: %s postgresql://user:password@host:port/db  (or set DATABASE_URL)\n",
                     argv[0]);
        return 2;
    }

    uvdb::event_loop loop;

    uvdb::pool_options opts;
    opts.connection.url = url;
    opts.connection.application_name = "uvdb-coroutines";
    // Tiny on purpose, so that step 4 can exhaust it. Real pools keep the defaults (20 + 40).
    opts.size = 1;
    opts.max_overflow = 0;
    opts.timeout = 5s;
    std::printf("connecting to %s\n", uvdb::mask_password(url).c_str());  // never print the raw URL

    int exit_code = 1;
    try {
        uvdb::pool db(loop, uvdb::postgres::make_driver(), opts);
        // The callback gets what the task ended with: its result, or the
        // exception it threw (value() rethrows it). Then the pool closes,
        // which lets loop.run() return.
        uvdb::spawn(run(db), [&db, &exit_code](uvdb::task_outcome<uvdb::result<void>> done) {
            try {
                const uvdb::result<void> r = std::move(done).value();
                if (!r) std::fprintf(stderr, "error: %s\n", r.error().to_string().c_str());
                exit_code = r ? 0 : 1;
            } catch (const std::exception& e) {
                std::fprintf(stderr, "error: %s\n", e.what());
            }
            db.close();
        });
        loop.run();  // returns once the pool is closed and its connections are gone
    } catch (const std::invalid_argument& e) {  // the pool constructor rejects bad options
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    std::printf("%s\n", exit_code == 0 ? "done" : "failed");
    return exit_code;
}
