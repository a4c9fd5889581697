// COPY FROM STDIN against a real PostgreSQL: text, CSV and binary data in
// pieces, back-pressure on a load the server cannot keep up with, a bad row
// (its line number in the error), abort, a writer dropped unfinished, the
// statement timeout and cancel while the writer stalls, COPY inside a
// transaction, and the pool's and lease's forms.

#include <arpa/inet.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <uvdb/coro.hpp>
#include <uvdb/pool.hpp>

#include "integration/pool_pg_support.hpp"
#include "integration/support/run_program.hpp"
#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

namespace {

/// Runs a script as the test user on a connection of its own.
void exec(const std::string& script) {
    uvdb::event_loop own;
    auto c = t::connect_or_fail(own, t::test_options());
    auto r = t::execute_sync(own, *c, script);
    INFO(script);
    REQUIRE(r.ok());
}

/// UVDB_TEST_SCALE=k divides the big load's row count by k (sanitizer builds).
std::size_t scaled(std::size_t n) {
    const char* s = std::getenv("UVDB_TEST_SCALE");
    const long k = s != nullptr ? std::strtol(s, nullptr, 10) : 1;
    return k > 1 ? n / static_cast<std::size_t>(k) : n;
}

/// Runs `body` as a task on `loop` until it ends (or `limit` passes).
template <class Body>
void run_task(uvdb::event_loop& loop, Body body, std::chrono::milliseconds limit = 30s) {
    bool done = false;
    uvdb::spawn(body(), [&](std::exception_ptr) { done = true; });
    t::run_until(
        loop, [&] { return done; }, limit, "the task");
}

std::int64_t scalar(uvdb::event_loop& loop, uvdb::connection& c, const std::string& sql) {
    auto r = t::query_sync(loop, c, sql);
    if (!r || r->empty() || (*r)[0].is_null(0)) return -1;
    return r->value<std::int64_t>();
}

void put_be16(std::string& out, std::uint16_t v) {
    v = htons(v);
    out.append(reinterpret_cast<const char*>(&v), 2);
}
void put_be32(std::string& out, std::uint32_t v) {
    v = htonl(v);
    out.append(reinterpret_cast<const char*>(&v), 4);
}

}  // namespace

TEST_CASE("copy in: text rows in pieces, row count from the command tag", "[pg][copy]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::execute_sync(loop, *conn, "CREATE TEMP TABLE ct (i int, name text)"));
    std::string data;
    for (int i = 1; i <= 1000; ++i)
        data += std::to_string(i) + "\tname " + std::to_string(i) + "\n";
    std::optional<uvdb::result<std::uint64_t>> rows;
    run_task(loop, [&]() -> uvdb::task<void> {
        auto w = co_await conn->copy_in("COPY ct FROM STDIN");
        if (!w) {
            rows.emplace(w.err());
            co_return;
        }
        // Pieces that end anywhere, mid-row included.
        for (std::size_t at = 0; at < data.size(); at += 333) {
            if (auto r = co_await w->write(std::string_view(data).substr(at, 333)); !r) {
                rows.emplace(r.err());
                co_return;
            }
        }
        rows.emplace(co_await w->finish());
    });
    REQUIRE(rows);
    INFO((rows->ok() ? std::string() : t::describe(rows->err())));
    REQUIRE(rows->ok());
    CHECK(**rows == 1000);
    CHECK(scalar(loop, *conn, "SELECT count(*) FROM ct") == 1000);
    CHECK(scalar(loop, *conn, "SELECT sum(i) FROM ct") == 500500);
    CHECK(conn->is_idle());
}

TEST_CASE("copy in: CSV with quoted separators and newlines, callback forms", "[pg][copy]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::execute_sync(loop, *conn, "CREATE TEMP TABLE cc (i int, note text)"));
    const std::string data = "1,\"a, b\"\n2,\"two\nlines\"\n3,\"quote \"\" inside\"\n4,plain\n5,\n";
    std::optional<uvdb::result<std::uint64_t>> rows;
    std::optional<uvdb::copy_writer> writer;
    conn->copy_in("COPY cc FROM STDIN WITH (FORMAT csv)", [&](uvdb::result<uvdb::copy_writer> w) {
        if (!w) {
            rows.emplace(w.err());
            return;
        }
        writer.emplace(std::move(*w));
        writer->write(data, [&](uvdb::result<void> r) {
            if (!r) {
                rows.emplace(r.err());
                return;
            }
            writer->finish([&](uvdb::result<std::uint64_t> n) { rows.emplace(std::move(n)); });
        });
    });
    t::run_until(
        loop, [&] { return rows.has_value(); }, 20s, "the CSV copy");
    INFO((rows->ok() ? std::string() : t::describe(rows->err())));
    REQUIRE(rows->ok());
    CHECK(**rows == 5);
    auto r = t::query_sync(loop, *conn, "SELECT note FROM cc ORDER BY i");
    REQUIRE(r);
    CHECK((*r)[0].get<std::string>(0) == "a, b");
    CHECK((*r)[1].get<std::string>(0) == "two\nlines");
    CHECK((*r)[2].get<std::string>(0) == "quote \" inside");
    CHECK((*r)[4].is_null(0));
}

