// Streamed statements on SQLite (connection::stream, pool::stream): rows in
// chunks of chunk_rows stepped on the threadpool one request at a time, an
// error after the rows before it, dropping a stream early (the statement is
// finalized: its lock goes), the deadline while the consumer holds a chunk,
// a stream closed before it ran, and the coroutine form through a pool.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <uvdb/coro.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/stream.hpp>
#include <vector>

#include "sqlite_test_util.hpp"

using namespace uvdb;
using namespace uvdb::sqlite_test;

namespace {

/// 1..n as one column `i`, without a table.
std::string series(int n) {
    return "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < " +
           std::to_string(n) + ") SELECT i FROM s";
}

/// Asks `s` for its next chunk and runs the loop until it answers.
result<std::optional<result_set>> next_of(event_loop& loop, row_stream& s) {
    slot<std::optional<result_set>> got;
    s.next(got.sink());
    REQUIRE(wait_until(
        loop, [&] { return got.done(); }, step_timeout));
    return std::move(got.get());
}

}  // namespace

TEST_CASE("sqlite stream: rows in chunks of chunk_rows, then the end", "[sqlite][stream]") {
    temp_dir dir;
    event_loop loop;
    auto c = connect_ok(loop, dir.url("s.db"));
    stream_options so;
    so.chunk_rows = 1000;
    row_stream s = c->stream(so, series(2500) + " WHERE i > $1", 0);
    std::vector<std::size_t> sizes;
    std::int64_t sum = 0;
    std::int64_t expect_next = 1;
    bool in_order = true;
    for (;;) {
        auto r = next_of(loop, s);
        INFO((r ? std::string("ok") : r.err().to_string()));
        REQUIRE(r.ok());
        if (!*r) break;
        sizes.push_back((*r)->size());
        for (auto i : (*r)->as<std::int64_t>()) {
            in_order = in_order && i == expect_next++;
            sum += i;
        }
    }
    CHECK(sizes == std::vector<std::size_t>{1000, 1000, 500});
    CHECK(in_order);
    CHECK(sum == 2500LL * 2501 / 2);
    CHECK(s.done());
    CHECK(s.error() == nullptr);
    CHECK(s.rows() == 2500);
    // After the end, next() answers the end again; the connection is free.
    auto again = next_of(loop, s);
    REQUIRE(again.ok());
    CHECK_FALSE(again->has_value());
    CHECK(must(loop, *c, "SELECT 41 + 1").value<std::int64_t>() == 42);
}

TEST_CASE("sqlite stream: an error mid-way arrives after the rows before it", "[sqlite][stream]") {
    temp_dir dir;
    event_loop loop;
    auto c = connect_ok(loop, dir.url("s.db"));
    stream_options so;
    so.chunk_rows = 1000;
    // abs() of the smallest integer overflows: SQLite fails at row 1500.
    row_stream s = c->stream(so,
                             "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s "
                             "WHERE i < 3000) SELECT CASE WHEN i = 1500 THEN "
                             "abs(-9223372036854775807 - 1) ELSE i END FROM s");
    std::size_t rows = 0;
    std::optional<error> failed;
    for (;;) {
        auto r = next_of(loop, s);
        if (!r) {
            failed = r.err();
            break;
        }
        if (!*r) break;
        rows += (*r)->size();
    }
    CHECK(rows == 1499);
    REQUIRE(failed);
    CHECK(contains(failed->to_string(), "integer overflow"));
    CHECK(s.error() != nullptr);
    CHECK_FALSE(s.done());
    CHECK(must(loop, *c, "SELECT 1").value<std::int64_t>() == 1);  // still usable
}

TEST_CASE("sqlite stream: dropping a stream early finalizes its statement", "[sqlite][stream]") {
    temp_dir dir;
    event_loop loop;
    // Rollback-journal mode: a reader mid-scan holds a SHARED lock, and a
    // writer cannot commit while it does.
    auto reader = connect_ok(loop, dir.url("j.db"));
    auto writer = connect_ok(loop, dir.url("j.db", "?busy_timeout=0"));
    must(loop, *writer, "CREATE TABLE t (i INTEGER)");
    must(loop, *writer, "INSERT INTO t " + series(100));
    {
        stream_options so;
        so.chunk_rows = 10;
        row_stream s = reader->stream(so, "SELECT i FROM t ORDER BY rowid");
        auto first = next_of(loop, s);
        REQUIRE(first.ok());
        REQUIRE(first->has_value());
        CHECK((*first)->size() == 10);
        // Not asked for more: nothing is stepped, the statement waits mid-scan.
        auto blocked = query(loop, *writer, "INSERT INTO t VALUES (0)");
        CHECK_FALSE(blocked.ok());
        // A statement on the stream's connection waits behind the stream.
        slot<result_set> behind;
        reader->query("SELECT count(*) FROM t", {}, {}, behind.sink());
        CHECK_FALSE(wait_until(
            loop, [&] { return behind.done(); }, 100ms));
        // Dropped here: the statement is finalized, then `behind` runs.
        s.close();
        REQUIRE(wait_until(
            loop, [&] { return behind.done(); }, step_timeout));
        REQUIRE(behind.get().ok());
        CHECK(behind.get()->value<std::int64_t>() == 100);
    }
    auto now_free = query(loop, *writer, "INSERT INTO t VALUES (0)");
    INFO((now_free ? std::string("ok") : now_free.err().to_string()));
    CHECK(now_free.ok());
}

