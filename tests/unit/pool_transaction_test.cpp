// Transactions against the fake driver and the manual clock: the BEGIN text
// of each option set, the state a transaction and its savepoints go
// through, what COMMIT's outcome becomes, and the retry loop's decisions and
// back-off, step by step and without sleeping.

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <uvdb/coro.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/transaction.hpp>
#include <vector>

#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;
using namespace std::chrono_literals;

namespace {

template <class T>
struct probe {
    int calls = 0;
    std::optional<result<T>> got;
    auto callback() {
        return [this](result<T> r) {
            ++calls;
            got.emplace(std::move(r));
        };
    }
    bool ok() const { return got && got->ok(); }
    errc code() const { return got->err().value(); }
};

std::size_t count_sql(const fake_state& st, std::string_view sql) {
    std::size_t n = 0;
    for (const auto& s : st.sql_log) n += s == sql ? 1 : 0;
    return n;
}

std::size_t count_prefix(const fake_state& st, std::string_view prefix) {
    std::size_t n = 0;
    for (const auto& s : st.sql_log) n += s.rfind(prefix, 0) == 0 ? 1 : 0;
    return n;
}

error conflict(const char* sqlstate) {
    return error(errc::server_error, "could not serialize access (fake)").with_sqlstate(sqlstate);
}

/// Opens a transaction and settles; fails the test when BEGIN fails.
uvdb::transaction begin_now(pool_harness& h, const tx_options& opts = {}) {
    probe<uvdb::transaction> b;
    h.get().begin(opts, b.callback());
    h.settle();
    REQUIRE(b.ok());
    return std::move(*b.got).value();
}

}  // namespace

TEST_CASE("BEGIN carries every option in one statement", "[unit][transaction]") {
    CHECK(begin_statement({}) == "BEGIN");
    CHECK(begin_statement({.isolation = isolation_level::read_committed}) ==
          "BEGIN ISOLATION LEVEL READ COMMITTED");
    CHECK(begin_statement({.isolation = isolation_level::repeatable_read}) ==
          "BEGIN ISOLATION LEVEL REPEATABLE READ");
    CHECK(
        begin_statement(
            {.isolation = isolation_level::serializable, .read_only = true, .deferrable = true}) ==
        "BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY, DEFERRABLE");
    CHECK(begin_statement({.read_only = true}) == "BEGIN READ ONLY");
    CHECK(begin_statement({.deferrable = true}) == "BEGIN DEFERRABLE");
}

TEST_CASE("only serialization failures and deadlocks count as conflicts", "[unit][transaction]") {
    CHECK(is_transaction_conflict(conflict("40001")));
    CHECK(is_transaction_conflict(conflict("40P01")));
    CHECK_FALSE(is_transaction_conflict(conflict("23505")));
    CHECK_FALSE(is_transaction_conflict(error(errc::connection_lost, "lost")));
    error unknown(errc::commit_unknown, "lost during COMMIT");
    unknown.with_sqlstate("40001");  // whatever it carries, never run again
    CHECK_FALSE(is_transaction_conflict(unknown));
}

