// uvdb::pending_completion: one of the three callback kinds, answered at most
// once, failed with an error whatever its kind.
#include <catch2/catch.hpp>
#include <optional>
#include <uvdb/pending_completion.hpp>
#include <vector>

using namespace uvdb;

TEST_CASE("pending_completion fails each kind of callback with the error", "[unit][driver_sdk]") {
    const error e(errc::closed, "closed");
    std::optional<errc> q, s, d;
    pending_completion pq(
        connection::query_callback([&](result<result_set> r) { q = r.err().value(); }));
    pending_completion ps(connection::script_callback(
        [&](result<std::vector<result_set>> r) { s = r.err().value(); }));
    pending_completion pd(connection::done_callback([&](result<void> r) { d = r.err().value(); }));
    CHECK(pq.which() == pending_completion::kind::query);
    CHECK(ps.which() == pending_completion::kind::script);
    CHECK(pd.which() == pending_completion::kind::done);
    pq.fail(e);
    ps.fail(e);
    pd.fail(e);
    CHECK(q == errc::closed);
    CHECK(s == errc::closed);
    CHECK(d == errc::closed);
}

TEST_CASE("pending_completion answers once: the callback is gone after it ran",
          "[unit][driver_sdk]") {
    int calls = 0;
    pending_completion p(connection::query_callback([&](result<result_set> r) {
        CHECK(r);
        ++calls;
    }));
    REQUIRE(p);
    p.complete(result<result_set>(result_set()));
    CHECK_FALSE(p);
    CHECK(p.which() == pending_completion::kind::none);
    p.complete(result<result_set>(result_set()));
    p.fail(error(errc::closed, "late"));
    CHECK(calls == 1);
}

TEST_CASE("pending_completion: an empty one ignores answers", "[unit][driver_sdk]") {
    pending_completion none;
    CHECK_FALSE(none);
    none.fail(error(errc::closed, "nobody listens"));
    none.complete(result<void>());
    pending_completion empty_cb{connection::done_callback()};
    CHECK_FALSE(empty_cb);
    empty_cb.complete(result<void>());
}

TEST_CASE("pending_completion: the callback may destroy its holder while it runs",
          "[unit][driver_sdk]") {
    // A driver's queue entry holds the completion; the callback may issue a
    // new statement that reuses or frees that entry.
    std::vector<pending_completion> queue;
    bool ran = false;
    queue.emplace_back(connection::done_callback([&](result<void>) {
        queue.clear();
        ran = true;
    }));
    queue.front().complete(result<void>());
    CHECK(ran);
    CHECK(queue.empty());
}

TEST_CASE("pending_completion moves with its callback", "[unit][driver_sdk]") {
    bool ran = false;
    pending_completion a(connection::done_callback([&](result<void>) { ran = true; }));
    pending_completion b = std::move(a);
    REQUIRE(b);
    b.complete(result<void>());
    CHECK(ran);
}
