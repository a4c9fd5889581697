// Conformance: statements, parameters, result values, errors, ordering.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "support.hpp"

namespace uvdb::conformance::detail {
void anchor_query_tests() {}
}  // namespace uvdb::conformance::detail

using namespace uvdb;
using namespace uvdb::conformance;
using namespace uvdb::conformance::detail;

namespace {

bytes sample_bytes() {
    std::vector<std::byte> b;
    for (int v : {0x00, 0x01, 0x7f, 0x80, 0xff, 0x00, 0x5c, 0x27})
        b.push_back(static_cast<std::byte>(v));
    return bytes(std::move(b));
}

}  // namespace

TEST_CASE("conformance: parameters and result values round trip", "[conformance]") {
    const target& t = current_target();
    event_loop loop;
    auto c = connect_ok(loop, t);

    struct sample {
        std::int64_t i;
        double d;
        std::string s;
    };
    const std::vector<sample> samples = {
        {42, 1.5, "plain"},
        {-9'007'199'254'740'993LL, -0.1, "quote ' and \"double\", back\\slash; DROP TABLE x; --"},
        {std::int64_t{1} << 40, 1e300, "héllo wörld ✓ (UTF-8)"},
        {0, 0.0, ""},
    };
    for (const auto& smp : samples) {
        auto r = query_now(
            loop, *c, t.echo_sql,
            make_params(smp.i, smp.d, smp.s, sample_bytes(), std::optional<std::string>{}));
        INFO(t.name << " with text \"" << smp.s << "\": " << describe(r));
        REQUIRE(r.ok());
        const result_set& rs = *r;
        REQUIRE(rs.size() == 1);
        REQUIRE(rs.columns() == 5);
        CHECK(rs[0].get<std::int64_t>(0) == smp.i);
        CHECK(rs[0].get<double>(1) == smp.d);
        CHECK(rs[0].get<std::string>(2) == smp.s);
        CHECK(rs[0].get<bytes>(3) == sample_bytes());
        CHECK(rs[0].is_null(4));
        CHECK_FALSE(rs[0].get<std::optional<std::string>>(4).has_value());
        // Reading a NULL as a plain value is a conversion error naming the column.
        auto bad = rs[0].try_get<std::string>(4);
        REQUIRE_FALSE(bad.ok());
        CHECK(bad.err().value() == errc::conversion_error);
    }
}

TEST_CASE("conformance: result columns report portable kinds", "[conformance]") {
    const target& t = current_target();
    event_loop loop;
    auto c = connect_ok(loop, t);
    auto r = query_now(
        loop, *c, t.echo_sql,
        make_params(std::int64_t{7}, 2.25, "x", sample_bytes(), std::optional<std::string>{}));
    INFO(describe(r));
    REQUIRE(r.ok());
    CHECK(r->column_kind_of(0) == column_kind::int64);
    CHECK(r->column_kind_of(1) == column_kind::float64);
    CHECK(r->column_kind_of(2) == column_kind::text);
    CHECK(r->column_kind_of(3) == column_kind::binary);
    CHECK_FALSE(r->column_type_name(0).empty());
    // Conversions the caller asks for are checked against the value.
    CHECK((*r)[0].get<int>(0) == 7);
    CHECK((*r)[0].get<float>(1) == 2.25f);
    auto not_int = (*r)[0].try_get<int>(2);
    REQUIRE_FALSE(not_int.ok());
    CHECK(not_int.err().value() == errc::conversion_error);
}

TEST_CASE("conformance: a statement error is reported, not fatal, and the connection stays usable",
          "[conformance]") {
    const target& t = current_target();
    event_loop loop;
    auto c = connect_ok(loop, t);
    auto r = query_now(loop, *c, t.syntax_error_sql);
    REQUIRE_FALSE(r.ok());
    const error& e = r.err();
    INFO(e.to_string());
    CHECK(e.value() == errc::server_error);
    CHECK_FALSE(e.is_fatal());
    CHECK_FALSE(e.message().empty());
    CHECK_FALSE(e.server_message().empty());
    CHECK_FALSE(c->is_broken());
    CHECK(c->is_ready());
    require_usable(loop, *c, "a statement error");

    // The same through execute().
    auto s = execute_now(loop, *c, t.syntax_error_sql);
    REQUIRE_FALSE(s.ok());
    CHECK(s.err().value() == errc::server_error);
    CHECK_FALSE(s.err().is_fatal());
    require_usable(loop, *c, "a script error");
}