TEST_CASE("back-off doubles from initial_backoff, stops at max_backoff, jitters in [base/2, base]",
          "[unit][transaction]") {
    retry_policy p{.max_attempts = 10, .initial_backoff = 10ms, .max_backoff = 50ms};
    CHECK(retry_backoff(p, 1, 0.0) == 5ms);
    CHECK(retry_backoff(p, 1, 0.999) == 9ms);
    CHECK(retry_backoff(p, 1, 1.0) == 10ms);
    CHECK(retry_backoff(p, 2, 1.0) == 20ms);
    CHECK(retry_backoff(p, 3, 1.0) == 40ms);
    CHECK(retry_backoff(p, 4, 1.0) == 50ms);  // capped
    CHECK(retry_backoff(p, 4, 0.0) == 25ms);
    CHECK(retry_backoff(p, 4'000'000'000U, 1.0) == 50ms);  // no overflow
    CHECK(retry_backoff(retry_policy{}, 1, 1.0) == retry_policy{}.initial_backoff);
}

TEST_CASE("begin, statements, commit: one lease, BEGIN with options, COMMIT, connection back",
          "[unit][transaction]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    auto tx = begin_now(h, {.isolation = isolation_level::serializable, .read_only = true});
    CHECK(tx.active());
    CHECK(h.stats().checked_out == 1);
    probe<result_set> q;
    tx.query("SELECT $1::int", 7, q.callback());
    probe<void> c;
    tx.commit(c.callback());
    CHECK_FALSE(tx.active());  // ending at once: nothing else may be queued
    CHECK(c.calls == 0);       // never inline
    h.settle();
    CHECK(q.ok());
    REQUIRE(c.ok());
    CHECK(h.fake().sql_log ==
          std::vector<std::string>{"BEGIN ISOLATION LEVEL SERIALIZABLE, READ ONLY",
                                   "SELECT $1::int", "COMMIT"});
    CHECK(h.stats().checked_out == 0);
    CHECK(h.stats().idle == 1);
    CHECK(h.fake().resets == 0);  // committed: nothing to roll back
}

TEST_CASE("a transaction used after it ended refuses with bad_input, from the loop",
          "[unit][transaction]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    auto tx = begin_now(h);
    probe<void> r;
    tx.rollback(r.callback());
    h.settle();
    REQUIRE(r.ok());
    CHECK(h.fake().sql_log.back() == "ROLLBACK");
    const auto sent = h.fake().sql_log.size();

    probe<result_set> q;
    tx.query("SELECT 1", q.callback());
    probe<void> c;
    tx.commit(c.callback());
    CHECK(q.calls == 0);
    CHECK(c.calls == 0);
    h.settle();
    REQUIRE(q.got);
    CHECK(q.code() == errc::bad_input);
    CHECK_THAT(q.got->err().message(), Catch::Contains("already rolled back"));
    REQUIRE(c.got);
    CHECK(c.code() == errc::bad_input);
    CHECK(h.fake().sql_log.size() == sent);  // nothing reached the connection

    uvdb::transaction empty;
    probe<result_set> e;
    empty.query("SELECT 1", e.callback());
    REQUIRE(e.got);
    CHECK(e.code() == errc::bad_input);
}

TEST_CASE("a transaction dropped uncommitted is rolled back by the reset on return",
          "[unit][transaction]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    {
        auto tx = begin_now(h);
        probe<result_set> q;
        tx.query("INSERT 1", q.callback());
        h.settle();
        CHECK(q.ok());
    }
    h.settle();
    CHECK(h.fake().resets == 1);
    CHECK(count_sql(h.fake(), "COMMIT") == 0);
    lease next = h.acquire_now();
    CHECK(next->transaction_status() == tx_status::idle);
}

TEST_CASE("savepoints: named sp_N, released on commit, rolled back to and released on rollback",
          "[unit][transaction]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    auto tx = begin_now(h);

    probe<nested_transaction> s1;
    tx.savepoint(s1.callback());
    h.settle();
    REQUIRE(s1.ok());
    nested_transaction sp1 = std::move(*s1.got).value();
    CHECK(sp1.name() == "sp_1");

    probe<nested_transaction> s2;
    sp1.savepoint(s2.callback());  // nested
    h.settle();
    REQUIRE(s2.ok());
    nested_transaction sp2 = std::move(*s2.got).value();
    CHECK(sp2.name() == "sp_2");

    probe<void> rb;
    sp2.rollback(rb.callback());
    h.settle();
    CHECK(rb.ok());
    CHECK(h.fake().sql_log.back() == "ROLLBACK TO SAVEPOINT sp_2; RELEASE SAVEPOINT sp_2");
    CHECK_FALSE(sp2.active());
    CHECK(sp1.active());

    probe<void> rel;
    sp1.commit(rel.callback());
    h.settle();
    CHECK(rel.ok());
    CHECK(h.fake().sql_log.back() == "RELEASE SAVEPOINT sp_1");

    probe<result_set> late;
    sp1.query("SELECT 1", late.callback());
    h.settle();
    REQUIRE(late.got);
    CHECK(late.code() == errc::bad_input);
    CHECK_THAT(late.got->err().message(), Catch::Contains("sp_1"));

    probe<void> c;
    tx.commit(c.callback());
    h.settle();
    CHECK(c.ok());
}

TEST_CASE("releasing an outer savepoint ends the ones inside it", "[unit][transaction]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    auto tx = begin_now(h);
    probe<nested_transaction> a, b;
    tx.savepoint(a.callback());
    tx.savepoint(b.callback());  // queued behind the first: nested in it
    h.settle();
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    nested_transaction outer = std::move(*a.got).value();
    nested_transaction inner = std::move(*b.got).value();
    probe<void> rel;
    outer.commit(rel.callback());
    CHECK_FALSE(inner.active());
    h.settle();
    CHECK(rel.ok());
    const auto sent = h.fake().sql_log.size();
    { nested_transaction gone = std::move(inner); }  // dropping an ended savepoint sends nothing
    h.settle();
    CHECK(h.fake().sql_log.size() == sent);
}

TEST_CASE("a savepoint dropped while active queues its rollback before the next statement",
          "[unit][transaction]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    auto tx = begin_now(h);
    {
        probe<nested_transaction> s;
        tx.savepoint(s.callback());
        h.settle();
        REQUIRE(s.ok());
        nested_transaction sp = std::move(*s.got).value();
        probe<result_set> q;
        sp.query("INSERT 1", q.callback());
        h.settle();
    }  // dropped: no round trip to await
    probe<result_set> after;
    tx.query("SELECT 2", after.callback());
    h.settle();
    CHECK(after.ok());
    const auto& log = h.fake().sql_log;
    REQUIRE(log.size() >= 2);
    CHECK(log[log.size() - 2] == "ROLLBACK TO SAVEPOINT sp_1; RELEASE SAVEPOINT sp_1");
    CHECK(log.back() == "SELECT 2");
    CHECK(tx.active());
}

TEST_CASE("a savepoint that outlives its transaction sends nothing", "[unit][transaction]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    std::optional<nested_transaction> sp;
    {
        auto tx = begin_now(h);
        probe<nested_transaction> s;
        tx.savepoint(s.callback());
        h.settle();
        REQUIRE(s.ok());
        sp.emplace(std::move(*s.got).value());
    }
    h.settle();
    const auto sent = h.fake().sql_log.size();
    probe<result_set> q;
    sp->query("SELECT 1", q.callback());
    sp.reset();
    h.settle();
    REQUIRE(q.got);
    CHECK(q.code() == errc::bad_input);
    CHECK(h.fake().sql_log.size() == sent);
}

TEST_CASE("COMMIT answered with ROLLBACK is an error", "[unit][transaction]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    auto tx = begin_now(h);
    probe<result_set> q;
    tx.query("FAIL", q.callback());  // the transaction is now failed
    probe<void> c;
    tx.commit(c.callback());
    h.settle();
    REQUIRE(c.got);
    CHECK(c.code() == errc::transaction_rolled_back);
    CHECK(h.stats().idle == 1);  // the connection is fine
}

TEST_CASE("connection lost during COMMIT: commit_unknown, connection discarded, not retried",
          "[unit][transaction]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    h.fake().query_fault = [](fake_connection& c, std::string_view sql) -> std::optional<error> {
        if (sql == "COMMIT") {
            c.kill();
            return lost_error();
        }
        return std::nullopt;
    };
    probe<void> done;
    h.get().transaction([](uvdb::transaction&, pool::done_callback d) { d({}); }, retry_policy{},
                        done.callback());
    h.settle();
    REQUIRE(done.got);
    const error& e = done.got->err();
    CHECK(e.value() == errc::commit_unknown);
    CHECK_THAT(e.message(), Catch::Contains("may or may not have committed"));
    CHECK(e.sqlstate() == "57P01");
    CHECK(e.is_fatal());
    CHECK_FALSE(e.retryable());
    CHECK(count_prefix(h.fake(), "BEGIN") == 1);
    CHECK(h.stats().checked_out == 0);
}

