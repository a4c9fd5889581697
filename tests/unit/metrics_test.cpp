// uvdb::metrics: the OpenTelemetry names and Prometheus spelling, labels,
// cumulative histogram buckets, counters, the visitor the text is built on,
// the text read by a real Prometheus parser (python3-prometheus-client), the
// pool recording create_time and use_time, and the /metrics HTTP endpoint.

#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <uvdb/metrics.hpp>
#include <uvdb/metrics_server.hpp>
#include <uvdb/pool.hpp>
#include <vector>

#include "support/metrics_check.hpp"
#include "unit/config_test_util.hpp"
#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;
using Catch::Matchers::Contains;

namespace {

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

metrics::pool_snapshot hand_snapshot(std::string name) {
    metrics::pool_snapshot s;
    s.name = std::move(name);
    s.min_idle = 1;
    s.stats.size = 4;
    s.stats.max_overflow = 6;
    s.stats.idle = 3;
    s.stats.checked_out = 2;
    s.stats.waiting = 5;
    s.stats.total = 5;
    s.stats.timeouts = 7;
    s.stats.acquires = 40;
    s.stats.connect_failures = 2;
    return s;
}

// Runs the loop until the client has its answer and closed its socket.
void run_client(event_loop& loop, const http_client& c) {
    while (!c.finished() && loop.run_once()) {
    }
}

}  // namespace

TEST_CASE("metrics: OpenTelemetry names in Prometheus spelling, labelled by pool",
          "[unit][metrics]") {
    const std::vector<metrics::pool_snapshot> pools{hand_snapshot("orders")};
    const std::string text = metrics::render_prometheus_snapshots(pools);
    const std::string pool = R"(db_client_connection_pool_name="orders")";

    CHECK(has_line(text, "# TYPE db_client_connection_count gauge"));
    CHECK(has_line(
        text, "db_client_connection_count{" + pool + R"(,db_client_connection_state="idle"} 3)"));
    CHECK(has_line(
        text, "db_client_connection_count{" + pool + R"(,db_client_connection_state="used"} 2)"));
    CHECK(has_line(text, "db_client_connection_idle_max{" + pool + "} 10"));
    CHECK(has_line(text, "db_client_connection_idle_min{" + pool + "} 1"));
    CHECK(has_line(text, "db_client_connection_limit{" + pool + "} 10"));
    CHECK(has_line(text, "db_client_connection_max{" + pool + "} 10"));  // the former name
    CHECK(has_line(text, "db_client_connection_pending_requests{" + pool + "} 5"));
    CHECK(has_line(text, "# TYPE db_client_connection_timeouts_total counter"));
    CHECK(has_line(text, "db_client_connection_timeouts_total{" + pool + "} 7"));
    for (const char* h :
         {"db_client_connection_create_time_seconds", "db_client_connection_wait_time_seconds",
          "db_client_connection_use_time_seconds", "db_client_operation_duration_seconds"}) {
        INFO(h);
        CHECK(has_line(text, std::string("# TYPE ") + h + " histogram"));
        CHECK(has_line(text, std::string(h) + "_count{" + pool + "} 0"));
    }
    CHECK(has_line(text, "uvdb_pool_acquires_total{" + pool + "} 40"));
    CHECK(has_line(text, "uvdb_pool_connect_failures_total{" + pool + "} 2"));
    CHECK(has_line(text, "# TYPE uvdb_pool_connect_failures_total counter"));
    CHECK(has_line(text, "uvdb_pool_connections{" + pool + "} 5"));
    // Every line is a comment or a sample; every family is announced once.
    CHECK(text.back() == '\n');
    std::set<std::string> types;
    std::size_t pos = 0;
    while ((pos = text.find("# TYPE ", pos)) != std::string::npos) {
        const auto end = text.find(' ', pos + 7);
        CHECK(types.insert(text.substr(pos + 7, end - pos - 7)).second);
        pos = end;
    }
    CHECK(types.size() > 30);
}