TEST_CASE("copy in: binary format written by the caller", "[pg][copy]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::execute_sync(loop, *conn, "CREATE TEMP TABLE cb (i int4, name text)"));
    std::string data("PGCOPY\n\377\r\n\0", 11);
    put_be32(data, 0);  // flags
    put_be32(data, 0);  // header extension length
    for (std::uint32_t i = 1; i <= 100; ++i) {
        put_be16(data, 2);
        put_be32(data, 4);
        put_be32(data, i);
        const std::string name = "n" + std::to_string(i);
        put_be32(data, static_cast<std::uint32_t>(name.size()));
        data += name;
    }
    put_be16(data, 0xffff);  // trailer
    std::optional<uvdb::result<std::uint64_t>> rows;
    run_task(loop, [&]() -> uvdb::task<void> {
        auto w = co_await conn->copy_in("COPY cb FROM STDIN WITH (FORMAT binary)");
        if (!w) {
            rows.emplace(w.err());
            co_return;
        }
        for (std::size_t at = 0; at < data.size(); at += 50) {
            if (auto r = co_await w->write(std::string_view(data).substr(at, 50)); !r) {
                rows.emplace(r.err());
                co_return;
            }
        }
        rows.emplace(co_await w->finish());
    });
    REQUIRE(rows);
    INFO((rows->ok() ? std::string() : t::describe(rows->err())));
    REQUIRE(rows->ok());
    CHECK(**rows == 100);
    CHECK(scalar(loop, *conn, "SELECT sum(i) FROM cb") == 5050);
    CHECK(scalar(loop, *conn, "SELECT count(*) FROM cb WHERE name = 'n' || i") == 100);
}

TEST_CASE("copy in: a load the server cannot keep up with suspends the writer", "[pg][copy]") {
    // The first row waits on a concurrent, uncommitted insert of the same
    // key: the server stops reading until the test rolls that back, so the
    // writer must meet a full socket, whatever the speed of either side.
    uvdb::event_loop loop;
    const std::string table = "copy_in_backpressure";
    exec("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table +
         " (i int PRIMARY KEY, pad text)");
    uvdb::pool db(loop, t::pg_driver(), t::pool_test_options(2, 0));
    auto blocker = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::execute_sync(loop, *blocker, "BEGIN; INSERT INTO " + table + " VALUES (1, 'x')"));

    const std::size_t n = scaled(1'000'000);
    // At least 48 MiB whatever the scale: far more than the socket buffers hold.
    const std::size_t pad = std::max<std::size_t>(30, (48u << 20) / n);
    const std::string padding(pad, 'p');
    std::optional<uvdb::result<std::uint64_t>> rows;
    std::uint64_t waits = 0;
    const uvdb::copy_writer* live = nullptr;
    bool done = false;
    auto body = [&]() -> uvdb::task<void> {
        auto w = co_await db.copy_in("COPY " + table + " FROM STDIN");
        if (!w) {
            rows.emplace(w.err());
            co_return;
        }
        live = &*w;
        std::string piece;
        for (std::size_t i = 1; i <= n; ++i) {
            piece += std::to_string(i);
            piece += '\t';
            piece += padding;
            piece += '\n';
            if (piece.size() < 64 * 1024 && i != n) continue;
            auto r = co_await w->write(piece);
            piece.clear();
            if (!r) {
                rows.emplace(r.err());
                co_return;
            }
        }
        waits = w->waits();
        live = nullptr;
        rows.emplace(co_await w->finish());
    };
    uvdb::spawn(body(), [&](std::exception_ptr) { done = true; });
    // The writer must come to wait while the server reads nothing…
    t::run_until(
        loop, [&] { return done || (live != nullptr && live->waits() > 0); }, 30s,
        "the writer to wait");
    CHECK_FALSE(done);
    // …then the server goes on, and so does the writer.
    bool rolled_back = false;
    blocker->execute("ROLLBACK", [&](auto) { rolled_back = true; });
    t::run_until(
        loop, [&] { return done && rolled_back; }, 60s, "the load");
    REQUIRE(rows);
    INFO((rows->ok() ? std::string() : t::describe(rows->err())));
    REQUIRE(rows->ok());
    CHECK(**rows == n);
    CHECK(waits > 0);
    auto c = t::query_sync(loop, *blocker, "SELECT count(*)::int8, sum(i)::int8 FROM " + table);
    REQUIRE(c);
    CHECK((*c)[0].get<std::int64_t>(0) == static_cast<std::int64_t>(n));
    CHECK((*c)[0].get<std::int64_t>(1) == static_cast<std::int64_t>(n * (n + 1) / 2));
    CHECK(db.stats().checked_out == 0);
    exec("DROP TABLE " + table);
}