TEST_CASE("COMMIT on a connection already broken: connection_lost, certainly not committed",
          "[unit][transaction]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    auto tx = begin_now(h);
    h.fake().live.front()->kill();
    probe<result_set> q;
    tx.query("SELECT 1", q.callback());
    h.settle();
    REQUIRE(q.got);
    probe<void> c;
    tx.commit(c.callback());
    h.settle();
    REQUIRE(c.got);
    CHECK(c.code() == errc::connection_lost);
    CHECK(count_sql(h.fake(), "COMMIT") == 0);
}

TEST_CASE("a conflict is retried after a jittered back-off on the pool's clock",
          "[unit][transaction]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    int failures_left = 1;
    const char* state = GENERATE("40001", "40P01");
    const bool at_commit = GENERATE(false, true);
    INFO(state << (at_commit ? " at COMMIT" : " in the body"));
    h.fake().query_fault = [&, state](fake_connection&,
                                      std::string_view sql) -> std::optional<error> {
        const std::string_view target = at_commit ? "COMMIT" : "UPDATE";
        if (sql == target && failures_left > 0) {
            --failures_left;
            return conflict(state);
        }
        return std::nullopt;
    };
    int runs = 0;
    probe<void> done;
    h.get().transaction(
        {.isolation = isolation_level::serializable},
        [&runs](uvdb::transaction& tx, pool::done_callback d) {
            ++runs;
            tx.query("UPDATE", [d = std::move(d)](result<result_set> r) mutable {
                if (!r) return d(std::move(r).err());
                d({});
            });
        },
        retry_policy{.max_attempts = 3, .initial_backoff = 10ms, .max_backoff = 100ms},
        done.callback());
    h.settle();
    CHECK(runs == 1);
    CHECK_FALSE(done.got);
    CHECK(h.fake().resets == 1);  // the failed attempt was rolled back on return
    h.advance(4ms);               // the pause is at least initial_backoff / 2
    CHECK(runs == 1);
    h.advance(6ms);  // and at most initial_backoff
    CHECK(runs == 2);
    REQUIRE(done.got);
    CHECK(done.ok());
    CHECK(count_prefix(h.fake(), "BEGIN ISOLATION LEVEL SERIALIZABLE") == 2);
    CHECK(count_sql(h.fake(), "COMMIT") == (at_commit ? 2U : 1U));
}

