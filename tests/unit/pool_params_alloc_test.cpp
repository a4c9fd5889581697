// Binding does not allocate: building the usual statement's parameters and
// handing them to pool.query on the fake driver allocate nothing once the
// pool is warm. Counts are of the calling thread's heap allocations (see
// support/alloc_counter.hpp); nothing here measures time.

#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <uvdb/param.hpp>
#include <uvdb/pool.hpp>

#include "unit/support/alloc_counter.hpp"
#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;

namespace {

// 40 bytes, not NUL-terminated where the view ends.
constexpr std::string_view forty = "0123456789012345678901234567890123456789-and-more";

params usual(int i, const std::string& s, std::optional<int> o) {
    return make_params(i, std::int64_t{i} << 33, 0.5 * i, i % 2 == 0, s, forty.substr(0, 40), o);
}

}  // namespace

TEST_CASE("building params from the usual values allocates nothing", "[unit][params][alloc]") {
    const std::string short_text = "short";  // fits std::string's own buffer: made outside
    const std::optional<int> some = 3;
    std::size_t allocations = 0;
    std::optional<params> kept;
    {
        alloc_scope scope;
        params a =
            make_params(1, std::int64_t{2}, 2.5, true, short_text, forty.substr(0, 40), some);
        params b(7, std::int64_t{-7}, -0.25, false, "short", forty.substr(0, 40),
                 std::optional<int>{});
        params c;
        c.push_back(1);
        c.emplace_back(short_text);
        c.push_back(std::nullopt);
        params moved(std::move(a));
        b = std::move(moved);
        params copied = b;  // fits the budget: a plain copy
        kept.emplace(std::move(copied));
        allocations = scope.count();
    }
    CHECK(allocations == 0);
    REQUIRE(kept->size() == 7);
    const params& p = *kept;
    CHECK(p[0].as_int() == 1);
    CHECK(p[1].as_int() == 2);
    CHECK(p[2].as_double() == 2.5);
    CHECK(p[3].as_bool());
    CHECK(p[4].as_text() == "short");
    CHECK(p[5].as_text() == forty.substr(0, 40));
    CHECK(p[5].text_c_str()[40] == '\0');
    CHECK(p[6].as_int() == 3);
    CHECK_FALSE(p.spilled());
}

TEST_CASE("the alloc counter sees an allocation", "[unit][params][alloc]") {
    // Without this a broken counter would make the tests above pass. Past
    // the byte budget the bytes move to the heap: one allocation.
    const std::string long_text(300, 'x');
    std::size_t allocations = 0;
    {
        alloc_scope scope;
        params big(std::string_view(forty), long_text);
        allocations = scope.count();
    }
    CHECK(allocations == 1);
}

TEST_CASE("pool.query with the usual parameters allocates nothing in steady state",
          "[unit][params][alloc][pool]") {
    pool_harness h;
    pool& db = h.make(test_pool_options(2, 0));
    h.fake().record_sql = false;  // the fake's own log would allocate
    h.fake().record_params = true;
    const std::string s = "name";
    int done = 0;
    int failed = 0;
    auto cb = [&done, &failed](result<result_set> r) {
        ++done;
        if (!r) ++failed;
    };
    // Warm-up: connections open, operation records and the fake's queues
    // reach their sizes.
    for (int i = 0; i < 20; ++i) {
        db.query("SELECT $1", usual(i, s, i), cb);
        h.settle();
    }
    REQUIRE(done == 20);

    std::size_t allocations = 0;
    const int rounds = 200;
    for (int i = 0; i < rounds; ++i) {
        {
            alloc_scope scope;
            db.query("SELECT $1",
                     make_params(i, std::int64_t{i} << 33, 0.5 * i, i % 2 == 0, s,
                                 forty.substr(0, 40), std::optional<int>(i)),
                     cb);
            allocations += scope.count();
        }
        h.settle();  // the fake completes with a result set, which allocates: not counted
    }
    CHECK(allocations == 0);
    CHECK(done == 20 + rounds);
    CHECK(failed == 0);
    CHECK(h.fake().params_bound == 7 * (20 + rounds));
    CHECK(h.fake().last_params == usual(rounds - 1, s, rounds - 1));
}

TEST_CASE("pool.query carries spilled parameters whole, waiting for a connection too",
          "[unit][params][pool]") {
    pool_harness h;
    pool& db = h.make(test_pool_options(1, 0));
    h.fake().record_params = true;
    params big;
    std::size_t text_bytes = 0;
    for (int i = 0; i < 100; ++i) {
        std::string t(10 * 1024, static_cast<char>('A' + i % 26));
        text_bytes += t.size();
        big.push_back(std::move(t));
    }
    big.push_back(bytes("\x01\x02\x03", 3));
    REQUIRE(big.spilled());
    const params expected = big;

    // The only connection is busy, so the statement waits in the pool's
    // queue with its parameters (moved in and out again).
    lease held = h.acquire_now();
    auto q = std::make_shared<query_probe>();
    db.query("SELECT many", std::move(big), [q](result<result_set> r) {
        ++q->calls;
        q->got.emplace(std::move(r));
    });
    h.settle();
    CHECK(q->calls == 0);
    held.release();
    h.settle();
    REQUIRE(q->calls == 1);
    CHECK(q->ok());
    CHECK(h.fake().params_bound == 101);
    CHECK(h.fake().param_bytes_read == text_bytes + 3);
    CHECK(h.fake().param_byte_sum == 6);
    CHECK(h.fake().last_params == expected);
}
