// Streamed results against a real server: chunks in order, back-pressure (the
// server waits on ClientWrite while the consumer holds a chunk), an early
// close that cancels the statement and leaves the connection clean, an error
// mid-stream after the rows before it, a timeout that fires while the
// consumer is not asking, the coroutine forms, and the pool's stream.

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <uvdb/coro.hpp>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/stream.hpp>

#include "integration/pool_pg_support.hpp"
#include "integration/support/stream_support.hpp"
#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

namespace {

constexpr const char* wide_rows = "SELECT i, repeat('x', 92) FROM generate_series(1, $1::int) i";

}  // namespace

TEST_CASE("stream: a million rows arrive in chunks, in order, each chunk full but the last",
          "[pg][stream]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    const std::int64_t n = 1'000'000 / t::test_scale();
    uvdb::stream_options o;
    o.chunk_rows = 5000;
    auto s = conn->stream(o, "SELECT i FROM generate_series(1, $1::int) i", n);
    std::int64_t expected = 1;
    std::size_t chunks = 0;
    for (;;) {
        auto r = t::next_sync(loop, s);
        if (!r) t::fail_with("next", r.error());
        if (!*r) break;
        const uvdb::result_set& chunk = **r;
        ++chunks;
        if (expected + static_cast<std::int64_t>(o.chunk_rows) <= n + 1) {
            REQUIRE(chunk.size() == o.chunk_rows);
        }
        for (const std::int64_t i : chunk.as<std::int64_t>()) {
            if (i != expected) REQUIRE(i == expected);  // REQUIRE only on a mismatch: fast
            ++expected;
        }
    }
    CHECK(expected == n + 1);
    CHECK(s.rows() == static_cast<std::uint64_t>(n));
    CHECK(s.done());
    CHECK(s.error() == nullptr);
    CHECK(chunks == static_cast<std::size_t>((n + 4999) / 5000));
    // The end was read: the connection is idle and takes the next statement.
    CHECK(conn->is_idle());
    CHECK(t::scalar<int>(loop, *conn, "SELECT 7") == 7);
    // Asking again after the end answers the end again.
    auto again = t::next_sync(loop, s);
    REQUIRE(again);
    CHECK_FALSE(again->has_value());
}

TEST_CASE("stream: columns, names and as<T...>() work on a chunk; NULLs and empty results",
          "[pg][stream]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    {
        auto s = conn->stream("SELECT 1 AS a, NULL::text AS b, 'x'::text AS c");
        auto r = t::next_sync(loop, s);
        REQUIRE(r);
        REQUIRE(r->has_value());
        const uvdb::result_set& rs = **r;
        REQUIRE(rs.size() == 1);
        CHECK(rs.columns() == 3);
        CHECK(rs.column_name(1) == "b");
        CHECK(rs[0].is_null(1));
        CHECK(rs[0].get<std::string>("c") == "x");
        auto end = t::next_sync(loop, s);
        REQUIRE(end);
        CHECK_FALSE(end->has_value());
    }
    {
        auto s = conn->stream("SELECT 1 WHERE false");
        auto r = t::next_sync(loop, s);
        REQUIRE(r);
        CHECK_FALSE(r->has_value());  // no rows: the end at once
    }
    // Several streams issued at once run one after the other.
    auto s1 = conn->stream("SELECT generate_series(1, 3)");
    auto s2 = conn->stream("SELECT generate_series(4, 5)");
    auto r2 = t::next_sync(loop, s2);  // queued behind s1, which is read ahead meanwhile
    auto r1 = t::next_sync(loop, s1);
    REQUIRE(r1);
    REQUIRE(r2);
    CHECK((*r1)->size() == 3);
    CHECK((*r2)->size() == 2);
}

