// [sqlite] Locks and threads: WAL readers beside a writer, SQLITE_BUSY from a
// second connection, cancelling a wait for a lock, the loop running while a
// statement does, and the pool over SQLite.

#include <algorithm>
#include <cstdio>
#include <uvdb/pool.hpp>
#include <uvdb/timer.hpp>

#include "sqlite_test_util.hpp"

using namespace uvdb;
using namespace uvdb::sqlite_test;

TEST_CASE("sqlite: WAL lets a reader run while another connection writes", "[sqlite]") {
    temp_dir dir;
    event_loop loop;
    auto writer = connect_ok(loop, dir.url("app.db", "?journal_mode=wal"));
    auto reader = connect_ok(loop, dir.url("app.db", "?journal_mode=wal&busy_timeout=0"));
    must(loop, *writer, "CREATE TABLE t (x INTEGER)");
    must(loop, *writer, "INSERT INTO t VALUES (1)");
    must(loop, *writer, "BEGIN IMMEDIATE");
    must(loop, *writer, "INSERT INTO t VALUES (2)");
    // The reader sees the last committed state, without waiting.
    CHECK(must(loop, *reader, "SELECT count(*) FROM t").value<int>() == 1);
    must(loop, *writer, "COMMIT");
    CHECK(must(loop, *reader, "SELECT count(*) FROM t").value<int>() == 2);
}

TEST_CASE("sqlite: a write lock held by another connection gives a retryable timeout (SQLITE_BUSY)",
          "[sqlite]") {
    temp_dir dir;
    event_loop loop;
    auto holder = connect_ok(loop, dir.url("app.db", "?journal_mode=wal"));
    auto other = connect_ok(loop, dir.url("app.db", "?journal_mode=wal&busy_timeout=200"));
    must(loop, *holder, "CREATE TABLE t (x INTEGER)");
    must(loop, *holder, "BEGIN IMMEDIATE");
    must(loop, *holder, "INSERT INTO t VALUES (1)");

    auto r = query(loop, *other, "INSERT INTO t VALUES (2)");
    REQUIRE_FALSE(r.ok());
    const error& e = r.err();
    INFO(e.to_string());
    CHECK(e.value() == errc::timeout);
    CHECK(e.retryable());
    CHECK_FALSE(e.is_fatal());
    CHECK(contains(e.message(), "SQLITE_BUSY"));
    CHECK(contains(e.message(), "busy_timeout"));
    CHECK_FALSE(other->is_broken());

    // Once the holder commits, the same statement succeeds on the same connection.
    must(loop, *holder, "COMMIT");
    must(loop, *other, "INSERT INTO t VALUES (2)");
    CHECK(must(loop, *holder, "SELECT count(*) FROM t").value<int>() == 2);
}

TEST_CASE("sqlite: cancel() ends a wait for a lock long before busy_timeout", "[sqlite]") {
    temp_dir dir;
    event_loop loop;
    auto holder = connect_ok(loop, dir.url("app.db", "?journal_mode=wal"));
    auto waiter = connect_ok(loop, dir.url("app.db", "?journal_mode=wal&busy_timeout=60000"));
    must(loop, *holder, "CREATE TABLE t (x INTEGER)");
    must(loop, *holder, "BEGIN IMMEDIATE");

    slot<result_set> q;
    const auto started = std::chrono::steady_clock::now();
    waiter->query("INSERT INTO t VALUES (1)", q.sink());
    timer later(loop);
    later.start(100ms, [&] { waiter->cancel(); });
    REQUIRE(wait_until(
        loop, [&] { return q.done(); }, 30s));
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(q.get().ok());
    INFO(q.get().err().to_string());
    CHECK(q.get().err().value() == errc::cancelled);
    CHECK(took < 30s);  // the 60 s busy wait was cut short
    must(loop, *holder, "ROLLBACK");
    must(loop, *waiter, "INSERT INTO t VALUES (1)");

    // A deadline ends the wait the same way, as errc::timeout.
    must(loop, *holder, "BEGIN IMMEDIATE");
    query_options opts;
    opts.timeout = 150ms;
    auto t = query(loop, *waiter, "INSERT INTO t VALUES (2)", {}, opts);
    REQUIRE_FALSE(t.ok());
    CHECK(t.err().value() == errc::timeout);
    CHECK(contains(t.err().message(), "deadline"));
    must(loop, *holder, "COMMIT");
}

