// Conformance: ping, reset, cancel, deadlines, closing from a callback, and
// fatal errors after the connection was killed from outside.

#include <uvdb/timer.hpp>

#include "support.hpp"

namespace uvdb::conformance::detail {
void anchor_control_tests() {}
}  // namespace uvdb::conformance::detail

using namespace uvdb;
using namespace uvdb::conformance;
using namespace uvdb::conformance::detail;

namespace {

/// Kills `c` with the target's hook and waits for it.
void kill_now(event_loop& loop, const target& t, connection& c) {
    slot<void> k;
    t.kill(loop, c, k.sink());
    run_until(
        loop, [&] { return k.done(); }, t.step_timeout, "the kill hook");
    INFO("kill hook: " << describe(*k.value));
    REQUIRE(k.value->ok());
}

}  // namespace

TEST_CASE("conformance: ping succeeds on a ready connection", "[conformance]") {
    const target& t = current_target();
    event_loop loop;
    auto c = connect_ok(loop, t);
    auto r = ping_now(loop, *c);
    INFO(describe(r));
    CHECK(r.ok());
    CHECK(c->is_idle());
    require_usable(loop, *c, "a ping");
}

TEST_CASE("conformance: reset rolls back an open transaction", "[conformance]") {
    const target& t = current_target();
    event_loop loop;
    auto c = connect_ok(loop, t);
    auto made = query_now(loop, *c, t.create_table_sql);
    INFO(describe(made));
    REQUIRE(made.ok());
    REQUIRE(query_now(loop, *c, t.begin_sql).ok());
    CHECK(c->transaction_status() == tx_status::in_transaction);
    auto ins = query_now(loop, *c, t.insert_sql);
    INFO(describe(ins));
    REQUIRE(ins.ok());
    auto inside = query_now(loop, *c, t.count_sql);
    REQUIRE(inside.ok());
    CHECK(inside->value<std::int64_t>() == 1);

    auto r = reset_now(loop, *c);
    INFO(describe(r));
    REQUIRE(r.ok());
    CHECK(c->transaction_status() == tx_status::idle);
    auto after = query_now(loop, *c, t.count_sql);
    REQUIRE(after.ok());
    CHECK(after->value<std::int64_t>() == 0);  // the insert was rolled back

    // Nothing to undo: still succeeds.
    CHECK(reset_now(loop, *c).ok());
}

TEST_CASE("conformance: reset while a statement runs fails and marks the connection broken",
          "[conformance]") {
    const target& t = current_target();
    event_loop loop;
    auto c = connect_ok(loop, t);
    slot<result_set> q;
    c->query(t.trivial_sql, q.sink());
    slot<void> r;
    c->reset(r.sink());
    run_until(
        loop, [&] { return q.done() && r.done(); }, t.step_timeout, "query and reset");
    REQUIRE_FALSE(r.value->ok());
    CHECK(r.value->err().is_fatal());
    CHECK(c->is_broken());
}

TEST_CASE("conformance: cancel() stops a long statement with errc::cancelled", "[conformance]") {
    const target& t = current_target();
    if (t.long_running_sql.empty()) {
        WARN("skipped: the target gives no long_running_sql");
        return;
    }
    event_loop loop;
    auto c = connect_ok(loop, t);
    // A cancel with nothing running has no effect, now or later.
    c->cancel();
    require_usable(loop, *c, "a cancel while idle");

    slot<result_set> q;
    const auto started = std::chrono::steady_clock::now();
    c->query(t.long_running_sql, q.sink());
    timer later(loop);
    later.start(200ms, [&] { c->cancel(); });
    run_until(
        loop, [&] { return q.done(); }, t.step_timeout, "the cancelled statement");
    const auto took = std::chrono::steady_clock::now() - started;
    REQUIRE_FALSE(q.value->ok());
    INFO(q.value->err().to_string());
    CHECK(q.value->err().value() == errc::cancelled);
    CHECK_FALSE(q.value->err().is_fatal());
    CHECK(took < std::chrono::seconds(10));  // it was stopped, it did not run to its end
    require_usable(loop, *c, "a cancelled statement");
}

TEST_CASE("conformance: a statement past its deadline fails with errc::timeout", "[conformance]") {
    const target& t = current_target();
    if (t.long_running_sql.empty()) {
        WARN("skipped: the target gives no long_running_sql");
        return;
    }
    event_loop loop;
    auto c = connect_ok(loop, t);
    query_options opts;
    opts.timeout = 300ms;
    auto r = query_now(loop, *c, t.long_running_sql, {}, opts);
    REQUIRE_FALSE(r.ok());
    INFO(r.err().to_string());
    CHECK(r.err().value() == errc::timeout);
    CHECK_FALSE(r.err().is_fatal());
    CHECK(r.err().retryable());
    require_usable(loop, *c, "a statement timeout");

    // The deadline of the next statement is its own: a quick one is unaffected.
    opts.timeout = 5000ms;
    auto quick = query_now(loop, *c, t.trivial_sql, {}, opts);
    CHECK(quick.ok());
}

TEST_CASE("conformance: closing from inside a callback is legal", "[conformance]") {
    const target& t = current_target();
    event_loop loop;
    auto c = connect_ok(loop, t);
    slot<result_set> first;
    slot<result_set> second;
    c->query(t.trivial_sql, [&](result<result_set> r) {
        first.sink()(std::move(r));
        c->close();
        c.reset();  // destroying the connection inside its own callback
    });
    c->query(t.trivial_sql, second.sink());
    run_until(
        loop, [&] { return first.done() && second.done(); }, t.step_timeout, "both callbacks");
    REQUIRE(first.value->ok());
    REQUIRE_FALSE(second.value->ok());
    CHECK(second.value->err().value() == errc::closed);
    run_for(loop, 20ms);
    CHECK(first.calls == 1);
    CHECK(second.calls == 1);
}

TEST_CASE("conformance: closing while a long statement runs completes it with errc::closed",
          "[conformance]") {
    const target& t = current_target();
    if (t.long_running_sql.empty()) {
        WARN("skipped: the target gives no long_running_sql");
        return;
    }
    event_loop loop;
    auto c = connect_ok(loop, t);
    slot<result_set> q;
    c->query(t.long_running_sql, q.sink());
    timer later(loop);
    later.start(100ms, [&] { c.reset(); });
    run_until(
        loop, [&] { return q.done(); }, t.step_timeout, "the statement's callback");
    REQUIRE_FALSE(q.value->ok());
    CHECK(q.value->err().value() == errc::closed);
    run_for(loop, 20ms);
    CHECK(q.calls == 1);
}

TEST_CASE("conformance: a killed connection reports a fatal error and stays broken",
          "[conformance]") {
    const target& t = current_target();
    if (!t.kill) {
        WARN("skipped: the target gives no kill hook");
        return;
    }
    event_loop loop;
    auto c = connect_ok(loop, t);
    kill_now(loop, t, *c);
    auto r = query_now(loop, *c, t.trivial_sql);
    REQUIRE_FALSE(r.ok());
    INFO(r.err().to_string());
    CHECK(r.err().is_fatal());
    CHECK_FALSE(r.err().message().empty());
    CHECK(c->is_broken());
    CHECK_FALSE(c->is_ready());
    // Later statements fail at once, fatally, without hanging.
    auto again = query_now(loop, *c, t.trivial_sql);
    REQUIRE_FALSE(again.ok());
    CHECK(again.err().is_fatal());
}