TEST_CASE("copy in: a bad row gives the server's error with its line number", "[pg][copy]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::execute_sync(loop, *conn, "CREATE TEMP TABLE cbad (i int, j int)"));
    for (const std::string bad : {"1\t1\n2\t2\nthree\t3\n4\t4\n", "1\t1\n2\t2\n3\n4\t4\n"}) {
        std::optional<uvdb::result<std::uint64_t>> rows;
        run_task(loop, [&]() -> uvdb::task<void> {
            auto w = co_await conn->copy_in("COPY cbad FROM STDIN");
            if (!w) {
                rows.emplace(w.err());
                co_return;
            }
            (void)co_await w->write(bad);
            rows.emplace(co_await w->finish());
        });
        REQUIRE(rows);
        REQUIRE_FALSE(rows->ok());
        const std::string text = t::describe(rows->err());
        INFO(text);
        CHECK(rows->err().value() == errc::server_error);
        CHECK(rows->err().sqlstate().substr(0, 2) ==
              "22");  // 22P02 bad value, 22P04 missing column
        CHECK(text.find("line 3") != std::string::npos);
        // The same connection runs the next statement.
        CHECK(scalar(loop, *conn, "SELECT 1") == 1);
        CHECK(scalar(loop, *conn, "SELECT count(*) FROM cbad") == 0);
    }
}

TEST_CASE("copy in: abort ends the COPY with the caller's message, nothing inserted",
          "[pg][copy]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::execute_sync(loop, *conn, "CREATE TEMP TABLE cab (i int)"));
    std::optional<uvdb::result<void>> aborted;
    std::optional<uvdb::result<void>> late;
    run_task(loop, [&]() -> uvdb::task<void> {
        auto w = co_await conn->copy_in("COPY cab FROM STDIN");
        if (!w) {
            aborted.emplace(w.err());
            co_return;
        }
        (void)co_await w->write("1\n2\n3\n");
        aborted.emplace(co_await w->abort("the input file was truncated"));
        late.emplace(co_await w->write("4\n"));
    });
    REQUIRE(aborted);
    REQUIRE_FALSE(aborted->ok());
    INFO(t::describe(aborted->err()));
    CHECK(aborted->err().value() == errc::cancelled);
    CHECK(aborted->err().message().find("the input file was truncated") != std::string::npos);
    REQUIRE(late);
    CHECK(late->err().value() == errc::bad_input);
    CHECK(scalar(loop, *conn, "SELECT count(*) FROM cab") == 0);
}

