// LISTEN/NOTIFY against the real server: bulk delivery in order, a
// terminated backend (reconnect, re-LISTEN, on_reconnect), two listeners,
// unlisten with notifications in flight, channel quoting and the server's
// payload limit. The server restart is in tests/fault/listener_restart_test.cpp.

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <uvdb/event_loop.hpp>
#include <uvdb/listener.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/task.hpp>
#include <vector>

#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

namespace {

uvdb::listener make_listener(uvdb::event_loop& loop) {
    uvdb::listener_options o;
    o.connection = t::test_options();
    o.backoff_base = 50ms;
    o.backoff_cap = 1s;
    return uvdb::listener(loop, t::pg_driver(), o);
}

/// listen() and wait for the server's confirmation.
void listen_or_fail(uvdb::event_loop& loop, uvdb::listener& l, const std::string& channel,
                    uvdb::listener::notify_callback cb) {
    std::optional<uvdb::result<void>> done;
    l.listen(channel, std::move(cb), [&](uvdb::result<void> r) { done = std::move(r); });
    t::run_until(
        loop, [&] { return done.has_value(); }, 15s, "LISTEN confirmed");
    if (!done->ok()) t::fail_with("LISTEN " + channel, done->err());
}

uvdb::result<void> notify_sync(uvdb::event_loop& loop, uvdb::pool& db, const std::string& channel,
                               const std::string& payload) {
    std::optional<uvdb::result<void>> done;
    db.notify(channel, payload, [&](uvdb::result<void> r) { done = std::move(r); });
    t::run_until(
        loop, [&] { return done.has_value(); }, 15s, "notify");
    return std::move(*done);
}

uvdb::pool small_pool(uvdb::event_loop& loop) {
    uvdb::pool_options po;
    po.connection = t::test_options();
    po.size = 2;
    po.max_overflow = 0;
    return uvdb::pool(loop, t::pg_driver(), po);
}

}  // namespace

TEST_CASE("listener: 100,000 notifications arrive in order, none lost", "[pg][listen]") {
    uvdb::event_loop loop;
    auto l = make_listener(loop);
    std::size_t got = 0;
    std::size_t out_of_order = 0;
    std::int64_t sender = 0;
    listen_or_fail(loop, l, "uvdb_bulk", [&](const uvdb::notification& n) {
        if (n.payload != std::to_string(got)) ++out_of_order;
        sender = n.sender_pid;
        ++got;
    });
    auto conn = t::connect_or_fail(loop, t::test_options());
    constexpr int total = 100'000;
    constexpr int batch = 10'000;
    const auto start = std::chrono::steady_clock::now();
    std::vector<t::query_slot> sent;
    for (int from = 0; from < total; from += batch) {
        sent.push_back(t::make_query_slot());
        conn->query(
            "SELECT count(pg_notify('uvdb_bulk', i::text)) FROM generate_series($1::int, "
            "$2::int) i",
            from, from + batch - 1, t::store_in(sent.back()));
    }
    t::run_until(
        loop, [&] { return got == static_cast<std::size_t>(total); }, 60s, "every notification");
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("listener: %d notifications in %.3f s: %.0f/s\n", total, secs, total / secs);
    // The listener may see the last notifications before the sender sees its answer.
    t::run_until(
        loop, [&] { return sent.back()->has_value(); }, 30s, "the last pg_notify batch");
    for (auto& s : sent) {
        REQUIRE(s->has_value());
        if (!s->value().ok()) t::fail_with("pg_notify batch", s->value().err());
    }
    CHECK(got == static_cast<std::size_t>(total));
    CHECK(out_of_order == 0);
    CHECK(sender == conn->server_pid());
}

