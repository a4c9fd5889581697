#include "support.hpp"

namespace uvdb::conformance::detail {

std::unique_ptr<connection> connect_ok(event_loop& loop, const target& t) {
    slot<void> s;
    auto c = t.driver->connect(loop, t.options(), s.sink());
    REQUIRE(c != nullptr);
    run_until(
        loop, [&] { return s.done(); }, t.step_timeout, "the connect callback");
    INFO(t.name << ": " << describe(*s.value));
    REQUIRE(s.value->ok());
    REQUIRE(c->is_ready());
    return c;
}

result<result_set> query_now(event_loop& loop, connection& c, std::string_view sql, params p,
                             query_options opts) {
    slot<result_set> s;
    c.query(sql, std::move(p), opts, s.sink());
    run_until(
        loop, [&] { return s.done(); }, current_target().step_timeout, "the query callback");
    return std::move(*s.value);
}

result<std::vector<result_set>> execute_now(event_loop& loop, connection& c, std::string_view sql) {
    slot<std::vector<result_set>> s;
    c.execute(sql, s.sink());
    run_until(
        loop, [&] { return s.done(); }, current_target().step_timeout, "the execute callback");
    return std::move(*s.value);
}

result<void> ping_now(event_loop& loop, connection& c, std::chrono::milliseconds deadline) {
    slot<void> s;
    c.ping(deadline, s.sink());
    run_until(
        loop, [&] { return s.done(); }, current_target().step_timeout, "the ping callback");
    return std::move(*s.value);
}

result<void> reset_now(event_loop& loop, connection& c) {
    slot<void> s;
    c.reset(s.sink());
    run_until(
        loop, [&] { return s.done(); }, current_target().step_timeout, "the reset callback");
    return std::move(*s.value);
}

void require_usable(event_loop& loop, connection& conn, std::string_view after) {
    auto r = query_now(loop, conn, current_target().trivial_sql);
    INFO("after " << after << ": " << describe(r));
    REQUIRE(r.ok());
    REQUIRE(r->value<int>() == 1);
}

}  // namespace uvdb::conformance::detail
