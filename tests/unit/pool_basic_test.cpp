// Pool sizing: persistent size, overflow, reuse, idle order, stats, the
// start-up log line and option validation.

#include <catch2/catch.hpp>
#include <uvdb/pool.hpp>

#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;

TEST_CASE("pool opens connections on demand, not at start", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(3, 2));
    h.settle();
    CHECK(h.driver->live() == 0);
    CHECK(h.stats().total == 0);

    lease a = h.acquire_now();
    CHECK(h.driver->live() == 1);
    CHECK(h.stats().checked_out == 1);
    CHECK(h.stats().total == 1);
}

TEST_CASE("a returned connection is kept and reused", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(2, 0));
    std::int64_t first_pid = 0;
    {
        lease a = h.acquire_now();
        first_pid = a->server_pid();
    }
    h.settle();
    CHECK(h.stats().idle == 1);
    CHECK(h.stats().checked_out == 0);
    lease b = h.acquire_now();
    CHECK(b->server_pid() == first_pid);
    CHECK(h.fake().connect_attempts == 1);
}

TEST_CASE("size persistent connections stay, overflow ones close when returned", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(2, 2));
    std::vector<lease> held;
    for (int i = 0; i < 4; ++i) held.push_back(h.acquire_now());
    auto st = h.stats();
    CHECK(st.checked_out == 4);
    CHECK(st.total == 4);
    CHECK(st.overflow == 2);

    held.pop_back();
    h.settle();
    CHECK(h.stats().total == 3);
    CHECK(h.stats().idle == 0);  // an overflow connection is not kept
    held.pop_back();
    h.settle();
    CHECK(h.stats().total == 2);
    CHECK(h.stats().overflow == 0);
    held.clear();
    h.settle();
    st = h.stats();
    CHECK(st.idle == 2);  // the persistent ones stay
    CHECK(st.total == 2);
    CHECK(h.driver->live() == 2);
}

TEST_CASE("the pool never holds more than size + max_overflow", "[unit][pool]") {
    pool_harness h;
    h.fake().connect_latency = 50ms;  // connects stay in flight for a while
    auto o = test_pool_options(2, 1);
    o.max_connecting = 10;
    h.make(o);
    std::vector<std::shared_ptr<acquire_probe>> probes;
    for (int i = 0; i < 10; ++i) probes.push_back(h.acquire());
    h.settle();
    auto st = h.stats();
    CHECK(st.connecting == 3);
    CHECK(st.total == 3);
    CHECK(st.waiting == 10);
    CHECK(h.driver->live() == 3);
    h.advance(50ms);
    st = h.stats();
    CHECK(st.checked_out == 3);
    CHECK(st.waiting == 7);
    CHECK(st.total == 3);
    CHECK(h.driver->live() == 3);
}

TEST_CASE("idle connections are handed out LIFO by default, FIFO on request", "[unit][pool]") {
    for (auto order : {idle_order::lifo, idle_order::fifo}) {
        pool_harness h;
        auto o = test_pool_options(3, 0);
        o.order = order;
        h.make(o);
        lease a = h.acquire_now();
        lease b = h.acquire_now();
        const auto pid_a = a->server_pid();
        const auto pid_b = b->server_pid();
        a.release();  // returned first
        h.advance(1ms);
        b.release();  // returned last
        h.settle();
        lease c = h.acquire_now();
        if (order == idle_order::lifo) {
            CHECK(c->server_pid() == pid_b);
        } else {
            CHECK(c->server_pid() == pid_a);
        }
    }
}

TEST_CASE("try_acquire hands out a ready connection at once, or nothing", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    CHECK_FALSE(h.get().try_acquire().has_value());  // nothing open yet
    { lease a = h.acquire_now(); }
    h.settle();
    auto l = h.get().try_acquire();
    REQUIRE(l.has_value());
    CHECK(static_cast<bool>(*l));
    CHECK(h.stats().checked_out == 1);
    CHECK_FALSE(h.get().try_acquire().has_value());  // the only one is out
}

TEST_CASE("acquire never calls back inline", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    { lease a = h.acquire_now(); }
    h.settle();
    auto p = h.acquire();
    CHECK(p->calls == 0);  // even with an idle connection ready
    h.settle();
    CHECK(p->calls == 1);
    CHECK(p->ok());

    h.get().close();
    auto q = h.acquire();
    CHECK(q->calls == 0);  // errors too
    h.settle();
    CHECK(q->failed_with(errc::pool_closed));
}