TEST_CASE("listener: backend terminated, it reconnects, re-LISTENs and calls on_reconnect",
          "[pg][listen]") {
    uvdb::event_loop loop;
    auto l = make_listener(loop);
    auto db = small_pool(loop);
    std::vector<std::string> got;
    int reconnected = 0;
    std::size_t got_at_reconnect = 99;
    std::optional<uvdb::error> lost;
    l.on_reconnect([&] {
        ++reconnected;
        got_at_reconnect = got.size();
    });
    l.on_lost([&](const uvdb::error& e) { lost = e; });
    for (const char* ch : {"uvdb_a", "uvdb_b", "uvdb_c"}) {
        listen_or_fail(loop, l, ch, [&](const uvdb::notification& n) {
            got.push_back(n.channel + ":" + n.payload);
        });
    }
    REQUIRE(l.connected());
    const auto pid = l.server_pid();
    REQUIRE(pid > 0);

    const auto start = std::chrono::steady_clock::now();
    t::terminate_backend(loop, pid);
    t::run_until(
        loop, [&] { return reconnected == 1; }, 15s, "the reconnect callback");
    CHECK(l.connected());
    CHECK(l.server_pid() != pid);
    CHECK(l.reconnects() == 1);
    REQUIRE(lost.has_value());
    CHECK(lost->value() == errc::connection_lost);
    CHECK(got_at_reconnect == 0);
    for (const char* ch : {"uvdb_a", "uvdb_b", "uvdb_c"}) {
        REQUIRE(notify_sync(loop, db, ch, "after").ok());
    }
    t::run_until(
        loop, [&] { return got.size() == 3; }, 10s, "notifications after the reconnect");
    // The cap is 1 s; the deadline is generous for a loaded CI machine.
    CHECK(std::chrono::steady_clock::now() - start < 15s);
    CHECK(got == std::vector<std::string>{"uvdb_a:after", "uvdb_b:after", "uvdb_c:after"});
}

TEST_CASE("listener: two listeners on one channel both get each notification", "[pg][listen]") {
    uvdb::event_loop loop;
    auto one = make_listener(loop);
    auto two = make_listener(loop);
    auto db = small_pool(loop);
    std::vector<std::string> a, b, a2;
    listen_or_fail(loop, one, "uvdb_shared",
                   [&](const uvdb::notification& n) { a.push_back(n.payload); });
    // A second callback on the same channel of the same listener.
    listen_or_fail(loop, one, "uvdb_shared",
                   [&](const uvdb::notification& n) { a2.push_back(n.payload); });
    listen_or_fail(loop, two, "uvdb_shared",
                   [&](const uvdb::notification& n) { b.push_back(n.payload); });
    REQUIRE(notify_sync(loop, db, "uvdb_shared", "x").ok());
    REQUIRE(notify_sync(loop, db, "uvdb_shared", "y").ok());
    t::run_until(
        loop, [&] { return a.size() == 2 && b.size() == 2 && a2.size() == 2; }, 10s,
        "both listeners");
    CHECK(a == std::vector<std::string>{"x", "y"});
    CHECK(a2 == a);
    CHECK(b == a);
}

TEST_CASE("listener: no callback after unlisten, notifications in flight", "[pg][listen]") {
    uvdb::event_loop loop;
    auto l = make_listener(loop);
    std::size_t got = 0;
    std::size_t at_unlisten = 0;
    bool called_after = false;
    bool unlistened = false;
    std::optional<uvdb::result<void>> unlisten_done;
    bool sentinel = false;
    listen_or_fail(loop, l, "uvdb_flight", [&](const uvdb::notification&) {
        if (unlistened) called_after = true;
        if (++got == 100) {
            // From inside a delivery, with thousands more already read or on their way.
            unlistened = true;
            at_unlisten = got;
            l.unlisten("uvdb_flight", [&](uvdb::result<void> r) { unlisten_done = std::move(r); });
        }
    });
    listen_or_fail(loop, l, "uvdb_sentinel", [&](const uvdb::notification&) { sentinel = true; });
    auto conn = t::connect_or_fail(loop, t::test_options());
    auto r = t::query_sync(
        loop, *conn,
        "SELECT count(pg_notify('uvdb_flight', i::text)) FROM generate_series(1, 20000) i");
    if (!r) t::fail_with("pg_notify", r.err());
    t::run_until(
        loop, [&] { return unlisten_done.has_value(); }, 15s, "unlisten");
    REQUIRE(unlisten_done->ok());
    // Sent after the UNLISTEN completed: when it arrives, everything before it has too.
    auto s = t::query_sync(loop, *conn, "SELECT pg_notify('uvdb_sentinel', 'end')");
    if (!s) t::fail_with("sentinel", s.err());
    t::run_until(
        loop, [&] { return sentinel; }, 15s, "the sentinel");
    CHECK_FALSE(called_after);
    CHECK(got == at_unlisten);
}