TEST_CASE("sqlite: the loop keeps running while a slow statement runs on the threadpool",
          "[sqlite]") {
    event_loop loop;
    auto c = connect_ok(loop, "sqlite::memory:");
    // A 10 ms repeating timer counts its ticks while a recursive CTE counts to 10^6
    // (about 0.7 s here, 7 s under TSan).
    int ticks_during = 0;
    bool running = false;
    auto last = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration max_gap{0};
    timer tick(loop);
    tick.start(
        10ms,
        [&] {
            const auto now = std::chrono::steady_clock::now();
            if (running) {
                ++ticks_during;
                max_gap = std::max(max_gap, now - last);
            }
            last = now;
        },
        10ms);
    slot<result_set> q;
    running = true;
    last = std::chrono::steady_clock::now();
    const auto started = last;
    c->query(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000000) "
        "SELECT count(*) FROM c",
        q.sink());
    REQUIRE(wait_until(
        loop, [&] { return q.done(); }, 120s));
    running = false;
    tick.close();
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE(q.get().ok());
    CHECK(q.get()->value<std::int64_t>() == 1'000'000);
    using ms = std::chrono::milliseconds;
    std::printf(
        "[sqlite] 10^6-row CTE took %lld ms; the loop timer fired %d times meanwhile, "
        "largest gap %lld ms\n",
        static_cast<long long>(std::chrono::duration_cast<ms>(took).count()), ticks_during,
        static_cast<long long>(std::chrono::duration_cast<ms>(max_gap).count()));
    // The statement took many timer periods; the timer fired during it.
    if (took > 100ms) CHECK(ticks_during >= 2);
}

TEST_CASE("sqlite: a pool of connections over one WAL file serves concurrent writers", "[sqlite]") {
    temp_dir dir;
    event_loop loop;
    {
        auto setup = connect_ok(loop, dir.url("app.db", "?journal_mode=wal"));
        must(loop, *setup, "CREATE TABLE t (x INTEGER)");
    }
    {
        pool_options o;
        o.connection.url = dir.url("app.db", "?journal_mode=wal&busy_timeout=10000");
        o.size = 4;
        o.max_overflow = 0;
        pool db(loop, sqlite_driver(), o);
        constexpr int n = 100;
        int ok = 0;
        std::vector<std::string> errors;
        for (int i = 0; i < n; ++i) {
            db.query("INSERT INTO t VALUES ($1)", make_params(i), [&](result<result_set> r) {
                if (r) {
                    ++ok;
                } else {
                    errors.push_back(r.err().to_string());
                }
            });
        }
        REQUIRE(wait_until(
            loop, [&] { return ok + static_cast<int>(errors.size()) == n; }, 60s));
        INFO((errors.empty() ? std::string() : errors.front()));
        CHECK(errors.empty());
        slot<result_set> count;
        db.query("SELECT count(*), sum(x) FROM t", count.sink());
        REQUIRE(wait_until(
            loop, [&] { return count.done(); }, step_timeout));
        REQUIRE(count.get().ok());
        CHECK((*count.get())[0].get<int>(0) == n);
        CHECK((*count.get())[0].get<int>(1) == n * (n - 1) / 2);
        CHECK(db.stats().total <= 4);
        CHECK(db.stats().checked_out == 0);
        db.close();
    }
    wait_until(
        loop, [] { return false; }, 20ms);
}

TEST_CASE("sqlite: many connections opened and closed at once leave nothing behind", "[sqlite]") {
    temp_dir dir;
    event_loop loop;
    std::vector<std::unique_ptr<connection>> conns;
    int opened = 0;
    for (int i = 0; i < 16; ++i) {
        connect_options o;
        o.url = dir.url("app.db", "?journal_mode=wal");
        conns.push_back(
            sqlite_driver()->connect(loop, o, [&](result<void> r) { opened += r ? 1 : 0; }));
        conns.back()->query("SELECT 1", [](result<result_set>) {});
    }
    // Close half while they open, the rest after.
    for (int i = 0; i < 8; ++i) conns[static_cast<std::size_t>(i)].reset();
    REQUIRE(wait_until(
        loop, [&] { return opened == 8; }, step_timeout));
    conns.clear();
    // The loop ends by itself once every close job has come back.
    loop.run();
    CHECK(opened == 8);
}

TEST_CASE("sqlite: a statement whose deadline passes in the queue fails without running",
          "[sqlite]") {
    event_loop loop;
    auto c = connect_ok(loop, "sqlite::memory:");
    must(loop, *c, "CREATE TABLE t (x INTEGER)");
    slot<result_set> slow;
    c->query(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000000000) "
        "SELECT count(*) FROM c",
        slow.sink());
    query_options opts;
    opts.timeout = 50ms;
    slot<result_set> queued;
    c->query("INSERT INTO t VALUES (1)", {}, opts, queued.sink());
    timer later(loop);
    later.start(300ms, [&] { c->cancel(); });
    REQUIRE(wait_until(
        loop, [&] { return slow.done() && queued.done(); }, 30s));
    REQUIRE_FALSE(slow.get().ok());
    CHECK(slow.get().err().value() == errc::cancelled);
    REQUIRE_FALSE(queued.get().ok());
    INFO(queued.get().err().to_string());
    CHECK(queued.get().err().value() == errc::timeout);
    CHECK(contains(queued.get().err().message(), "waited in the connection's queue"));
    CHECK(must(loop, *c, "SELECT count(*) FROM t").value<int>() == 0);  // it never ran
}