TEST_CASE("stats count acquires and the wait histogram", "[unit][pool]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    lease a = h.acquire_now();
    auto waiting = h.acquire();
    h.settle();
    CHECK(h.stats().waiting == 1);
    h.advance(3ms);
    a.release();
    h.settle();
    REQUIRE(waiting->ok());
    auto st = h.stats();
    CHECK(st.acquires == 2);
    CHECK(st.wait_time.total() == 2);
    CHECK(st.wait_time.percentile(1.0) == std::chrono::microseconds(5'000));  // the 3 ms wait
    CHECK(st.longest_held == 0ms);
    h.advance(1'500ms);
    CHECK(h.get().longest_held() == 1'500ms);
    CHECK(h.stats().longest_held_at.line() != 0);
}

TEST_CASE("wait_histogram buckets", "[unit][pool]") {
    wait_histogram hist;
    hist.record(std::chrono::microseconds(0));
    hist.record(std::chrono::microseconds(10));
    hist.record(std::chrono::microseconds(11));
    hist.record(std::chrono::seconds(1000));
    CHECK(hist.count(0) == 2);
    CHECK(hist.count(1) == 1);
    CHECK(hist.count(wait_histogram::bucket_count - 1) == 1);
    CHECK(hist.total() == 4);
    CHECK(hist.percentile(0.5) == std::chrono::microseconds(10));
    CHECK(hist.percentile(0.75) == std::chrono::microseconds(20));
}

TEST_CASE("the start-up line names the settings and masks the password", "[unit][pool]") {
    pool_harness h;
    auto o = test_pool_options(20, 40);
    o.connection.url = "postgresql://app:hunter2@db.internal:5432/app";
    o.log_fields.emplace_back("preset", "aws-rds");
    h.make(o);
    const std::string log = h.logs.text();
    CHECK(h.logs.count("database_engine_configured") == 1);
    CHECK(log.find("database_engine_configured pool_size=20 max_overflow=40 pool_recycle=3600 "
                   "pool_pre_ping=true pool_timeout=30 total_connections=60 overflow_delay=0 "
                   "pipeline_depth=16 pipeline_max_front_age=0.005 preset=aws-rds "
                   "url=postgresql://app:***@db.internal:5432/app") != std::string::npos);
    CHECK(log.find("hunter2") == std::string::npos);
    CHECK(log.find("[info]") != std::string::npos);
}

TEST_CASE("engine_configured_line shows fractional seconds and disabled recycle", "[unit][pool]") {
    pool_options o;
    o.connection.url = "postgresql://u@h/db";
    o.timeout = 500ms;
    o.recycle = 0ms;
    o.pre_ping = false;
    const std::string line = engine_configured_line(o);
    CHECK(line.find("pool_timeout=0.5 ") != std::string::npos);
    CHECK(line.find("pool_recycle=0 ") != std::string::npos);
    CHECK(line.find("pool_pre_ping=false ") != std::string::npos);
}

TEST_CASE("invalid options are rejected with the option's name", "[unit][pool]") {
    pool_options o;
    CHECK(validate(o).ok());
    o.min_idle = 30;
    auto r = validate(o);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().value() == errc::bad_config);
    CHECK(r.err().message().find("min_idle") != std::string::npos);

    pool_options z;
    z.size = 0;
    z.max_overflow = 0;
    CHECK_FALSE(validate(z).ok());
    pool_options j;
    j.recycle_jitter = 1.5;
    CHECK_FALSE(validate(j).ok());
    pool_options t;
    t.timeout = -1ms;
    CHECK_FALSE(validate(t).ok());

    event_loop loop;
    CHECK_THROWS_AS(pool(loop, std::make_shared<fake_driver>(), o), std::invalid_argument);
}

TEST_CASE("pool::create finds the driver by URL scheme", "[unit][pool]") {
    log_capture quiet;
    event_loop loop;
    driver_registry reg;
    REQUIRE(reg.add(std::make_shared<fake_driver>()).ok());
    pool_options o = test_pool_options();
    auto p = pool::create(loop, o, reg);
    REQUIRE(p.ok());
    CHECK(p->options().size == 2);

    o.connection.url = "nosuch://x/y";
    auto q = pool::create(loop, o, reg);
    REQUIRE_FALSE(q.ok());
    CHECK(q.err().value() == errc::driver_not_found);
}

TEST_CASE("pool_options defaults are the documented ones", "[unit][pool]") {
    const pool_options o;
    CHECK(o.size == 20);
    CHECK(o.max_overflow == 40);
    CHECK(o.max_total() == 60);
    CHECK(o.min_idle == 0);
    CHECK(o.timeout == 30s);
    CHECK(o.max_waiters == 0);
    CHECK(o.pre_ping);
    CHECK(o.pre_ping_idle_threshold == 500ms);
    CHECK(o.ping_timeout == 5s);
    CHECK(o.recycle == 3600s);
    CHECK(o.recycle_jitter == Approx(0.10));
    CHECK(o.idle_timeout == 0ms);
    CHECK(o.overflow_linger == 5s);
    CHECK(o.order == idle_order::lifo);
    CHECK(o.reset_on_return);
    CHECK(o.max_connecting == 4);
    CHECK(o.connect_backoff_base == 100ms);
    CHECK(o.connect_backoff_cap == 5s);
    CHECK(o.leak_threshold == 0ms);
}