TEST_CASE("listener: channel names are quoted; bad names and long payloads are errors",
          "[pg][listen]") {
    uvdb::event_loop loop;
    auto l = make_listener(loop);
    auto db = small_pool(loop);

    auto q = uvdb::postgres::quote_identifier(R"(Mixed "Case" chan)");
    REQUIRE(q.ok());
    CHECK(*q == R"("Mixed ""Case"" chan")");

    std::vector<uvdb::notification> got;
    const std::string odd = R"(Mixed "Case" chan)";
    listen_or_fail(loop, l, odd, [&](const uvdb::notification& n) { got.push_back(n); });
    REQUIRE(notify_sync(loop, db, odd, "hello").ok());
    t::run_until(
        loop, [&] { return got.size() == 1; }, 10s, "the quoted channel");
    CHECK(got[0].channel == odd);
    CHECK(got[0].payload == "hello");
    CHECK(got[0].sender_pid > 0);

    auto listen_err = [&](const std::string& name) {
        std::optional<uvdb::result<void>> done;
        l.listen(
            name, [](const uvdb::notification&) {},
            [&](uvdb::result<void> r) { done = std::move(r); });
        t::run_until(
            loop, [&] { return done.has_value(); }, 5s, "listen refused");
        REQUIRE_FALSE(done->ok());
        return done->err();
    };
    const auto nul = listen_err(std::string("a\0b", 3));
    CHECK(nul.value() == errc::bad_input);
    CHECK(t::contains(nul.message(), "NUL"));
    const auto longer = listen_err(std::string(64, 'x'));
    CHECK(longer.value() == errc::bad_input);
    CHECK(t::contains(longer.message(), "too long"));
    // 63 bytes is the longest name the server keeps.
    listen_or_fail(loop, l, std::string(63, 'x'), [](const uvdb::notification&) {});

    // PostgreSQL takes payloads shorter than 8000 bytes; uvdb does not check first.
    CHECK(notify_sync(loop, db, "uvdb_payload", std::string(7999, 'p')).ok());
    for (std::size_t n : {8000, 8001}) {
        auto too_big = notify_sync(loop, db, "uvdb_payload", std::string(n, 'p'));
        REQUIRE_FALSE(too_big.ok());
        INFO(t::describe(too_big.err()));
        CHECK(too_big.err().value() == errc::server_error);
        CHECK(too_big.err().sqlstate() == "22023");
        CHECK(t::contains(too_big.err().to_string(), "payload string too long"));
    }
}

TEST_CASE("listener: notify on a lease, co_await forms", "[pg][listen]") {
    uvdb::event_loop loop;
    auto l = make_listener(loop);
    auto db = small_pool(loop);
    std::vector<std::string> got;
    std::optional<uvdb::result<void>> listened, sent, sent_lease;
    auto body = [&]() -> uvdb::task<void> {
        listened = co_await l.listen(
            "uvdb_coro", [&](const uvdb::notification& n) { got.push_back(n.payload); });
        sent = co_await db.notify("uvdb_coro", "via pool");
        auto lease = co_await db.acquire();
        if (lease) sent_lease = co_await lease->notify("uvdb_coro", "via lease");
    };
    uvdb::spawn(body());
    // Both notifications and the lease's own answer: the listener's
    // connection may hear the second NOTIFY before the sender's reply is read.
    t::run_until(
        loop, [&] { return got.size() == 2 && sent_lease.has_value(); }, 10s,
        "two notifications and the lease's reply");
    REQUIRE(listened.has_value());
    CHECK(listened->ok());
    REQUIRE(sent.has_value());
    CHECK(sent->ok());
    REQUIRE(sent_lease.has_value());
    CHECK(sent_lease->ok());
    CHECK(got == std::vector<std::string>{"via pool", "via lease"});
}