TEST_CASE("metrics: histogram buckets are cumulative, in seconds, with _sum and _count",
          "[unit][metrics]") {
    metrics::pool_snapshot s = hand_snapshot("p");
    s.stats.wait_time.record(std::chrono::microseconds(15));
    s.stats.wait_time.record(std::chrono::microseconds(15));
    s.stats.wait_time.record_immediate();
    s.stats.wait_time.record(std::chrono::microseconds(3'000));
    s.stats.wait_time.record(std::chrono::seconds(200));  // beyond the last bound
    const std::vector<metrics::pool_snapshot> pools{s};
    const std::string text = metrics::render_prometheus_snapshots(pools);
    const std::string b =
        "db_client_connection_wait_time_seconds_bucket{"
        "db_client_connection_pool_name=\"p\",le=";
    CHECK(has_line(text, b + "\"0.00001\"} 1"));
    CHECK(has_line(text, b + "\"0.00002\"} 3"));
    CHECK(has_line(text, b + "\"0.002\"} 3"));
    CHECK(has_line(text, b + "\"0.005\"} 4"));
    CHECK(has_line(text, b + "\"1\"} 4"));
    CHECK(has_line(text, b + "\"100\"} 4"));
    CHECK(has_line(text, b + "\"+Inf\"} 5"));
    CHECK(has_line(text,
                   "db_client_connection_wait_time_seconds_count{db_client_connection_pool_name="
                   "\"p\"} 5"));
    CHECK(has_line(text,
                   "db_client_connection_wait_time_seconds_sum{db_client_connection_pool_name="
                   "\"p\"} 200.00303"));
    CHECK(s.stats.wait_time.sum_us() == 200'003'030);
}

TEST_CASE("metrics: label values and help are escaped", "[unit][metrics]") {
    const std::vector<metrics::pool_snapshot> pools{hand_snapshot("a\"b\\c\nd")};
    const std::string text = metrics::render_prometheus_snapshots(pools);
    CHECK_THAT(text, Contains(R"(db_client_connection_pool_name="a\"b\\c\nd")"));
}

TEST_CASE("metrics: the visitor sees each metric's samples together, with the same values",
          "[unit][metrics]") {
    std::vector<metrics::pool_snapshot> pools{hand_snapshot("one"), hand_snapshot("two")};
    pools[1].stats.operation_time.record(std::chrono::milliseconds(12));  // the hooks record it
    std::vector<std::string> order;
    std::map<std::string, double> values;
    std::uint64_t operations = 0;
    metrics::visit_snapshots(pools, [&](const metrics::sample& s) {
        const std::string fam(s.prometheus);
        if (order.empty() || order.back() != fam) order.push_back(fam);
        REQUIRE(!s.labels.empty());
        CHECK(s.labels[0].name == "db_client_connection_pool_name");
        std::string key = fam + "/" + std::string(s.labels[0].value);
        if (s.labels.size() > 1) key += "/" + std::string(s.labels[1].value);
        values[key] = s.value;
        if (s.name == "db.client.operation.duration" && s.labels[0].value == "two") {
            REQUIRE(s.histogram != nullptr);
            CHECK(s.unit == "s");
            operations = s.histogram->total();
        }
    });
    // A family never comes back after another one started.
    CHECK(std::set<std::string>(order.begin(), order.end()).size() == order.size());
    CHECK(values["db_client_connection_count/one/idle"] == 3);
    CHECK(values["db_client_connection_count/two/used"] == 2);
    CHECK(values["db_client_connection_timeouts_total/two"] == 7);
    CHECK(operations == 1);
}

TEST_CASE("metrics: a real Prometheus parser reads the text", "[unit][metrics]") {
    const auto python = python_with_prometheus_client();
    if (!python) {
        WARN(
            "skipped: python3 with prometheus_client not found "
            "(scripts/install-deps.sh installs python3-prometheus-client)");
        return;
    }
    std::vector<metrics::pool_snapshot> pools{hand_snapshot("orders"), hand_snapshot("users")};
    pools[1].stats.use_time.record(std::chrono::milliseconds(30));
    pools[1].stats.use_time.record(std::chrono::milliseconds(70));
    const auto r = prometheus_parse(*python, metrics::render_prometheus_snapshots(pools));
    INFO(r.output.substr(0, 2000));
    REQUIRE(r.ok);
    const std::string users = "db_client_connection_pool_name=users";
    CHECK(parsed_value(r.output, "db_client_connection_count",
                       "db_client_connection_pool_name=orders,db_client_connection_state=used") ==
          2.0);
    CHECK(parsed_value(r.output, "db_client_connection_timeouts_total", users) == 7.0);
    CHECK(parsed_value(r.output, "db_client_connection_use_time_seconds_count", users) == 2.0);
    CHECK(parsed_value(r.output, "db_client_connection_use_time_seconds_sum", users) ==
          Approx(0.1));
    CHECK(parsed_value(r.output, "db_client_connection_use_time_seconds_bucket",
                       users + ",le=0.05") == 1.0);
    CHECK(parsed_value(r.output, "db_client_connection_use_time_seconds_bucket",
                       users + ",le=+Inf") == 2.0);
    CHECK_THAT(r.output, Contains("db_client_connection_timeouts|counter|"));
    CHECK_THAT(r.output, Contains("db_client_connection_use_time_seconds|histogram|"));
}

TEST_CASE("metrics: the pool records connect and use times", "[unit][metrics][pool]") {
    pool_harness h;
    h.fake().connect_latency = 4ms;
    auto o = test_pool_options(2, 0);
    o.name = "orders";
    h.make(o);
    {
        auto probe = h.acquire();
        h.advance(4ms);  // the connect
        REQUIRE(probe->ok());
        lease a = probe->take();
        h.advance(30ms);
    }
    h.settle();
    const pool_stats st = h.stats();
    CHECK(st.create_time.total() == 1);
    CHECK(st.create_time.percentile(1.0) == std::chrono::microseconds(5'000));
    CHECK(st.create_time.sum_us() == 4'000);
    CHECK(st.use_time.total() == 1);
    CHECK(st.use_time.percentile(1.0) == std::chrono::microseconds(50'000));
    CHECK(st.use_time.sum_us() == 30'000);

    const std::string text = metrics::render_prometheus({&h.get()});
    CHECK(has_line(
        text,
        R"(db_client_connection_use_time_seconds_count{db_client_connection_pool_name="orders"} 1)"));
    CHECK(has_line(
        text,
        R"(db_client_connection_create_time_seconds_count{db_client_connection_pool_name="orders"} 1)"));
}

TEST_CASE("metrics: the pool's name comes from [pool] name or DB_POOL_NAME", "[unit][metrics]") {
    CHECK(pool_options{}.name == "default");
    uvdb::load_options o;
    o.file = std::string("");
    o.env = uvdb::environment_from(
        {{"DATABASE_URL", "postgresql://app@db:5432/app"}, {"DB_POOL_NAME", "orders"}});
    auto r = uvdb::load_config(o);
    REQUIRE(r.ok());
    CHECK(r->pool.name == "orders");
}

TEST_CASE("metrics: the HTTP endpoint answers GET /metrics and 404 to anything else",
          "[unit][metrics][http]") {
    pool_harness h;
    auto o = test_pool_options(2, 0);
    o.name = "web";
    h.make(o);
    lease held = h.acquire_now();

    auto server = metrics_server::start(h.loop, "127.0.0.1", 0, {&h.get()});
    REQUIRE(server.ok());
    REQUIRE(server->port() != 0);

    http_client ok(h.loop, server->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    run_client(h.loop, ok);
    REQUIRE(ok.response.done);
    CHECK(ok.response.status() == 200);
    CHECK(ok.response.has_header("Content-Type: text/plain; version=0.0.4; charset=utf-8"));
    CHECK(ok.response.has_header("Connection: close"));
    CHECK(has_line(
        ok.response.body(),
        R"(db_client_connection_count{db_client_connection_pool_name="web",db_client_connection_state="used"} 1)"));
    CHECK(ok.response.body() == metrics::render_prometheus({&h.get()}));

    http_client other(h.loop, server->port(), "GET / HTTP/1.1\r\n\r\n");
    run_client(h.loop, other);
    CHECK(other.response.status() == 404);
    http_client post(h.loop, server->port(), "POST /metrics HTTP/1.0\r\n\r\n");
    run_client(h.loop, post);
    CHECK(post.response.status() == 404);
    http_client junk(h.loop, server->port(), "hello\r\n\r\n");
    run_client(h.loop, junk);
    CHECK(junk.response.status() == 400);
    // A head that never ends is cut off at the bound, not buffered forever.
    http_client big(h.loop, server->port(),
                    "GET /metrics HTTP/1.1\r\nX: " + std::string(20'000, 'a'));
    run_client(h.loop, big);
    CHECK(big.response.status() == 431);
    CHECK(server->responses() == 5);

    const std::uint16_t port = server->port();
    server->stop();
    CHECK(server->port() == 0);
    http_client refused(h.loop, port, "GET /metrics HTTP/1.1\r\n\r\n");
    run_client(h.loop, refused);
    CHECK(refused.response.error != 0);
}

TEST_CASE("metrics: the endpoint refuses a bad address and a port in use",
          "[unit][metrics][http]") {
    event_loop loop;
    auto bad = metrics_server::start(loop, "not-an-address", 0, [] { return std::string(); });
    REQUIRE(!bad.ok());
    CHECK(bad.err().value() == errc::bad_config);
    auto first = metrics_server::start(loop, "127.0.0.1", 0, [] { return std::string("x"); });
    REQUIRE(first.ok());
    auto second =
        metrics_server::start(loop, "127.0.0.1", first->port(), [] { return std::string(); });
    REQUIRE(!second.ok());
    CHECK_THAT(second.err().message(), Contains("127.0.0.1:"));
    // The loop goes first: the server's handles close with it (no leak under ASan).
}
