// COPY … TO STDOUT through copy_out(): text and CSV data in byte chunks, the
// row count from the command tag, an early close that leaves the connection
// clean, and the refusals (plain query() still refuses COPY; stream() and
// copy_out() each refuse the other's statements).

#include <algorithm>
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

/// Reads a copy stream to its end; the data, or the error.
uvdb::result<std::string> read_all(uvdb::event_loop& loop, uvdb::copy_stream& s,
                                   std::size_t* chunks = nullptr) {
    std::string all;
    for (;;) {
        auto r = t::next_sync(loop, s);
        if (!r) return r.error();
        if (!*r) return all;
        if (chunks != nullptr) ++*chunks;
        all += **r;
    }
}

}  // namespace

TEST_CASE("copy_out: COPY TO STDOUT in text form arrives in chunks with the row count",
          "[pg][copy_out]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    uvdb::stream_options o;
    o.chunk_bytes = 4096;
    auto s = conn->copy_out(
        "COPY (SELECT i, 'row ' || i FROM generate_series(1, 20000) i) TO STDOUT", o);
    std::size_t chunks = 0;
    auto data = read_all(loop, s, &chunks);
    if (!data) t::fail_with("copy_out", data.error());
    CHECK(s.rows() == 20000);
    CHECK(s.done());
    CHECK(chunks > 20);  // ~230 kB in 4 kB chunks
    CHECK(std::count(data->begin(), data->end(), '\n') == 20000);
    CHECK(data->rfind("20000\trow 20000\n") == data->size() - 16);
    CHECK(data->substr(0, 8) == "1\trow 1\n");
    CHECK(t::scalar<int>(loop, *conn, "SELECT 1") == 1);
}

TEST_CASE("copy_out: CSV with a header, through the pool", "[pg][copy_out][pool]") {
    uvdb::event_loop loop;
    uvdb::pool db(loop, t::pg_driver(), t::pool_test_options(1, 0));
    std::optional<std::string> out;
    std::uint64_t rows = 0;
    uvdb::spawn([&]() -> uvdb::task<uvdb::result<void>> {
        auto s = co_await db.copy_out(
            "COPY (SELECT i AS id, 'a,b' AS t FROM generate_series(1, 3) i) TO STDOUT "
            "WITH (FORMAT csv, HEADER)");
        std::string all;
        while (auto chunk = co_await s.next()) all += *chunk;
        rows = s.rows();
        out = all;
        co_return uvdb::ok();
    });
    t::run_until(
        loop, [&] { return out.has_value(); }, 30s, "the copy");
    CHECK(*out == "id,t\n1,\"a,b\"\n2,\"a,b\"\n3,\"a,b\"\n");
    CHECK(rows == 3);
    t::run_until(
        loop, [&] { return db.stats().checked_out == 0; }, 10s, "the lease back");
    db.close();
}

TEST_CASE("copy_out: closing early cancels the COPY and leaves the connection clean",
          "[pg][copy_out][close]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    const auto pid = conn->server_pid();
    {
        auto s = conn->copy_out(
            "COPY (SELECT i, repeat('x', 92) FROM generate_series(1, 10000000) i) TO STDOUT");
        auto first = t::next_sync(loop, s);
        REQUIRE(first);
        REQUIRE(first->has_value());
        CHECK_FALSE((*first)->empty());
    }
    t::run_until(
        loop, [&] { return conn->is_idle(); }, 20s, "the dropped COPY to drain");
    CHECK_FALSE(conn->is_broken());
    CHECK(t::scalar<int>(loop, *conn, "SELECT 2") == 2);
    CHECK(t::activity_of(loop, pid).state == "idle");
}

TEST_CASE("copy_out: refusals keep the connection usable", "[pg][copy_out][errors]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    {
        // A plain query still refuses COPY TO STDOUT.
        auto r = t::query_sync(loop, *conn, "COPY (SELECT 1) TO STDOUT");
        REQUIRE_FALSE(r);
        CHECK(r.error().value() == errc::bad_input);
    }
    {
        auto s = conn->stream("COPY (SELECT 1) TO STDOUT");
        auto r = t::next_sync(loop, s);
        REQUIRE_FALSE(r);
        CHECK(r.error().value() == errc::bad_input);
        CHECK(t::contains(r.error().message(), "copy_out"));
    }
    {
        auto s = conn->copy_out("SELECT 1");
        auto r = t::next_sync(loop, s);
        REQUIRE_FALSE(r);
        CHECK(r.error().value() == errc::bad_input);
    }
    {
        auto s = conn->copy_out("COPY (SELECT 1/0) TO STDOUT");
        auto r = t::next_sync(loop, s);
        REQUIRE_FALSE(r);
        CHECK(r.error().sqlstate() == "22012");
    }
    CHECK_FALSE(conn->is_broken());
    CHECK(t::scalar<int>(loop, *conn, "SELECT 4") == 4);
}
