// [.sqlite-bench] Throughput numbers for the SQLite driver (hidden: run with
// `uvdb_sqlite_tests "[.sqlite-bench]"`). Prints numbers, asserts only that
// every statement succeeded: speed is never a test assertion.

#include <cstdio>
#include <uvdb/pool.hpp>

#include "sqlite_test_util.hpp"

using namespace uvdb;
using namespace uvdb::sqlite_test;

namespace {

double per_second(int n, std::chrono::steady_clock::duration d) {
    return n / std::chrono::duration<double>(d).count();
}

}  // namespace

TEST_CASE("sqlite bench: statements per second through the threadpool", "[.sqlite-bench]") {
    temp_dir dir;
    event_loop loop;
    constexpr int n = 10'000;
    {
        auto c = connect_ok(loop, "sqlite::memory:");
        int done = 0, failed = 0;
        const auto t0 = std::chrono::steady_clock::now();
        // Issued all at once: the connection queue runs them one job at a time.
        for (int i = 0; i < n; ++i)
            c->query("SELECT $1", make_params(i),
                     [&](result<result_set> r) { ++(r ? done : failed); });
        REQUIRE(wait_until(
            loop, [&] { return done + failed == n; }, 120s));
        const auto took = std::chrono::steady_clock::now() - t0;
        CHECK(failed == 0);
        std::printf(
            "[sqlite-bench] one :memory: connection, %d queued SELECT $1: %.0f statements/s "
            "(%.1f us each)\n",
            n, per_second(n, took), 1e6 / per_second(n, took));
    }
    {
        {
            auto setup = connect_ok(loop, dir.url("bench.db", "?journal_mode=wal"));
            must(loop, *setup, "CREATE TABLE t (x INTEGER)");
        }
        pool_options o;
        o.connection.url =
            dir.url("bench.db", "?journal_mode=wal&synchronous=normal&busy_timeout=10000");
        o.size = 4;
        o.max_overflow = 0;
        pool db(loop, sqlite_driver(), o);
        for (const char* sql : {"SELECT count(*) FROM t", "INSERT INTO t VALUES ($1)"}) {
            const bool insert = sql[0] == 'I';
            const int m = insert ? 2'000 : n;
            int done = 0, failed = 0;
            const auto t0 = std::chrono::steady_clock::now();
            for (int i = 0; i < m; ++i) {
                auto cb = [&](result<result_set> r) { ++(r ? done : failed); };
                if (insert) {
                    db.query(sql, make_params(i), cb);
                } else {
                    db.query(sql, cb);
                }
            }
            REQUIRE(wait_until(
                loop, [&] { return done + failed == m; }, 300s));
            const auto took = std::chrono::steady_clock::now() - t0;
            CHECK(failed == 0);
            std::printf(
                "[sqlite-bench] pool of 4 on a WAL file, %d concurrent %s: %.0f statements/s\n", m,
                insert ? "autocommit INSERTs (synchronous=normal)" : "SELECT count(*)",
                per_second(m, took));
        }
        db.close();
    }
    wait_until(
        loop, [] { return false; }, 20ms);
}