TEST_CASE("copy in: a writer dropped unfinished aborts; the pool gets the connection back",
          "[pg][copy][pool]") {
    uvdb::event_loop loop;
    const std::string table = "copy_in_dropped";
    exec("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table + " (i int)");
    uvdb::pool db(loop, t::pg_driver(), t::pool_test_options(1, 0));
    bool wrote = false;
    run_task(loop, [&]() -> uvdb::task<void> {
        auto w = co_await db.copy_in("COPY " + table + " FROM STDIN");
        if (w) wrote = (co_await w->write("1\n2\n")).ok();
    });  // the writer is gone here
    CHECK(wrote);
    t::run_until(
        loop, [&] { return db.stats().checked_out == 0; }, 10s, "the connection's return");
    std::optional<uvdb::result<uvdb::result_set>> r;
    db.query("SELECT count(*)::int8 FROM " + table,
             [&](uvdb::result<uvdb::result_set> x) { r.emplace(std::move(x)); });
    t::run_until(
        loop, [&] { return r.has_value(); }, 10s, "the count");
    REQUIRE(r->ok());
    CHECK((*r)->value<std::int64_t>() == 0);
    CHECK(db.stats().checked_out == 0);
    exec("DROP TABLE " + table);
}

TEST_CASE("copy in: the timeout fires while the writer stalls; cancel ends it too", "[pg][copy]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    REQUIRE(t::execute_sync(loop, *conn, "CREATE TEMP TABLE cto (i int)"));
    for (const bool by_timeout : {true, false}) {
        std::optional<uvdb::copy_writer> w;
        uvdb::query_options o;
        o.timeout = by_timeout ? 200ms : 0ms;
        bool started = false;
        conn->copy_in(o, "COPY cto FROM STDIN", [&](uvdb::result<uvdb::copy_writer> r) {
            started = true;
            if (r) w.emplace(std::move(*r));
        });
        t::run_until(
            loop, [&] { return started; }, 10s, "the COPY's start");
        REQUIRE(w);
        bool wrote = false;
        w->write("1\n2\n", [&](uvdb::result<void> r) { wrote = r.ok(); });
        t::run_until(
            loop, [&] { return wrote; }, 10s, "the write");
        // The writer stalls: it writes nothing more and does not finish.
        if (!by_timeout) conn->cancel();
        t::run_until(
            loop, [&] { return conn->is_idle(); }, 10s, "the COPY's end");
        std::optional<uvdb::result<std::uint64_t>> rows;
        w->finish([&](uvdb::result<std::uint64_t> r) { rows.emplace(std::move(r)); });
        t::run_until(
            loop, [&] { return rows.has_value(); }, 10s, "finish()");
        REQUIRE_FALSE(rows->ok());
        INFO(t::describe(rows->err()));
        CHECK(rows->err().value() == (by_timeout ? errc::timeout : errc::cancelled));
        CHECK(conn->is_ready());
        CHECK(scalar(loop, *conn, "SELECT count(*) FROM cto") == 0);
    }
}

TEST_CASE("copy in: inside a transaction, rolled back leaves nothing", "[pg][copy][pool]") {
    uvdb::event_loop loop;
    const std::string table = "copy_in_tx";
    exec("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table + " (i int)");
    uvdb::pool db(loop, t::pg_driver(), t::pool_test_options(1, 0));
    std::optional<uvdb::result<std::uint64_t>> rows;
    std::int64_t inside = -1;
    std::int64_t after = -1;
    run_task(loop, [&]() -> uvdb::task<void> {
        auto l = co_await db.acquire();
        if (!l) co_return;
        (void)co_await l->query("BEGIN");
        {
            auto w = co_await l->copy_in("COPY " + table + " FROM STDIN");
            if (!w) {
                rows.emplace(w.err());
                co_return;
            }
            (void)co_await w->write("1\n2\n3\n");
            rows.emplace(co_await w->finish());
        }
        auto c = co_await l->query("SELECT count(*)::int8 FROM " + table);
        if (c) inside = c->value<std::int64_t>();
        (void)co_await l->query("ROLLBACK");
        auto d = co_await l->query("SELECT count(*)::int8 FROM " + table);
        if (d) after = d->value<std::int64_t>();
    });
    REQUIRE(rows);
    REQUIRE(rows->ok());
    CHECK(**rows == 3);
    CHECK(inside == 3);
    CHECK(after == 0);
    exec("DROP TABLE " + table);
}

TEST_CASE("copy in: a statement that is not COPY FROM STDIN, and a missing table", "[pg][copy]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    for (const char* sql : {"SELECT 1", "COPY no_such_table_copy_in FROM STDIN"}) {
        std::optional<uvdb::result<uvdb::copy_writer>> w;
        conn->copy_in(sql, [&](uvdb::result<uvdb::copy_writer> r) { w.emplace(std::move(r)); });
        t::run_until(
            loop, [&] { return w.has_value(); }, 10s, "copy_in");
        REQUIRE_FALSE(w->ok());
        INFO(t::describe(w->err()));
        CHECK(w->err().value() == (sql[0] == 'S' ? errc::bad_input : errc::server_error));
        CHECK(scalar(loop, *conn, "SELECT 1") == 1);
    }
}

TEST_CASE("copy in: uvdb-copy-bench runs a small load beside psql", "[pg][copy][bench]") {
#ifndef UVDB_COPY_BENCH_EXE
    FAIL("uvdb-copy-bench was not built with the pg tests");
#else
    const auto& env = t::env();
    // psql may be missing on a CI image: the uvdb half alone then.
    const bool psql = std::system("psql --version > /dev/null 2>&1") == 0;
    std::vector<std::string> args{"--rows", "20000"};
    if (!psql) args.emplace_back("--no-psql");
    args.push_back(env.url);
    const auto r = t::run_program(UVDB_COPY_BENCH_EXE, args, {}, 120s);
    INFO("exit " << r.exit_code << "\n" << r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("uvdb copy_in: 20000 rows") != std::string::npos);
    CHECK(r.out.find("peak RSS") != std::string::npos);
    if (psql) CHECK(r.out.find("ratio uvdb/psql") != std::string::npos);
    CHECK(r.out.find(env.password) == std::string::npos);
#endif
}
