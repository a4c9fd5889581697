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
#include <uvdb/coro.hpp>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/uvdb.hpp>

using namespace std::chrono_literals;

// A task is lazy: nothing runs until someone awaits it or spawn()s it. It
// returns the exit code so main() need not know how the steps went.
uvdb::task<int> run(uvdb::pool& db) {
    // 1. One statement: the pool lends a connection, runs it, takes it back.
    //    Parameters travel apart from the SQL text, so they can never become SQL.
    auto r = co_await db.query("SELECT $1::int AS n, $2::text AS greeting, now() AS at",
                               uvdb::make_params(42, "hello"));
    if (!r) {
        std::fprintf(stderr, "error: %s\n", r.err().to_string().c_str());
        co_return 1;
    }
    for (const uvdb::row row : *r) {
        // get<T> throws conversion_exception on a type mismatch; inside a task
        // that exception reaches spawn's on_done (see main) instead of the loop.
        std::printf("n=%d greeting=%s at=%s\n", row.get<int>("n"),
                    row.get<std::string>("greeting").c_str(), std::string(row.text(2)).c_str());
    }

    // 2. The server rejects a statement: no exception, a result holding an
    //    error. The SQLSTATE is the stable part to branch on; the message is
    //    for people.
    auto bad = co_await db.query("SELECT * FROM table_that_does_not_exist");
    if (bad) {
        std::fprintf(stderr, "error: the query on a missing table succeeded?\n");
        co_return 1;
    }
    const uvdb::error& e = bad.err();
    std::printf("expected failure: SQLSTATE %s (%s): %s\n", std::string(e.sqlstate()).c_str(),
                std::string(uvdb::sqlstate_name(e.sqlstate())).c_str(), e.server_message().c_str());
    // A statement error leaves the connection healthy; the pool kept it.
    std::printf("connection kept after the error: %s\n", e.is_fatal() ? "no" : "yes");

    // 3. Hold a connection across several statements with a lease. It goes
    //    back to the pool when `held` goes out of scope, even on an early co_return.
    auto held = co_await db.acquire();
    if (!held) {
        std::fprintf(stderr, "error: %s\n", held.err().to_string().c_str());
        co_return 1;
    }
    auto pid = co_await held->query("SELECT pg_backend_pid()");
    if (!pid) {
        std::fprintf(stderr, "error: %s\n", pid.err().to_string().c_str());
        co_return 1;
    }
    std::printf("holding the pool's only connection (server pid %d)\n", pid->value<int>());

    // 4. The pool is exhausted (size 1, no overflow, and we hold the one
    //    connection): a second acquire waits up to its timeout, then gets
    //    errc::pool_timeout as a value. An application would answer "busy,
    //    try again" here rather than crash.
    const auto started = std::chrono::steady_clock::now();
    auto second = co_await db.acquire(uvdb::call_options{300ms});
    const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    if (second || second.err().value() != uvdb::errc::pool_timeout) {
        std::fprintf(stderr, "error: expected a pool timeout\n");
        co_return 1;
    }
    std::printf("expected failure after %lld ms: %s\n", static_cast<long long>(waited.count()),
                second.err().to_string().c_str());
    co_return 0;
}

// spawn() takes a task<void>; this one runs the steps, records the exit code
// and closes the pool so that loop.run() can return. (A free function rather
// than a lambda: a coroutine lambda's captures die with the lambda object,
// long before the coroutine finishes.)
uvdb::task<void> main_task(uvdb::pool& db, int& exit_code) {
    exit_code = co_await run(db);
    db.close();
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
        uvdb::spawn(main_task(db, exit_code), [&db, &exit_code](std::exception_ptr failure) {
            if (!failure) return;
            try {
                std::rethrow_exception(failure);
            } catch (const uvdb::conversion_exception& e) {
                std::fprintf(stderr, "error: %s\n", e.err().to_string().c_str());
            } catch (const std::exception& e) {
                std::fprintf(stderr, "error: %s\n", e.what());
            }
            exit_code = 1;
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
