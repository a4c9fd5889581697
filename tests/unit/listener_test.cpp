// uvdb::listener without a server: the back-off schedule, the pgbouncer
// refusal, the defaults of a driver without notifications, and the reconnect
// logic (re-LISTEN every channel, on_reconnect, late answers of a dead
// connection ignored, no callback after unlisten) against a scripted driver
// defined here.

#include <catch2/catch.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <uvdb/event_loop.hpp>
#include <uvdb/listener.hpp>
#include <uvdb/timer.hpp>
#include <vector>

#include "unit/config_test_util.hpp"
#include "unit/support/fake_driver.hpp"

using namespace std::chrono_literals;
using uvdb::errc;

namespace {

/// Runs the loop until `done()` or about `limit` passed (a repeating timer
/// keeps the loop turning); returns whether done() held.
bool spin(uvdb::event_loop& loop, const std::function<bool()>& done,
          std::chrono::milliseconds limit = 5s) {
    uvdb::timer tick(loop);
    tick.start(
        2ms, [] {}, 2ms);
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < until) loop.run_once();
    tick.close();
    loop.run_nowait();
    return done();
}

struct script_hub;

/// A connection with notifications: LISTEN/UNLISTEN recorded and answered on
/// the next loop turn; the test pushes notifications and kills it.
class script_conn final : public uvdb::connection {
  public:
    script_conn(uvdb::event_loop& loop, script_hub& hub, std::int64_t pid);
    ~script_conn() override;

    void query(std::string_view, uvdb::params, const uvdb::query_options&,
               query_callback cb) override {
        later([cb = std::move(cb)](bool ok) mutable {
            if (!ok) return cb(closed_error());
            cb(uvdb::result_set());
        });
    }
    void execute(std::string_view, const uvdb::query_options&, script_callback cb) override {
        later([cb = std::move(cb)](bool ok) mutable {
            if (!ok) return cb(closed_error());
            cb(std::vector<uvdb::result_set>{});
        });
    }
    void ping(std::chrono::milliseconds, done_callback cb) override { answer(std::move(cb)); }
    void reset(done_callback cb) override { answer(std::move(cb)); }
    void cancel() override {}
    void close() override { closed_ = true; }
    bool is_ready() const noexcept override { return !closed_; }
    bool is_broken() const noexcept override { return closed_; }
    bool is_idle() const noexcept override { return true; }
    uvdb::tx_status transaction_status() const noexcept override { return uvdb::tx_status::idle; }
    std::int64_t server_pid() const noexcept override { return pid_; }
    std::string describe() const override { return "script"; }

    uvdb::result<void> on_notification(uvdb::notification_handler h) override {
        handler_ = std::move(h);
        return {};
    }
    void listen(std::string_view channel, done_callback cb) override;
    void unlisten(std::string_view channel, done_callback cb) override;

    /// A notification from the server.
    void push(const std::string& channel, const std::string& payload) {
        if (closed_ || !handler_) return;
        auto h = std::move(handler_);
        h(uvdb::notification{channel, payload, 7});
        if (!closed_ && !handler_) handler_ = std::move(h);
    }
    /// The connection dies (as a terminated backend).
    void kill() {
        if (closed_) return;
        closed_ = true;
        auto h = std::move(handler_);
        if (h) h(uvdb::error(errc::connection_lost, "terminated").with_fatal(true));
    }

  private:
    static uvdb::error closed_error() { return uvdb::error(errc::closed, "closed"); }
    void later(uvdb::unique_function<void(bool)> fn) {
        loop_.defer([fn = std::move(fn), this_ok = !closed_]() mutable { fn(this_ok); });
    }
    void answer(done_callback cb) {
        later([cb = std::move(cb)](bool ok) mutable {
            cb(ok ? uvdb::result<void>() : uvdb::result<void>(closed_error()));
        });
    }

    uvdb::event_loop& loop_;
    script_hub& hub_;
    std::int64_t pid_;
    bool closed_ = false;
    uvdb::notification_handler handler_;
};

struct script_hub {
    std::vector<std::string> log;    // "connect", "LISTEN a", "UNLISTEN a"
    std::deque<bool> connect_ok;     // outcomes of the next connects; then success
    std::vector<script_conn*> live;  // not yet destroyed
    std::int64_t next_pid = 100;
    script_conn* current() { return live.empty() ? nullptr : live.back(); }
};

