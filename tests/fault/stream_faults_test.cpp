// Faults during streams: the backend terminated mid-stream and mid-COPY-out
// (the rows read before arrive, then a clear connection_lost; the pool
// replaces the connection), and a consumer that stops reading (memory stays
// flat, the loop keeps running, the statement's timeout still fires).

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/stream.hpp>
#include <uvdb/timer.hpp>

#include "fault/support/fault_pool.hpp"
#include "integration/pool_pg_support.hpp"
#include "integration/support/stream_support.hpp"
#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

namespace {

void expect_lost(const uvdb::error& e) {
    INFO(t::describe(e));
    CHECK(e.value() == errc::connection_lost);
    CHECK(e.is_fatal());
}

template <class Chunk>
uvdb::basic_stream<Chunk> open_from_pool(uvdb::event_loop& loop, uvdb::pool& db, bool copy) {
    std::optional<uvdb::result<uvdb::basic_stream<Chunk>>> got;
    auto done = [&](uvdb::result<uvdb::basic_stream<Chunk>> r) { got.emplace(std::move(r)); };
    if constexpr (std::is_same_v<Chunk, std::string>) {
        REQUIRE(copy);
        db.copy_out(
            "COPY (SELECT i, repeat('x', 92) FROM generate_series(1, 10000000) i) TO STDOUT", done);
    } else {
        REQUIRE_FALSE(copy);
        db.stream("SELECT i, repeat('x', 92) FROM generate_series(1, 10000000) i", done);
    }
    t::run_until(
        loop, [&] { return got.has_value(); }, 30s, "the stream");
    if (!*got) t::fail_with("open the stream", got->error());
    return std::move(**got);
}

template <class Chunk>
void terminated_mid_stream(bool copy) {
    uvdb::event_loop loop;
    uvdb::pool db(loop, t::pg_driver(), t::pool_test_options(1, 0));
    std::int64_t pid = 0;
    {
        auto l = t::warm_up(loop, db, 1);
        pid = l.at(0);
    }
    auto s = open_from_pool<Chunk>(loop, db, copy);
    auto first = t::next_sync(loop, s);
    REQUIRE(first);
    REQUIRE(first->has_value());
    t::terminate_backend(loop, pid);
    // Whatever was read before the end still arrives, then the error.
    std::size_t chunks = 1;
    std::optional<uvdb::error> failed;
    for (;;) {
        auto r = t::next_sync(loop, s);
        if (!r) {
            failed = r.error();
            break;
        }
        REQUIRE(r->has_value());  // never a clean end
        ++chunks;
    }
    expect_lost(*failed);
    CHECK(chunks >= 1);
    REQUIRE(s.error() != nullptr);
    s.close();
    // The pool dropped the dead connection and opens another for the next caller.
    auto q = t::make_query_slot();
    db.query("SELECT pg_backend_pid()", t::store_in(q));
    t::run_until(
        loop, [&] { return q->has_value(); }, 30s, "a query after the loss");
    if (!**q) t::fail_with("query after the loss", (*q)->error());
    CHECK((*q)->value().value<int>() != pid);
    db.close();
}

}  // namespace

TEST_CASE(
    "stream fault: backend terminated mid-stream: rows, then connection_lost; the pool "
    "recovers",
    "[fault][stream]") {
    terminated_mid_stream<uvdb::result_set>(false);
}

TEST_CASE(
    "stream fault: backend terminated mid-COPY-out: data, then connection_lost; the pool "
    "recovers",
    "[fault][stream][copy_out]") {
    terminated_mid_stream<std::string>(true);
}

TEST_CASE(
    "stream fault: a consumer that stops reading: memory flat, loop running, the timeout "
    "fires",
    "[fault][stream][slow]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    uvdb::stream_options o;
    o.timeout = 2s;  // the consumer would stop for 10 s: the timeout ends it first
    auto s = conn->stream(o, "SELECT i, repeat('x', 92) FROM generate_series(1, 50000000) i");
    const long rss_before = t::current_rss_kib();
    long rss_max = rss_before;
    int ticks = 0;
    uvdb::timer tick(loop);
    tick.start(
        20ms,
        [&] {
            ++ticks;
            rss_max = std::max(rss_max, t::current_rss_kib());
        },
        20ms);
    // The consumer asks for nothing (one chunk is read ahead); the statement's
    // timeout cancels it and the connection drains on its own.
    t::run_until(
        loop, [&] { return conn->is_idle(); }, 10s, "the timeout to end the stream");
    tick.stop();
    CHECK(ticks > 0);  // the loop kept running all along
    INFO("RSS growth while stopped: " << (rss_max - rss_before) << " KiB");
    CHECK(rss_max - rss_before < 32 * 1024);
    auto r = t::next_sync(loop, s);
    REQUIRE_FALSE(r);
    INFO(t::describe(r.error()));
    CHECK(r.error().value() == errc::timeout);
    CHECK_FALSE(conn->is_broken());
    CHECK(t::scalar<int>(loop, *conn, "SELECT 1") == 1);
}