TEST_CASE(
    "stream: back-pressure: while the consumer holds a chunk the server waits on "
    "ClientWrite, and the loop keeps running",
    "[pg][stream][backpressure]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    const auto pid = conn->server_pid();
    // 1M rows of ~100 bytes: far more than the kernel's socket buffers hold.
    auto s = conn->stream(wide_rows, 1'000'000);
    auto first = t::next_sync(loop, s);
    REQUIRE(first);
    REQUIRE(first->has_value());
    // Hold it. The loop runs (the admin queries below run on it) and the
    // server ends up blocked writing to us: nobody reads its rows.
    t::run_until(
        loop, [&] { return t::activity_of(loop, pid).wait_event == "ClientWrite"; }, 20s,
        "the backend to block on ClientWrite");
    const long rss_before = t::current_rss_kib();
    for (int i = 0; i < 5; ++i) {
        CHECK(t::activity_of(loop, pid).wait_event == "ClientWrite");
    }
    // Held memory did not grow with the rows the server has (at most a chunk ahead).
    CHECK(t::current_rss_kib() - rss_before < 16 * 1024);
    // Asking again gets the next chunk, in order.
    auto second = t::next_sync(loop, s);
    REQUIRE(second);
    REQUIRE(second->has_value());
    CHECK((**second)[0].get<int>(0) == 1001);
    s.close();  // the rest is cancelled (see the next test)
    t::run_until(
        loop, [&] { return conn->is_idle(); }, 20s, "the closed stream to drain");
}

TEST_CASE(
    "stream: closing early cancels the statement on the server and leaves the connection "
    "clean",
    "[pg][stream][close]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    const auto pid = conn->server_pid();
    {
        auto s = conn->stream(wide_rows, 10'000'000);
        auto first = t::next_sync(loop, s);
        REQUIRE(first);
        REQUIRE(first->has_value());
    }  // dropped here, 9,999,000 rows before its end
    t::run_until(
        loop, [&] { return conn->is_idle(); }, 20s, "the dropped stream to drain");
    CHECK_FALSE(conn->is_broken());
    // The next statement on the same connection works…
    CHECK(t::scalar<int>(loop, *conn, "SELECT 42") == 42);
    // …and the server runs nothing for it any more.
    const auto a = t::activity_of(loop, pid);
    CHECK(a.state == "idle");
    CHECK_FALSE(t::contains(a.query, "generate_series"));

    // Closed before it was even sent (queued behind a query): never runs.
    auto q = t::make_query_slot();
    conn->query("SELECT pg_sleep(0.05)", {}, {}, t::store_in(q));
    { auto s = conn->stream("SELECT 1"); }
    t::run_until(
        loop, [&] { return q->has_value() && conn->is_idle(); }, 20s, "idle");
    CHECK(t::scalar<int>(loop, *conn, "SELECT 5") == 5);
}

TEST_CASE("stream: an error mid-stream arrives after the rows before it", "[pg][stream][errors]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    uvdb::stream_options o;
    o.chunk_rows = 1000;
    auto s = conn->stream(o, "SELECT 10 / (2500 - i) FROM generate_series(1, 5000) i");
    std::size_t rows = 0;
    std::optional<uvdb::error> failed;
    for (;;) {
        auto r = t::next_sync(loop, s);
        if (!r) {
            failed = r.error();
            break;
        }
        if (!*r) break;
        rows += (*r)->size();
    }
    REQUIRE(failed.has_value());
    INFO(t::describe(*failed));
    CHECK(failed->sqlstate() == "22012");
    CHECK(rows == 2499);
    CHECK(s.rows() == 2499);
    REQUIRE(s.error() != nullptr);
    CHECK(s.error()->sqlstate() == "22012");
    CHECK_FALSE(conn->is_broken());
    CHECK(t::scalar<int>(loop, *conn, "SELECT 1") == 1);
}

TEST_CASE("stream: the statement's timeout fires while the consumer is not asking",
          "[pg][stream][timeout]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    uvdb::stream_options o;
    o.timeout = 500ms;
    // The consumer asks for nothing: one chunk is read ahead, then reading
    // stops and the server blocks. The deadline still cancels the statement
    // and the connection drains on its own.
    auto s = conn->stream(o, wide_rows, 10'000'000);
    t::run_until(
        loop, [&] { return conn->is_idle(); }, 20s, "the timed-out stream to drain");
    auto r = t::next_sync(loop, s);
    REQUIRE_FALSE(r);
    INFO(t::describe(r.error()));
    CHECK(r.error().value() == errc::timeout);
    CHECK_FALSE(conn->is_broken());
    CHECK(t::scalar<int>(loop, *conn, "SELECT 3") == 3);
}

