// The /metrics endpoint against the real server: scraped over TCP while
// queries run through the pool and once they are done, read with a real
// Prometheus parser (python3-prometheus-client), the values matching
// pool.stats(); and examples/pool_monitor's --metrics-port scraped under its
// own load.

#include <uv.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <uvdb/event_loop.hpp>
#include <uvdb/metrics_server.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/postgres/driver.hpp>
#include <vector>

#include "integration/pool_pg_support.hpp"
#include "integration/support/test_env.hpp"
#include "support/loop_wait.hpp"
#include "support/metrics_check.hpp"

using namespace uvdb;
using namespace uvdb::test;
using namespace std::chrono_literals;

namespace {

struct load_state {
    int done = 0, failures = 0;
};

// One caller: `left` short statements, one after another.
void run_caller(pool& db, load_state& st, int left, const std::function<void()>& each) {
    if (left == 0) return;
    db.query("SELECT pg_sleep(0.002)", [&db, &st, left, each](result<result_set> r) {
        if (!r) ++st.failures;
        ++st.done;
        each();
        run_caller(db, st, left - 1, each);
    });
}

std::string labels_of(const std::string& pool_name) {
    return "db_client_connection_pool_name=" + pool_name;
}

}  // namespace

TEST_CASE("metrics endpoint: scraped under load and after, matching pool.stats()",
          "[pg][metrics]") {
    const auto python = python_with_prometheus_client();
    event_loop loop;
    auto opts = pool_test_options(4, 2);
    opts.name = "pg-metrics";
    // One checkout per statement, so the use-time histogram counts
    // statements (pipelined ones share a checkout).
    opts.pipeline_depth = 0;
    pool db(loop, postgres::make_driver(), opts);
    auto server = metrics_server::start(loop, "127.0.0.1", 0, {&db});
    REQUIRE(server.ok());

    load_state st;
    std::unique_ptr<http_client> during;
    constexpr int callers = 12, per_caller = 10;
    const std::function<void()> each = [&] {
        // Scrape once, while every caller still has statements to run.
        if (st.done == callers && !during)
            during = std::make_unique<http_client>(loop, server->port(),
                                                   "GET /metrics HTTP/1.1\r\n\r\n");
    };
    for (int i = 0; i < callers; ++i) run_caller(db, st, per_caller, each);
    run_until(
        loop,
        [&] {
            const auto s = db.stats();
            return st.done == callers * per_caller && during && during->finished() &&
                   s.checked_out == 0 && s.pending == 0 && s.connecting == 0;
        },
        30s, "the load and the scrape under load");
    CHECK(st.failures == 0);
    REQUIRE(during->response.done);
    CHECK(during->response.status() == 200);

    http_client after(loop, server->port(), "GET /metrics HTTP/1.0\r\n\r\n");
    run_until(
        loop, [&] { return after.finished(); }, 10s, "the scrape after the load");
    REQUIRE(after.response.done);
    REQUIRE(after.response.status() == 200);
    const pool_stats s = db.stats();

    if (!python) {
        WARN(
            "python3 with prometheus_client not found: scraped, not parsed "
            "(scripts/install-deps.sh installs python3-prometheus-client)");
        return;
    }
    const auto under_load = prometheus_parse(*python, during->response.body());
    INFO(under_load.output.substr(0, 1500));
    REQUIRE(under_load.ok);
    const std::string l = labels_of("pg-metrics");
    CHECK(parsed_value(under_load.output, "db_client_connection_limit", l) == 6.0);
    const auto used = parsed_value(under_load.output, "db_client_connection_count",
                                   l + ",db_client_connection_state=used");
    REQUIRE(used.has_value());
    CHECK(*used <= 6.0);  // how many were running at that moment is timing: not checked
    CHECK(parsed_value(under_load.output, "uvdb_pool_acquires_total", l) >= callers);

    const auto end = prometheus_parse(*python, after.response.body());
    INFO(end.output.substr(0, 1500));
    REQUIRE(end.ok);
    auto value = [&](const std::string& sample, const std::string& extra = {}) {
        return parsed_value(end.output, sample, l + extra).value_or(-1.0);
    };
    CHECK(value("uvdb_pool_acquires_total") == static_cast<double>(s.acquires));
    CHECK(value("uvdb_pool_connects_total") == static_cast<double>(s.connects));
    CHECK(value("db_client_connection_timeouts_total") == 0.0);
    CHECK(value("db_client_connection_count", ",db_client_connection_state=used") == 0.0);
    CHECK(value("db_client_connection_count", ",db_client_connection_state=idle") ==
          static_cast<double>(s.idle));
    CHECK(value("db_client_connection_pending_requests") == 0.0);
    CHECK(value("db_client_connection_wait_time_seconds_count") ==
          static_cast<double>(s.wait_time.total()));
    CHECK(value("db_client_connection_use_time_seconds_count") ==
          static_cast<double>(callers * per_caller));
    CHECK(value("db_client_connection_create_time_seconds_count") ==
          static_cast<double>(s.connects - s.connect_failures));
    // Every statement slept 2 ms with its lease held.
    CHECK(value("db_client_connection_use_time_seconds_sum") >= 0.002 * callers * per_caller);
    CHECK(value("db_client_connection_create_time_seconds_sum") > 0.0);
    db.close();
}