TEST_CASE("retries run out: the error says how many attempts ran", "[unit][transaction]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    h.fake().query_fault = [](fake_connection&, std::string_view sql) -> std::optional<error> {
        if (sql == "UPDATE") return conflict("40001");
        return std::nullopt;
    };
    int runs = 0;
    probe<void> done;
    h.get().transaction(
        [&runs](uvdb::transaction& tx, pool::done_callback d) {
            ++runs;
            tx.query("UPDATE", [d = std::move(d)](result<result_set> r) mutable {
                d(r ? result<void>{} : result<void>(std::move(r).err()));
            });
        },
        retry_policy{.max_attempts = 3, .initial_backoff = 10ms, .max_backoff = 15ms},
        done.callback());
    h.advance(10ms);
    CHECK(runs == 2);
    h.advance(15ms);
    CHECK(runs == 3);
    REQUIRE(done.got);
    const error& e = done.got->err();
    CHECK(e.sqlstate() == "40001");
    CHECK_THAT(e.message(), Catch::Contains("gave up after 3 of 3"));
    h.advance(1000ms);
    CHECK(runs == 3);
    CHECK(h.stats().checked_out == 0);
}

TEST_CASE("other errors are never retried", "[unit][transaction]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    int runs = 0;
    probe<void> done;
    h.get().transaction(
        [&runs](uvdb::transaction& tx, pool::done_callback d) {
            ++runs;
            tx.query("FAIL", [d = std::move(d)](result<result_set> r) mutable {
                d(r ? result<void>{} : result<void>(std::move(r).err()));
            });
        },
        retry_policy{}, done.callback());
    h.advance(1000ms);
    CHECK(runs == 1);
    REQUIRE(done.got);
    CHECK(done.got->err().sqlstate() == "42601");
    CHECK(count_sql(h.fake(), "COMMIT") == 0);
    CHECK(h.fake().resets == 1);
}