TEST_CASE("stream: coroutine forms: errors end a task<result<T>>; a plain task's loop ends",
          "[pg][stream][coro]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto sum = [&](const char* sql) -> uvdb::task<uvdb::result<std::int64_t>> {
        auto s = conn->stream(sql);
        std::int64_t total = 0;
        while (auto chunk = co_await s.next()) {
            for (const std::int64_t v : chunk->as<std::int64_t>()) total += v;
        }
        co_return total;
    };
    std::optional<uvdb::result<std::int64_t>> good;
    std::optional<uvdb::result<std::int64_t>> bad;
    uvdb::spawn(sum("SELECT generate_series(1, 10000)::int8"),
                [&](uvdb::task_outcome<uvdb::result<std::int64_t>> r) {
                    good.emplace(std::move(r).value());
                });
    uvdb::spawn(sum("SELECT (10 / (5 - i))::int8 FROM generate_series(1, 10) i"),
                [&](uvdb::task_outcome<uvdb::result<std::int64_t>> r) {
                    bad.emplace(std::move(r).value());
                });
    t::run_until(
        loop, [&] { return good && bad; }, 30s, "both tasks");
    REQUIRE(*good);
    CHECK(**good == 50'005'000);
    REQUIRE_FALSE(*bad);
    CHECK(bad->error().sqlstate() == "22012");

    // A plain task: the loop ends at the end or on the error; s.error() says which.
    std::optional<std::string> seen;
    uvdb::spawn([&]() -> uvdb::task<void> {
        auto s = conn->stream("SELECT (10 / (3 - i)) FROM generate_series(1, 5) i");
        int rows = 0;
        while (auto chunk = co_await s.next()) rows += static_cast<int>(chunk->size());
        seen =
            std::to_string(rows) +
            (s.error() != nullptr ? " " + std::string(s.error()->sqlstate()) : std::string(" ok"));
    });
    t::run_until(
        loop, [&] { return seen.has_value(); }, 30s, "the plain task");
    CHECK(*seen == "2 22012");
}

TEST_CASE("stream: pool.stream holds a connection for the stream's life and returns it clean",
          "[pg][stream][pool]") {
    uvdb::event_loop loop;
    uvdb::pool db(loop, t::pg_driver(), t::pool_test_options(1, 0));
    std::optional<uvdb::result<uvdb::row_stream>> got;
    db.stream("SELECT generate_series(1, $1::int)", 2500,
              [&](uvdb::result<uvdb::row_stream> r) { got.emplace(std::move(r)); });
    t::run_until(
        loop, [&] { return got.has_value(); }, 30s, "the stream");
    REQUIRE(*got);
    uvdb::row_stream s = std::move(**got);
    CHECK(db.stats().checked_out == 1);
    std::size_t rows = 0;
    for (;;) {
        auto r = t::next_sync(loop, s);
        REQUIRE(r);
        if (!*r) break;
        rows += (*r)->size();
    }
    CHECK(rows == 2500);
    t::run_until(
        loop, [&] { return db.stats().checked_out == 0; }, 10s, "the lease back");

    // Dropped early: the lease comes back once the statement is cancelled and drained.
    got.reset();
    db.stream(wide_rows, 10'000'000,
              [&](uvdb::result<uvdb::row_stream> r) { got.emplace(std::move(r)); });
    t::run_until(
        loop, [&] { return got.has_value(); }, 30s, "the second stream");
    REQUIRE(*got);
    {
        uvdb::row_stream s2 = std::move(**got);
        auto r = t::next_sync(loop, s2);
        REQUIRE(r);
        REQUIRE(r->has_value());
    }
    t::run_until(
        loop, [&] { return db.stats().checked_out == 0 && db.stats().idle == 1; }, 20s,
        "the lease back after the drain");
    auto q = t::make_query_slot();
    db.query("SELECT 9", t::store_in(q));
    t::run_until(
        loop, [&] { return q->has_value(); }, 10s, "a query after");
    REQUIRE(**q);
    CHECK((**q)->value<int>() == 9);

    // The awaitable form and a lease's stream.
    std::optional<std::int64_t> total;
    uvdb::spawn([&]() -> uvdb::task<uvdb::result<void>> {
        auto st = co_await db.stream("SELECT generate_series(1, 100)::int8");
        std::int64_t sum = 0;
        while (auto chunk = co_await st.next()) {
            for (const std::int64_t v : chunk->as<std::int64_t>()) sum += v;
        }
        auto l = co_await db.acquire();  // the stream's connection is back: the pool has one
        auto ls = l.stream("SELECT 1::int8");
        while (auto chunk = co_await ls.next()) sum += (*chunk)[0].get<std::int64_t>(0);
        total = sum;
        co_return uvdb::ok();
    });
    t::run_until(
        loop, [&] { return total.has_value(); }, 30s, "the coroutine");
    CHECK(*total == 5051);
    db.close();
}