script_conn::script_conn(uvdb::event_loop& loop, script_hub& hub, std::int64_t pid)
    : loop_(loop), hub_(hub), pid_(pid) {
    hub_.live.push_back(this);
}
script_conn::~script_conn() { std::erase(hub_.live, this); }
void script_conn::listen(std::string_view channel, done_callback cb) {
    hub_.log.push_back("LISTEN " + std::string(channel));
    answer(std::move(cb));
}
void script_conn::unlisten(std::string_view channel, done_callback cb) {
    hub_.log.push_back("UNLISTEN " + std::string(channel));
    answer(std::move(cb));
}

class script_driver final : public uvdb::driver {
  public:
    explicit script_driver(script_hub& hub) : hub_(hub) {}
    std::string_view name() const noexcept override { return "script"; }
    std::vector<std::string> schemes() const override { return {"script"}; }
    uvdb::result<std::string> quote_identifier(std::string_view name) const override {
        if (name.empty()) return uvdb::error(errc::bad_input, "empty");
        return "\"" + std::string(name) + "\"";
    }
    std::unique_ptr<uvdb::connection> connect(uvdb::event_loop& loop, const uvdb::connect_options&,
                                              connect_callback cb) override {
        hub_.log.emplace_back("connect");
        bool ok = true;
        if (!hub_.connect_ok.empty()) {
            ok = hub_.connect_ok.front();
            hub_.connect_ok.pop_front();
        }
        auto c = std::make_unique<script_conn>(loop, hub_, hub_.next_pid++);
        loop.defer([cb = std::move(cb), ok]() mutable {
            if (ok) return cb(uvdb::result<void>());
            cb(uvdb::error(errc::connect_failed, "refused"));
        });
        return c;
    }

  private:
    script_hub& hub_;
};

uvdb::listener_options quick() {
    uvdb::listener_options o;
    o.connection.url = "script://x";
    o.backoff_base = 1ms;
    o.backoff_cap = 4ms;
    o.random_seed = 1;
    return o;
}

}  // namespace

TEST_CASE("listener back-off: jittered exponential, capped", "[unit][listener]") {
    using uvdb::listener_backoff;
    const auto base = 100ms;
    const auto cap = 5000ms;
    CHECK(listener_backoff(1, base, cap, 0.0) == 50ms);
    CHECK(listener_backoff(1, base, cap, 0.999999) == 100ms);
    CHECK(listener_backoff(2, base, cap, 0.0) == 100ms);
    CHECK(listener_backoff(3, base, cap, 1.0) == 400ms);
    CHECK(listener_backoff(6, base, cap, 1.0) == 3200ms);
    CHECK(listener_backoff(7, base, cap, 1.0) == 5000ms);  // 6400 capped
    CHECK(listener_backoff(7, base, cap, 0.0) == 2500ms);
    CHECK(listener_backoff(1000, base, cap, 0.5) == 3750ms);  // no overflow
    for (unsigned n = 1; n < 40; ++n) {
        const auto d = listener_backoff(n, base, cap, 0.3);
        CHECK(d >= 50ms);
        CHECK(d <= cap);
    }
}

TEST_CASE("listener refuses the pgbouncer preset", "[unit][listener]") {
    uvdb::event_loop loop;
    auto cfg = config_test::load(config_test::url_only, {{"UVDB_PRESET", "pgbouncer"}});
    REQUIRE(cfg.ok());
    auto from_cfg = uvdb::listener::create(loop, *cfg);
    REQUIRE_FALSE(from_cfg.ok());
    CHECK(from_cfg.err().value() == errc::bad_config);
    CHECK_THAT(from_cfg.err().message(), Catch::Matchers::Contains("PgBouncer"));
    auto from_pool = uvdb::listener::create(loop, cfg->pool);
    REQUIRE_FALSE(from_pool.ok());
    CHECK(from_pool.err().value() == errc::bad_config);
}

TEST_CASE("a driver without notifications refuses them clearly", "[unit][listener]") {
    uvdb::event_loop loop;
    auto drv = std::make_shared<uvdb::test::fake_driver>();
    CHECK_FALSE(drv->quote_identifier("a").ok());
    std::optional<uvdb::result<void>> connected, listened;
    auto c = drv->connect(loop, {}, [&](uvdb::result<void> r) { connected = std::move(r); });
    REQUIRE(spin(loop, [&] { return connected.has_value(); }));
    auto hooked = c->on_notification([](uvdb::result<uvdb::notification>) {});
    REQUIRE_FALSE(hooked.ok());
    CHECK_THAT(hooked.err().message(), Catch::Matchers::Contains("not supported by this driver"));
    c->listen("a", [&](uvdb::result<void> r) { listened = std::move(r); });
    CHECK_FALSE(listened.has_value());  // never inline
    REQUIRE(spin(loop, [&] { return listened.has_value(); }));
    CHECK(listened->err().value() == errc::bad_input);
}