namespace {

// examples/pool_monitor run on the test's loop (uv_spawn), its stdout read
// as it comes, so the test scrapes when the example says it is under load.
struct monitor_child {
    uv_process_t proc{};
    uv_pipe_t out{};
    std::string text;
    bool exited = false, out_closed = false;
    std::int64_t exit_status = -1;
    std::array<char, 4096> buf{};
};

}  // namespace

TEST_CASE("metrics endpoint: pool_monitor --metrics-port is scraped under its load",
          "[pg][metrics][examples]") {
#ifndef UVDB_EXAMPLES_DIR
    WARN("skipped: the examples are not built");
#else
    const auto& env = uvdb::test::env();
    event_loop loop;
    monitor_child child;
    uv_pipe_init(loop.native(), &child.out, 0);
    child.out.data = &child;
    child.proc.data = &child;
    // Appended, not an operator+ chain: GCC 12 warns (-Warray-bounds, wrongly)
    // on the chain's inlined move (as examples_test.cpp notes).
    std::string exe(UVDB_EXAMPLES_DIR);
    exe += "/pool_monitor";
    std::vector<std::string> args{exe, "--seconds", "3", "--metrics-port", "0", env.url};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
    stdio[1].data.stream = reinterpret_cast<uv_stream_t*>(&child.out);
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;
    uv_process_options_t po{};
    po.file = exe.c_str();
    po.args = argv.data();
    po.stdio = stdio;
    po.stdio_count = 3;
    po.exit_cb = [](uv_process_t* p, std::int64_t status, int) {
        auto* c = static_cast<monitor_child*>(p->data);
        c->exited = true;
        c->exit_status = status;
        uv_close(reinterpret_cast<uv_handle_t*>(p), nullptr);
    };
    REQUIRE(uv_spawn(loop.native(), &child.proc, &po) == 0);
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&child.out),
        [](uv_handle_t* h, std::size_t, uv_buf_t* b) {
            auto* c = static_cast<monitor_child*>(h->data);
            *b = uv_buf_init(c->buf.data(), static_cast<unsigned>(c->buf.size()));
        },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t*) {
            auto* c = static_cast<monitor_child*>(s->data);
            if (n > 0) c->text.append(c->buf.data(), static_cast<std::size_t>(n));
            if (n < 0) {
                uv_close(reinterpret_cast<uv_handle_t*>(s), [](uv_handle_t* h) {
                    static_cast<monitor_child*>(h->data)->out_closed = true;
                });
            }
        });

    // The first stats line means its 50 callers are running.
    run_until(
        loop, [&] { return child.text.find("[1s] ") != std::string::npos || child.exited; }, 30s,
        "pool_monitor's first stats line");
    const std::string marker = "metrics: http://127.0.0.1:";
    const auto at = child.text.find(marker);
    INFO(child.text);
    REQUIRE(at != std::string::npos);
    const auto port = static_cast<std::uint16_t>(std::stoi(child.text.substr(at + marker.size())));
    http_client scrape(loop, port, "GET /metrics HTTP/1.1\r\n\r\n");
    run_until(
        loop, [&] { return scrape.finished(); }, 10s, "the scrape of pool_monitor");
    run_until(
        loop, [&] { return child.exited && child.out_closed; }, 30s, "pool_monitor's exit");
    CHECK(child.exit_status == 0);
    REQUIRE(scrape.response.done);
    CHECK(scrape.response.status() == 200);
    if (const auto python = python_with_prometheus_client()) {
        const auto r = prometheus_parse(*python, scrape.response.body());
        INFO(r.output.substr(0, 1500));
        REQUIRE(r.ok);
        const std::string l = labels_of("monitor");
        CHECK(parsed_value(r.output, "db_client_connection_limit", l) == 20.0);
        // 50 callers on 20 connections: the pool is busy.
        CHECK(parsed_value(r.output, "uvdb_pool_acquires_total", l) > 50.0);
        CHECK(parsed_value(r.output, "db_client_connection_count",
                           l + ",db_client_connection_state=used") <= 20.0);
    } else {
        WARN("python3 with prometheus_client not found: scraped, not parsed");
    }
#endif
}
