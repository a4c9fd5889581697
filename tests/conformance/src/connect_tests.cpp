// Conformance: opening and closing connections.

#include "support.hpp"

namespace uvdb::conformance::detail {
void anchor_connect_tests() {}
}  // namespace uvdb::conformance::detail

using namespace uvdb;
using namespace uvdb::conformance;
using namespace uvdb::conformance::detail;

TEST_CASE("conformance: connect succeeds and the connection is ready", "[conformance]") {
    const target& t = current_target();
    event_loop loop;
    slot<void> s;
    bool returned = false;
    auto c = t.driver->connect(loop, t.options(), [&](result<void> r) {
        s.sink()(std::move(r));
        s.calls += returned ? 0 : 100;  // marks a callback run inline from connect()
    });
    returned = true;
    REQUIRE(c != nullptr);
    run_until(
        loop, [&] { return s.done(); }, t.step_timeout, "the connect callback");
    INFO(t.name << ": " << describe(*s.value));
    REQUIRE(s.calls == 1);
    REQUIRE(s.value->ok());
    CHECK(c->is_ready());
    CHECK_FALSE(c->is_broken());
    CHECK(c->is_idle());
    CHECK(c->transaction_status() == tx_status::idle);
    CHECK_FALSE(c->describe().empty());
    // The connect callback runs exactly once, even with the loop running on.
    run_for(loop, 20ms);
    CHECK(s.calls == 1);
}

TEST_CASE("conformance: a bad target fails to connect with a clear error", "[conformance]") {
    const target& t = current_target();
    if (!t.bad_options) {
        WARN("skipped: the target gives no bad_options");
        return;
    }
    event_loop loop;
    slot<void> s;
    auto c = t.driver->connect(loop, t.bad_options(), s.sink());
    REQUIRE(c != nullptr);
    run_until(
        loop, [&] { return s.done(); }, t.step_timeout, "the connect callback");
    REQUIRE(s.value.has_value());
    REQUIRE_FALSE(s.value->ok());
    const error& e = s.value->err();
    INFO(e.to_string());
    CHECK_FALSE(e.message().empty());
    CHECK(e.is_fatal());
    CHECK_FALSE(c->is_ready());
    CHECK(c->is_broken());
    // A statement on it fails too, through the callback.
    slot<result_set> q;
    c->query(t.trivial_sql, q.sink());
    run_until(
        loop, [&] { return q.done(); }, t.step_timeout, "the query callback");
    CHECK_FALSE(q.value->ok());
    CHECK(s.calls == 1);
}

TEST_CASE("conformance: destroying a connection while it connects completes the callback once",
          "[conformance]") {
    const target& t = current_target();
    event_loop loop;
    slot<void> s;
    slot<result_set> q;
    auto c = t.driver->connect(loop, t.options(), s.sink());
    c->query(t.trivial_sql, q.sink());  // queued before the connection is ready
    c.reset();
    run_until(
        loop, [&] { return s.done() && q.done(); }, t.step_timeout,
        "the callbacks of an aborted connect");
    REQUIRE_FALSE(s.value->ok());
    CHECK(s.value->err().value() == errc::closed);
    REQUIRE_FALSE(q.value->ok());
    CHECK(q.value->err().value() == errc::closed);
    run_for(loop, 20ms);
    CHECK(s.calls == 1);
    CHECK(q.calls == 1);
}

TEST_CASE("conformance: statements issued before the connect finished run after it",
          "[conformance]") {
    const target& t = current_target();
    event_loop loop;
    slot<void> s;
    slot<result_set> q;
    auto c = t.driver->connect(loop, t.options(), s.sink());
    c->query(t.trivial_sql, q.sink());
    run_until(
        loop, [&] { return s.done() && q.done(); }, t.step_timeout, "connect and query");
    REQUIRE(s.value->ok());
    INFO(describe(*q.value));
    REQUIRE(q.value->ok());
    CHECK(q.value->value().value<int>() == 1);
}

TEST_CASE("conformance: close() is idempotent and fails later statements with errc::closed",
          "[conformance]") {
    const target& t = current_target();
    event_loop loop;
    auto c = connect_ok(loop, t);
    c->close();
    c->close();
    CHECK_FALSE(c->is_ready());
    CHECK(c->is_broken());
    bool returned = false;
    bool inline_call = false;
    slot<result_set> q;
    c->query(t.trivial_sql, [&](result<result_set> r) {
        inline_call = !returned;
        q.sink()(std::move(r));
    });
    returned = true;
    run_until(
        loop, [&] { return q.done(); }, t.step_timeout, "the query callback");
    CHECK_FALSE(inline_call);
    REQUIRE_FALSE(q.value->ok());
    CHECK(q.value->err().value() == errc::closed);
}
