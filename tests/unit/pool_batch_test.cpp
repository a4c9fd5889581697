// pool.batch against the fake driver: what the pool sends around the
// statements in each mode (BEGIN/COMMIT, ROLLBACK, a savepoint inside a
// lease's transaction), the deadline of call_options, bad input refused
// without a connection, and a connection an error broke discarded.

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <uvdb/batch.hpp>
#include <vector>

#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;

namespace {

struct batch_got {
    int calls = 0;
    std::optional<result<batch_results>> r;
    auto callback() {
        return [this](result<batch_results> x) {
            ++calls;
            r.emplace(std::move(x));
        };
    }
};

batch three(batch_mode mode, const char* middle = "SELECT 2") {
    batch b(mode);
    b.add("SELECT 1").add(middle).add("SELECT $1::int", 3);
    return b;
}

}  // namespace

TEST_CASE("pool.batch: independent statements are sent as they are", "[unit][pool][batch]") {
    pool_harness h;
    h.make();
    auto& f = h.fake();
    batch_got got;
    h.get().batch(three(batch_mode::independent), got.callback());
    CHECK(got.calls == 0);  // never inline
    h.settle();
    REQUIRE(got.calls == 1);
    REQUIRE(got.r->has_value());
    CHECK((*got.r)->size() == 3);
    CHECK((*got.r)->ok());
    CHECK(f.sql_log == std::vector<std::string>{"SELECT 1", "SELECT 2", "SELECT $1::int"});
    CHECK(f.param_counts == std::vector<std::size_t>{0, 0, 1});
    CHECK(h.stats().checked_out == 0);
}

TEST_CASE("pool.batch: all-or-nothing runs in BEGIN … COMMIT, ROLLBACK when one fails",
          "[unit][pool][batch]") {
    pool_harness h;
    h.make();
    auto& f = h.fake();

    batch_got ok;
    h.get().batch(three(batch_mode::all_or_nothing), ok.callback());
    h.settle();
    REQUIRE(ok.r->has_value());
    CHECK(f.sql_log ==
          std::vector<std::string>{"BEGIN", "SELECT 1", "SELECT 2", "SELECT $1::int", "COMMIT"});
    // One group: BEGIN and COMMIT carry the batch's timeout like its statements.
    CHECK(f.query_timeouts == std::vector<std::chrono::milliseconds>(5, f.query_timeouts.front()));

    f.sql_log.clear();
    batch_got failed;  // the fake fails "FAIL" with a syntax error
    h.get().batch(three(batch_mode::all_or_nothing, "FAIL"), failed.callback());
    h.settle();
    REQUIRE_FALSE(failed.r->has_value());
    const error& e = failed.r->error();
    CHECK(e.sqlstate() == "42601");
    CHECK(batch_statement_index(e) == std::size_t{1});
    CHECK(e.message().find("batch statement #1 of 3 failed") == 0);
    // The group stops at the failed statement: the one after it and COMMIT
    // never run, though the fake keeps the transaction usable (as SQLite
    // does); the ROLLBACK undoes the one before it.
    CHECK(f.sql_log == std::vector<std::string>{"BEGIN", "SELECT 1", "FAIL", "ROLLBACK"});
    CHECK(h.stats().checked_out == 0);
}

TEST_CASE("lease.batch inside the lease's transaction uses a savepoint", "[unit][pool][batch]") {
    pool_harness h;
    h.make();
    auto& f = h.fake();
    lease l = h.acquire_now();
    REQUIRE(h.run(l, "BEGIN").has_value());
    f.sql_log.clear();
    batch_got failed;
    l.batch(three(batch_mode::all_or_nothing, "FAIL"), failed.callback());
    h.settle();
    REQUIRE_FALSE(failed.r->has_value());
    CHECK(f.sql_log == std::vector<std::string>{"SAVEPOINT uvdb_batch", "SELECT 1", "FAIL",
                                                "ROLLBACK TO SAVEPOINT uvdb_batch",
                                                "RELEASE SAVEPOINT uvdb_batch"});
    CHECK(l->transaction_status() == tx_status::in_transaction);

    f.sql_log.clear();
    batch_got ok;
    l.batch(three(batch_mode::all_or_nothing), ok.callback());
    h.settle();
    REQUIRE(ok.r->has_value());
    CHECK(f.sql_log.back() == "RELEASE SAVEPOINT uvdb_batch");
}

TEST_CASE("pool.batch: call_options::timeout covers the wait and the statements",
          "[unit][pool][batch]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    auto& f = h.fake();
    lease held = h.acquire_now();
    batch_got got;
    h.get().batch(call_options{std::chrono::milliseconds{100}}, three(batch_mode::independent),
                  got.callback());
    h.advance(std::chrono::milliseconds{40});
    CHECK(got.calls == 0);
    held.release();
    h.settle();
    REQUIRE(got.calls == 1);
    REQUIRE(got.r->has_value());
    CHECK(f.query_timeouts ==
          std::vector<std::chrono::milliseconds>(3, std::chrono::milliseconds{60}));
}

TEST_CASE("pool.batch: bad input is refused without a connection, never inline",
          "[unit][pool][batch]") {
    pool_harness h;
    h.make();
    batch_got empty;
    h.get().batch(batch{}, empty.callback());
    CHECK(empty.calls == 0);
    h.settle();
    REQUIRE(empty.calls == 1);
    REQUIRE_FALSE(empty.r->has_value());
    CHECK(empty.r->error().value() == errc::bad_input);
    CHECK(h.stats().acquires == 0);
    CHECK(h.fake().queries == 0);
}

TEST_CASE("pool.batch: a connection an error broke is discarded", "[unit][pool][batch]") {
    pool_harness h;
    h.make();
    auto& f = h.fake();
    f.query_fault = [](fake_connection&, std::string_view sql) -> std::optional<error> {
        if (sql == "SELECT 2") return lost_error();
        return std::nullopt;
    };
    batch_got got;
    h.get().batch(three(batch_mode::independent), got.callback());
    h.settle();
    REQUIRE(got.r->has_value());
    CHECK((**got.r)[0].has_value());
    REQUIRE_FALSE((**got.r)[1].has_value());
    CHECK((**got.r)[1].error().is_fatal());
    CHECK(h.stats().checked_out == 0);
    CHECK(f.closes == 1);
}