namespace {

task<void> run_retried(pool& db, std::optional<result<int>>& out, int& runs) {
    out = co_await db.transaction(
        [&runs](uvdb::transaction& tx) -> task<result<int>> {
            ++runs;
            co_await tx.query("UPDATE", runs);  // an error ends fn with it
            auto sp = co_await tx.savepoint();
            co_await sp.commit();
            co_return 40 + runs;
        },
        retry_policy{.max_attempts = 2, .initial_backoff = 10ms, .max_backoff = 10ms});
}

task<void> run_throwing(pool& db, std::string& caught) {
    try {
        auto r = co_await db.transaction([](uvdb::transaction& tx) -> task<result<void>> {
            co_await tx.query("INSERT 1");
            throw std::runtime_error("boom");
        });
        caught = r ? "no exception, committed" : "no exception: " + r.err().to_string();
    } catch (const std::runtime_error& e) {
        caught = e.what();
    }
}

}  // namespace

TEST_CASE("co_await db.transaction(fn, retry): fn's value after COMMIT, fn run again on conflict",
          "[unit][transaction][coro]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    bool failed_once = false;
    h.fake().query_fault = [&](fake_connection&, std::string_view sql) -> std::optional<error> {
        if (sql == "COMMIT" && !failed_once) {
            failed_once = true;
            return conflict("40001");
        }
        return std::nullopt;
    };
    std::optional<result<int>> out;
    int runs = 0;
    spawn(run_retried(h.get(), out, runs));
    h.advance(10ms);
    REQUIRE(out);
    REQUIRE(out->ok());
    CHECK(**out == 42);
    CHECK(runs == 2);
    CHECK(count_sql(h.fake(), "RELEASE SAVEPOINT sp_1") == 2);  // names restart per transaction
}

namespace {

// One transaction with two scoped savepoints: the first body succeeds, the
// second fails on its statement; the transaction commits what is left.
task<void> run_scoped_savepoints(pool& db, std::optional<result<int>>& first,
                                 std::optional<result<void>>& second,
                                 std::optional<result<void>>& committed) {
    auto tx = co_await as_result(db.begin());
    if (!tx) co_return;
    first = co_await tx->savepoint([](nested_transaction& sp) -> task<result<int>> {
        co_await sp.query("INSERT kept");
        co_return 7;
    });
    second = co_await tx->savepoint([](nested_transaction& sp) -> task<result<void>> {
        co_await sp.query("INSERT refused");  // fails: ends the body with the error
        co_return ok();
    });
    committed = co_await tx->commit();
}

}  // namespace

TEST_CASE("savepoint(fn) releases when fn succeeds and rolls back to itself when it fails",
          "[unit][transaction][coro]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    h.fake().query_fault = [](fake_connection&, std::string_view sql) -> std::optional<error> {
        if (sql == "INSERT refused") return error(errc::server_error, "refused (fake)");
        return std::nullopt;
    };
    std::optional<result<int>> first;
    std::optional<result<void>> second;
    std::optional<result<void>> committed;
    spawn(run_scoped_savepoints(h.get(), first, second, committed));
    h.settle();
    REQUIRE(first);
    REQUIRE(first->has_value());
    CHECK(first->value() == 7);
    REQUIRE(second);
    REQUIRE_FALSE(second->has_value());
    CHECK(second->error().message() == "refused (fake)");
    REQUIRE(committed);
    CHECK(committed->has_value());
    const auto& log = h.fake().sql_log;
    const std::vector<std::string> tail(log.end() - 7, log.end());
    CHECK(tail ==
          std::vector<std::string>{"SAVEPOINT sp_1", "INSERT kept", "RELEASE SAVEPOINT sp_1",
                                   "SAVEPOINT sp_2", "INSERT refused",
                                   "ROLLBACK TO SAVEPOINT sp_2; RELEASE SAVEPOINT sp_2", "COMMIT"});
}

TEST_CASE("an exception thrown by fn rolls back, is not retried and reaches the awaiting task",
          "[unit][transaction][coro]") {
    pool_harness h;
    h.make(test_pool_options(1, 0));
    std::string caught;
    spawn(run_throwing(h.get(), caught));
    h.advance(1000ms);
    CHECK(caught == "boom");
    CHECK(count_sql(h.fake(), "COMMIT") == 0);
    CHECK(count_sql(h.fake(), "INSERT 1") == 1);
    CHECK(h.fake().resets == 1);
    // The pool is still usable.
    auto q = h.query("SELECT 1");
    h.settle();
    CHECK(q->ok());
}