TEST_CASE("conformance: wrong parameter counts are refused without breaking the connection",
          "[conformance]") {
    const target& t = current_target();
    event_loop loop;
    auto c = connect_ok(loop, t);
    auto r = query_now(loop, *c, t.echo_sql, make_params(1, 2.0));  // five expected
    REQUIRE_FALSE(r.ok());
    INFO(r.err().to_string());
    CHECK_FALSE(r.err().is_fatal());
    CHECK_FALSE(r.err().message().empty());
    require_usable(loop, *c, "a parameter count error");
}

TEST_CASE("conformance: execute() returns one result per statement", "[conformance]") {
    const target& t = current_target();
    event_loop loop;
    auto c = connect_ok(loop, t);
    auto r = execute_now(loop, *c, t.script_sql);
    INFO(describe(r));
    REQUIRE(r.ok());
    REQUIRE(r->size() == 2);
    CHECK((*r)[0].value<int>() == 1);
    CHECK((*r)[1].value<int>() == 2);
}

TEST_CASE("conformance: statements issued together complete in order, each callback once",
          "[conformance]") {
    const target& t = current_target();
    event_loop loop;
    auto c = connect_ok(loop, t);
    constexpr int n = 20;
    std::vector<int> order;
    std::vector<int> calls(n, 0);
    std::vector<std::string> errors;
    for (int i = 0; i < n; ++i) {
        c->query(
            t.echo_sql,
            make_params(std::int64_t{i}, 0.5, "t", sample_bytes(), std::optional<std::string>{}),
            [&, i](result<result_set> r) {
                ++calls[static_cast<std::size_t>(i)];
                if (!r) {
                    errors.push_back(r.err().to_string());
                    return;
                }
                order.push_back(static_cast<int>((*r)[0].get<std::int64_t>(0)));
            });
    }
    CHECK_FALSE(c->is_idle());
    run_until(
        loop, [&] { return order.size() + errors.size() == n; }, t.step_timeout,
        "20 queued statements");
    INFO((errors.empty() ? std::string() : errors.front()));
    REQUIRE(errors.empty());
    for (int i = 0; i < n; ++i) CHECK(order[static_cast<std::size_t>(i)] == i);
    run_for(loop, 20ms);
    for (int k : calls) CHECK(k == 1);
    CHECK(c->is_idle());
}

TEST_CASE("conformance: callbacks never run inline from the call that started them",
          "[conformance]") {
    const target& t = current_target();
    event_loop loop;
    auto c = connect_ok(loop, t);
    // Each operation's callback checks a flag set right after the call returns.
    int inline_calls = 0;
    int completed = 0;
    auto check = [&](bool& returned) {
        if (!returned) ++inline_calls;
        ++completed;
    };
    bool r1 = false, r2 = false, r3 = false, r4 = false, r5 = false;
    c->query(t.trivial_sql, [&](result<result_set>) { check(r1); });
    r1 = true;
    c->reset([&](result<void>) { check(r2); });  // fails: a statement runs; still not inline
    r2 = true;
    run_until(
        loop, [&] { return completed == 2; }, t.step_timeout, "query and reset");

    auto c2 = connect_ok(loop, t);
    c2->ping(5s, [&](result<void>) { check(r3); });
    r3 = true;
    run_until(
        loop, [&] { return completed == 3; }, t.step_timeout, "ping");
    c2->reset([&](result<void>) { check(r4); });  // idle: nothing to undo, still deferred
    r4 = true;
    run_until(
        loop, [&] { return completed == 4; }, t.step_timeout, "reset when idle");
    c2->close();
    c2->query(t.trivial_sql, [&](result<result_set>) { check(r5); });  // closed: fails at once
    r5 = true;
    run_until(
        loop, [&] { return completed == 5; }, t.step_timeout, "query on a closed connection");
    CHECK(inline_calls == 0);
}
