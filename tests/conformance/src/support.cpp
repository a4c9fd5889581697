#include "support.hpp"

#include <uvdb/timer.hpp>

namespace uvdb::conformance::detail {

bool wait_until(event_loop& loop, const std::function<bool()>& done,
                std::chrono::milliseconds timeout) {
    if (done()) return true;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    timer watchdog(loop);
    watchdog.start(5ms, [] {}, 5ms);
    bool ok = false;
    while (!(ok = done()) && std::chrono::steady_clock::now() < deadline) loop.run_once();
    watchdog.close();
    loop.run_nowait();  // let the watchdog's handle close
    return ok;
}

void run_until(event_loop& loop, const std::function<bool()>& done,
               std::chrono::milliseconds timeout, std::string_view what) {
    if (!wait_until(loop, done, timeout))
        FAIL("waited " << timeout.count() << " ms for " << what << "; it did not happen");
}

void run_for(event_loop& loop, std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    wait_until(loop, [&] { return std::chrono::steady_clock::now() >= until; }, d + 1s);
}

std::unique_ptr<connection> connect_ok(event_loop& loop, const target& t) {
    slot<void> s;
    auto c = t.driver->connect(loop, t.options(), s.sink());
    REQUIRE(c != nullptr);
    run_until(loop, [&] { return s.done(); }, t.step_timeout, "the connect callback");
    INFO(t.name << ": " << describe(*s.value));
    REQUIRE(s.value->ok());
    REQUIRE(c->is_ready());
    return c;
}

result<result_set> query_now(event_loop& loop, connection& c, std::string_view sql, params p,
                             query_options opts) {
    slot<result_set> s;
    c.query(sql, std::move(p), opts, s.sink());
    run_until(loop, [&] { return s.done(); }, current_target().step_timeout,
              "the query callback");
    return std::move(*s.value);
}

result<std::vector<result_set>> execute_now(event_loop& loop, connection& c, std::string_view sql) {
    slot<std::vector<result_set>> s;
    c.execute(sql, s.sink());
    run_until(loop, [&] { return s.done(); }, current_target().step_timeout,
              "the execute callback");
    return std::move(*s.value);
}

result<void> ping_now(event_loop& loop, connection& c, std::chrono::milliseconds deadline) {
    slot<void> s;
    c.ping(deadline, s.sink());
    run_until(loop, [&] { return s.done(); }, current_target().step_timeout, "the ping callback");
    return std::move(*s.value);
}

result<void> reset_now(event_loop& loop, connection& c) {
    slot<void> s;
    c.reset(s.sink());
    run_until(loop, [&] { return s.done(); }, current_target().step_timeout, "the reset callback");
    return std::move(*s.value);
}

void require_usable(event_loop& loop, connection& conn, std::string_view after) {
    auto r = query_now(loop, conn, current_target().trivial_sql);
    INFO("after " << after << ": " << describe(r));
    REQUIRE(r.ok());
    REQUIRE(r->value<int>() == 1);
}

}  // namespace uvdb::conformance::detail