TEST_CASE("listener: re-LISTENs every channel after a loss, then calls on_reconnect",
          "[unit][listener]") {
    script_hub hub;  // outlives the loop, which destroys connections last
    uvdb::event_loop loop;
    uvdb::listener l(loop, std::make_shared<script_driver>(hub), quick());
    std::vector<std::string> got;
    std::vector<std::string> order;  // what happened, in order
    l.on_reconnect([&] { order.push_back("reconnect"); });
    int lost = 0;
    l.on_lost([&](const uvdb::error&) { ++lost; });
    int confirmed = 0;
    for (const char* ch : {"a", "b"}) {
        l.listen(
            ch, [&](const uvdb::notification& n) { got.push_back(n.channel + n.payload); },
            [&](uvdb::result<void> r) { confirmed += r.ok() ? 1 : 100; });
    }
    REQUIRE(spin(loop, [&] { return confirmed == 2; }));
    CHECK(l.connected());
    CHECK(hub.log == std::vector<std::string>{"connect", "LISTEN a", "LISTEN b"});
    hub.current()->push("a", "1");
    CHECK(got == std::vector<std::string>{"a1"});

    // Dies; the first two reconnects fail (back-off), the third works.
    hub.connect_ok = {false, false};
    hub.log.clear();
    hub.current()->kill();
    CHECK_FALSE(l.connected());
    REQUIRE(spin(loop, [&] { return !order.empty(); }));
    CHECK(lost == 3);
    CHECK(l.reconnects() == 1);
    CHECK(hub.log ==
          std::vector<std::string>{"connect", "connect", "connect", "LISTEN a", "LISTEN b"});
    hub.current()->push("b", "2");
    CHECK(got == std::vector<std::string>{"a1", "b2"});

    // A listen() issued while disconnected completes after the reconnect.
    std::optional<uvdb::result<void>> late;
    hub.current()->kill();
    l.listen(
        "c", [&](const uvdb::notification& n) { got.push_back(n.channel + n.payload); },
        [&](uvdb::result<void> r) { late = std::move(r); });
    REQUIRE(spin(loop, [&] { return late.has_value(); }));
    CHECK(late->ok());
    REQUIRE(spin(loop, [&] { return order.size() == 2; }));
    CHECK(l.reconnects() == 2);
    hub.current()->push("c", "3");
    CHECK(got.back() == "c3");
}

TEST_CASE("listener: unlisten stops callbacks at once; close fails pending listens",
          "[unit][listener]") {
    script_hub hub;  // outlives the loop, which destroys connections last
    uvdb::event_loop loop;
    uvdb::listener l(loop, std::make_shared<script_driver>(hub), quick());
    int calls = 0;
    std::optional<uvdb::result<void>> listened, unlistened;
    l.listen(
        "a", [&](const uvdb::notification&) { ++calls; },
        [&](uvdb::result<void> r) { listened = std::move(r); });
    REQUIRE(spin(loop, [&] { return listened.has_value(); }));
    hub.current()->push("a", "x");
    l.unlisten("a", [&](uvdb::result<void> r) { unlistened = std::move(r); });
    hub.current()->push("a", "y");  // already on its way when UNLISTEN was sent
    CHECK(calls == 1);
    REQUIRE(spin(loop, [&] { return unlistened.has_value(); }));
    CHECK(unlistened->ok());
    CHECK(hub.log.back() == "UNLISTEN a");

    std::optional<uvdb::result<void>> pending;
    hub.connect_ok = {false, false, false, false, false, false};
    hub.current()->kill();
    l.listen(
        "b", [](const uvdb::notification&) {},
        [&](uvdb::result<void> r) { pending = std::move(r); });
    l.close();
    REQUIRE(spin(loop, [&] { return pending.has_value(); }));
    CHECK(pending->err().value() == errc::closed);
    CHECK_FALSE(l.connected());

    std::optional<uvdb::result<void>> bad;
    uvdb::listener l2(loop, std::make_shared<script_driver>(hub), quick());
    l2.listen(
        "", [](const uvdb::notification&) {}, [&](uvdb::result<void> r) { bad = std::move(r); });
    CHECK_FALSE(bad.has_value());
    REQUIRE(spin(loop, [&] { return bad.has_value(); }));
    CHECK(bad->err().value() == errc::bad_input);
}
