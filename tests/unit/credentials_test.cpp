// Password providers: cached until the expiry they give (minus the margin),
// one call for every connect that waits, errors that name the provider and
// never the secret, a deadline, and a pool that closes while a call runs.

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <uvdb/credentials.hpp>
#include <uvdb/pool.hpp>
#include <vector>

#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;
using namespace std::chrono_literals;

namespace {

using sys_clock = std::chrono::system_clock;

/// A provider under the test's control: answers are given by hand, the wall
/// clock is manual.
struct scripted {
    std::shared_ptr<sys_clock::time_point> now =
        std::make_shared<sys_clock::time_point>(sys_clock::time_point{} + 1'000'000s);
    std::vector<password_callback> pending;  // calls not answered yet
    std::shared_ptr<password_provider> provider;

    explicit scripted(std::chrono::milliseconds timeout = 0ms, std::string name = "vault") {
        password_provider_options o;
        o.timeout = timeout;
        o.refresh_margin = 30s;
        o.clock = [n = now] { return *n; };
        provider = make_password_provider(
            std::move(name),
            [this](event_loop&, password_callback done) { pending.push_back(std::move(done)); }, o);
    }
    void answer(std::string pw, std::optional<std::chrono::seconds> valid_for) {
        REQUIRE(!pending.empty());
        auto done = std::move(pending.front());
        pending.erase(pending.begin());
        std::optional<sys_clock::time_point> until;
        if (valid_for) until = *now + *valid_for;
        done(password_grant{std::move(pw), until});
    }
};

struct got {
    int calls = 0;
    std::optional<result<std::string>> r;
};

/// Runs the loop until `done()` holds (a bounded number of iterations; each
/// blocks only while a timer of the test is pending).
bool spin(event_loop& loop, const std::function<bool()>& done) {
    for (int i = 0; i < 10'000 && !done(); ++i) loop.run_once();
    return done();
}

std::shared_ptr<got> ask(password_provider& p, event_loop& loop) {
    auto g = std::make_shared<got>();
    p.get(loop, [g](result<std::string> r) {
        ++g->calls;
        g->r.emplace(std::move(r));
    });
    return g;
}

}  // namespace

TEST_CASE("a provider's password is cached until its expiry minus the margin",
          "[unit][credentials]") {
    event_loop loop;
    scripted s;
    auto first = ask(*s.provider, loop);
    CHECK(first->calls == 0);  // never inline
    REQUIRE(s.pending.size() == 1);
    s.answer("token-1", 15min);
    REQUIRE(spin(loop, [&] { return first->calls == 1; }));
    REQUIRE(first->r->ok());
    CHECK(**first->r == "token-1");

    *s.now += 14min;  // 1 min before expiry: outside the 30 s margin, still cached
    auto second = ask(*s.provider, loop);
    CHECK(s.pending.empty());
    REQUIRE(spin(loop, [&] { return second->calls == 1; }));
    CHECK(**second->r == "token-1");
    CHECK(s.provider->calls() == 1);

    *s.now += 31s;  // inside the margin: asked again
    auto third = ask(*s.provider, loop);
    REQUIRE(s.pending.size() == 1);
    s.answer("token-2", 15min);
    REQUIRE(spin(loop, [&] { return third->calls == 1; }));
    CHECK(**third->r == "token-2");
    CHECK(s.provider->calls() == 2);

    // A password the server refused is forgotten: the next connect asks.
    s.provider->forget();
    ask(*s.provider, loop);
    CHECK(s.pending.size() == 1);
}

TEST_CASE("connects waiting for a provider share one call", "[unit][credentials]") {
    event_loop loop;
    scripted s;
    std::vector<std::shared_ptr<got>> waiting;
    for (int i = 0; i < 5; ++i) waiting.push_back(ask(*s.provider, loop));
    CHECK(s.provider->calls() == 1);
    REQUIRE(s.pending.size() == 1);
    s.answer("shared", std::nullopt);
    REQUIRE(spin(loop, [&] {
        return std::all_of(waiting.begin(), waiting.end(), [](auto& g) { return g->calls == 1; });
    }));
    for (auto& g : waiting) CHECK(**g->r == "shared");
    // No expiry: not reused, the next connect asks again.
    ask(*s.provider, loop);
    CHECK(s.provider->calls() == 2);
}

TEST_CASE("a provider that fails or throws names itself, never the secret", "[unit][credentials]") {
    event_loop loop;
    SECTION("fails") {
        scripted s;
        auto g = ask(*s.provider, loop);
        auto done = std::move(s.pending.front());
        done(error(errc::connect_failed, "the vault is sealed"));
        REQUIRE(spin(loop, [&] { return g->calls == 1; }));
        REQUIRE(!g->r->ok());
        CHECK(g->r->err().value() == errc::connect_failed);
        CHECK(g->r->err().message() == "password provider \"vault\" failed: the vault is sealed");
    }
    SECTION("throws") {
        auto p = make_password_provider("iam", [](event_loop&, password_callback) {
            throw std::runtime_error("no AWS credentials in the environment");
        });
        auto g = ask(*p, loop);
        CHECK(g->calls == 0);
        REQUIRE(spin(loop, [&] { return g->calls == 1; }));
        REQUIRE(!g->r->ok());
        CHECK(g->r->err().message() ==
              "password provider \"iam\" threw: no AWS credentials in the environment");
        // It is asked again next time (a failure is never cached).
        ask(*p, loop);
        CHECK(p->calls() == 2);
    }
}

TEST_CASE("a provider that does not answer in time fails the waiting connects",
          "[unit][credentials]") {
    event_loop loop;
    scripted s(50ms, "entra-id");
    auto a = ask(*s.provider, loop);
    auto b = ask(*s.provider, loop);
    REQUIRE(spin(loop, [&] { return a->calls == 1 && b->calls == 1; }));
    for (auto* g : {&a, &b}) {
        REQUIRE(!(*g)->r->ok());
        CHECK((*g)->r->err().value() == errc::timeout);
        CHECK((*g)->r->err().message() ==
              "password provider \"entra-id\" did not answer within 50 ms");
    }
    // Its late answer is ignored (nobody is told twice) and not cached.
    s.answer("late", 15min);
    for (int i = 0; i < 10; ++i) loop.run_nowait();
    CHECK(a->calls == 1);
    auto c = ask(*s.provider, loop);
    CHECK(s.provider->calls() == 2);
    s.answer("fresh", 15min);
    REQUIRE(spin(loop, [&] { return c->calls == 1; }));
    CHECK(**c->r == "fresh");
}

TEST_CASE("an answer from another thread reaches the loop", "[unit][credentials]") {
    event_loop loop;
    std::thread worker;
    auto p = make_password_provider("threaded", [&](event_loop&, password_callback done) {
        worker = std::thread([d = std::move(done)]() mutable {
            d(password_grant{"from-a-thread", std::nullopt});
        });
    });
    auto g = ask(*p, loop);
    if (worker.joinable()) worker.join();  // its answer is posted to the loop
    REQUIRE(spin(loop, [&] { return g->calls == 1; }));
    CHECK(**g->r == "from-a-thread");
}

TEST_CASE("a pool asks its provider once for concurrent connects and again after expiry",
          "[unit][credentials][pool]") {
    pool_harness h;
    scripted s;
    auto o = test_pool_options(3, 1);
    o.connection.password_provider = s.provider;
    h.make(o);
    std::vector<std::shared_ptr<acquire_probe>> probes;
    for (int i = 0; i < 3; ++i) probes.push_back(h.acquire());
    h.settle();
    CHECK(h.stats().connecting == 3);
    CHECK(h.fake().connect_attempts == 0);  // the driver waits for the password
    CHECK(s.provider->calls() == 1);
    s.answer("token-1", 15min);
    h.settle();
    for (auto& p : probes) REQUIRE(p->ok());
    CHECK(h.fake().passwords == std::vector<std::string>(3, "token-1"));

    *s.now += 20min;  // expired: the overflow connect asks again
    auto extra = h.acquire();
    h.settle();
    CHECK(s.provider->calls() == 2);
    s.answer("token-2", 15min);
    h.settle();
    REQUIRE(extra->ok());
    CHECK(h.fake().passwords.back() == "token-2");
    // Connections opened with token-1 keep working.
    auto l = probes[0]->take();
    CHECK(h.run(l, "SELECT 1").ok());
}

TEST_CASE("a pool whose provider fails reports the provider, never a password",
          "[unit][credentials][pool]") {
    pool_harness h;
    scripted s;
    auto o = test_pool_options(1, 0);
    o.connection.password_provider = s.provider;
    h.make(o);
    auto p = h.acquire(200ms);
    h.settle();
    REQUIRE(s.pending.size() == 1);
    auto done = std::move(s.pending.front());
    s.pending.clear();
    done(error(errc::connect_failed, "the vault is sealed"));
    h.settle();
    CHECK(h.fake().connect_attempts == 0);
    CHECK(h.logs.count("password provider \"vault\" failed: the vault is sealed") == 1);
    CHECK(h.logs.text().find("s3cret") == std::string::npos);
    h.advance(300ms);
    REQUIRE(p->calls == 1);
    CHECK(!p->ok());
    CHECK(p->err().message().find("s3cret") == std::string::npos);
}

TEST_CASE("a pool closed while its provider runs is never called back",
          "[unit][credentials][pool]") {
    pool_harness h;
    scripted s;
    auto o = test_pool_options(1, 0);
    o.connection.password_provider = s.provider;
    h.make(o);
    auto p = h.acquire();
    h.settle();
    REQUIRE(s.pending.size() == 1);
    h.destroy_pool();
    h.settle();
    CHECK(p->failed_with(errc::pool_closed));
    // The waiting request was withdrawn: the late answer reaches nobody.
    s.answer("too-late", 15min);
    h.settle();
    CHECK(h.fake().connect_attempts == 0);
}