TEST_CASE("sqlite stream: the deadline fires while the consumer holds a chunk",
          "[sqlite][stream]") {
    temp_dir dir;
    event_loop loop;
    auto c = connect_ok(loop, dir.url("s.db"));
    stream_options so;
    so.chunk_rows = 10;
    so.timeout = std::chrono::milliseconds{20};
    row_stream s = c->stream(so, series(1000));
    auto first = next_of(loop, s);
    REQUIRE(first.ok());
    REQUIRE(first->has_value());
    // The consumer asks for nothing; the loop runs past the deadline.
    const auto until = std::chrono::steady_clock::now() + 150ms;
    wait_until(
        loop, [&] { return std::chrono::steady_clock::now() >= until; }, 1s);
    auto late = next_of(loop, s);
    REQUIRE_FALSE(late.ok());
    CHECK(late.err().value() == errc::timeout);
    CHECK(must(loop, *c, "SELECT 1").value<std::int64_t>() == 1);
}

TEST_CASE("sqlite stream: refusals, a stream closed before it ran, a closed connection",
          "[sqlite][stream]") {
    temp_dir dir;
    event_loop loop;
    auto c = connect_ok(loop, dir.url("s.db"));
    {
        row_stream bad = c->stream("SELEKT 1");
        auto r = next_of(loop, bad);
        REQUIRE_FALSE(r.ok());
        CHECK(contains(r.err().to_string(), "syntax error"));
    }
    {
        row_stream two = c->stream("SELECT 1; SELECT 2");
        auto r = next_of(loop, two);
        REQUIRE_FALSE(r.ok());
        CHECK(r.err().value() == errc::bad_input);
    }
    {
        stream_options so;
        so.chunk_rows = 5;
        row_stream first = c->stream(so, series(20));
        row_stream second = c->stream(so, series(20));  // queued behind `first`
        second.close();                                 // never runs
        std::size_t n = 0;
        for (;;) {
            auto r = next_of(loop, first);
            REQUIRE(r.ok());
            if (!*r) break;
            n += (*r)->size();
        }
        CHECK(n == 20);
    }
    {
        stream_options so;
        so.chunk_rows = 5;
        row_stream s = c->stream(so, series(20));
        auto r = next_of(loop, s);
        REQUIRE(r.ok());
        c->close();
        auto after = next_of(loop, s);
        REQUIRE_FALSE(after.ok());
        CHECK(after.err().value() == errc::closed);
    }
}

TEST_CASE("sqlite stream: the coroutine form through a pool", "[sqlite][stream]") {
    temp_dir dir;
    event_loop loop;
    pool_options o;
    o.connection.url = dir.url("p.db", "?journal_mode=wal");
    o.size = 1;
    o.max_overflow = 0;
    pool db(loop, sqlite_driver(), o);
    std::int64_t sum = 0;
    std::size_t chunks = 0;
    std::int64_t after = -1;
    bool done = false;
    // Named: the coroutine refers to the lambda's captures for its whole life.
    auto body = [&]() -> task<void> {
        stream_options so;
        so.chunk_rows = 64;
        auto s = co_await db.stream(so, series(1000));
        if (!s) co_return;
        while (auto chunk = co_await s->next()) {
            ++chunks;
            for (auto i : chunk->as<std::int64_t>()) sum += i;
        }
        // The stream's lease went back at its end: the one connection serves this.
        auto r = co_await db.query("SELECT 5");
        if (r) after = r->value<std::int64_t>();
    };
    spawn(body(), [&](std::exception_ptr) { done = true; });
    REQUIRE(wait_until(
        loop, [&] { return done; }, step_timeout));
    CHECK(chunks == 16);
    CHECK(sum == 500500);
    CHECK(after == 5);
    db.close();
}
