// Transactions against the real server: commit, rollback, a dropped
// transaction, BEGIN's options as the server applies them, savepoints, a
// COMMIT answered with ROLLBACK, real serialization failures and deadlocks
// retried, retries running out, a COMMIT whose outcome is unknown, and an
// exception thrown inside a coroutine transaction.
//
// Every interleaving of two transactions is driven step by step from the
// test (each step waits for its answer, or, for a statement that must block,
// for the server to show it waiting on a lock): no sleep decides an order.

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <uvdb/coro.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/transaction.hpp>

#include "integration/pool_pg_support.hpp"
#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

namespace {

/// A pool on the test server and a table of its own, (id int primary key, v int).
struct tx_fixture {
    explicit tx_fixture(std::size_t size = 2) {
        static std::atomic<int> counter{0};
        table = "uvdb_tx_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
        db.emplace(loop, t::pg_driver(), t::pool_test_options(size, 0));
        auto r = run("CREATE TABLE " + table + " (id int PRIMARY KEY, v int NOT NULL)");
        if (!r) t::fail_with("CREATE TABLE", r.err());
    }
    ~tx_fixture() {
        db.reset();
        (void)t::admin_exec("DROP TABLE IF EXISTS " + table);
    }
    tx_fixture(const tx_fixture&) = delete;
    tx_fixture& operator=(const tx_fixture&) = delete;

    /// A statement through the pool (any connection).
    uvdb::result<uvdb::result_set> run(const std::string& sql, uvdb::params p = {}) {
        std::optional<uvdb::result<uvdb::result_set>> got;
        db->query(sql, std::move(p),
                  [&](uvdb::result<uvdb::result_set> r) { got.emplace(std::move(r)); });
        t::run_until(
            loop, [&] { return got.has_value(); }, 30s, sql);
        return std::move(*got);
    }
    int count(const std::string& where = "true") {
        auto r = run("SELECT count(*)::int FROM " + table + " WHERE " + where);
        if (!r) t::fail_with("count", r.err());
        return r->value<int>();
    }

    uvdb::transaction begin(const uvdb::tx_options& opts = {}) {
        std::optional<uvdb::result<uvdb::transaction>> got;
        db->begin(opts, [&](uvdb::result<uvdb::transaction> r) { got.emplace(std::move(r)); });
        t::run_until(
            loop, [&] { return got.has_value(); }, 30s, "BEGIN");
        if (!*got) t::fail_with("BEGIN", got->err());
        return std::move(*got).value();
    }
    uvdb::result<uvdb::result_set> q(uvdb::tx_scope& s, const std::string& sql,
                                     uvdb::params p = {}) {
        std::optional<uvdb::result<uvdb::result_set>> got;
        s.query(uvdb::query_options{}, sql, std::move(p),
                [&](uvdb::result<uvdb::result_set> r) { got.emplace(std::move(r)); });
        t::run_until(
            loop, [&] { return got.has_value(); }, 30s, sql);
        return std::move(*got);
    }
    void must(uvdb::tx_scope& s, const std::string& sql, uvdb::params p = {}) {
        auto r = q(s, sql, std::move(p));
        if (!r) t::fail_with(sql, r.err());
    }
    std::string show(uvdb::tx_scope& s, const std::string& setting) {
        auto r = q(s, "SHOW " + setting);
        if (!r) t::fail_with("SHOW", r.err());
        return std::string((*r)[0].text(0));
    }
    uvdb::nested_transaction savepoint(uvdb::tx_scope& s) {
        std::optional<uvdb::result<uvdb::nested_transaction>> got;
        s.savepoint([&](uvdb::result<uvdb::nested_transaction> r) { got.emplace(std::move(r)); });
        t::run_until(
            loop, [&] { return got.has_value(); }, 30s, "SAVEPOINT");
        if (!*got) t::fail_with("SAVEPOINT", got->err());
        return std::move(*got).value();
    }
    template <class Scope>
    uvdb::result<void> commit(Scope& s) {
        std::optional<uvdb::result<void>> got;
        s.commit([&](uvdb::result<void> r) { got.emplace(std::move(r)); });
        t::run_until(
            loop, [&] { return got.has_value(); }, 60s, "commit");
        return std::move(*got);
    }
    template <class Scope>
    uvdb::result<void> rollback(Scope& s) {
        std::optional<uvdb::result<void>> got;
        s.rollback([&](uvdb::result<void> r) { got.emplace(std::move(r)); });
        t::run_until(
            loop, [&] { return got.has_value(); }, 30s, "rollback");
        return std::move(*got);
    }

    /// Waits until the backend `pid` waits for a lock (a condition, polled
    /// on a superuser connection; no fixed sleep).
    void wait_for_lock_wait(std::int64_t pid) {
        auto admin = t::connect_or_fail(loop, t::admin_options());
        const bool waiting = t::wait_until(
            loop,
            [&] {
                auto r = t::query_sync(loop, *admin,
                                       "SELECT coalesce(wait_event_type, '') FROM "
                                       "pg_stat_activity WHERE pid = $1",
                                       uvdb::make_params(pid));
                return r && r->size() == 1 && (*r)[0].text(0) == "Lock";
            },
            30s);
        REQUIRE(waiting);
    }
    /// Waits until the backend `pid` is running `query`.
    void wait_for_running(std::int64_t pid, const std::string& query) {
        auto admin = t::connect_or_fail(loop, t::admin_options());
        const bool running = t::wait_until(
            loop,
            [&] {
                auto r = t::query_sync(loop, *admin,
                                       "SELECT state, query FROM pg_stat_activity WHERE pid = $1",
                                       uvdb::make_params(pid));
                return r && r->size() == 1 && (*r)[0].text(0) == "active" &&
                       (*r)[0].text(1) == query;
            },
            30s);
        REQUIRE(running);
    }

    uvdb::event_loop loop;
    std::optional<uvdb::pool> db;
    std::string table;
};

/// What a callback-form retried transaction exposes to the test, so that the
/// test drives each attempt's statements itself.
struct attempt_driver {
    int runs = 0;
    uvdb::transaction* tx = nullptr;
    uvdb::pool::done_callback done;
    std::optional<uvdb::result<void>> outcome;

    uvdb::pool::tx_body body() {
        return [this](uvdb::transaction& t, uvdb::pool::done_callback d) {
            ++runs;
            tx = &t;
            done = std::move(d);
        };
    }
    auto on_done() {
        return [this](uvdb::result<void> r) { outcome.emplace(std::move(r)); };
    }
    void finish(uvdb::result<void> r) {
        tx = nullptr;
        auto d = std::move(done);
        d(std::move(r));
    }
};

std::string text(const uvdb::result<uvdb::result_set>& r) { return std::string((*r)[0].text(0)); }

}  // namespace

TEST_CASE("commit makes the writes visible; the connection goes back", "[pg][transaction]") {
    tx_fixture f;
    {
        auto tx = f.begin();
        f.must(tx, "INSERT INTO " + f.table + " VALUES (1, 10)");
        CHECK(f.db->stats().checked_out == 1);
        auto c = f.commit(tx);
        INFO((c ? "" : t::describe(c.err())));
        CHECK(c.ok());
        CHECK_FALSE(tx.active());
    }
    CHECK(f.count() == 1);
    CHECK(f.db->stats().checked_out == 0);
}

TEST_CASE("rollback undoes the writes", "[pg][transaction]") {
    tx_fixture f;
    auto tx = f.begin();
    f.must(tx, "INSERT INTO " + f.table + " VALUES (1, 10)");
    CHECK(f.rollback(tx).ok());
    CHECK(f.count() == 0);
    auto late = f.q(tx, "SELECT 1");
    REQUIRE_FALSE(late.ok());
    CHECK(late.err().value() == errc::bad_input);
}

TEST_CASE("a dropped transaction is rolled back before the connection's next user",
          "[pg][transaction]") {
    tx_fixture f(1);  // one connection: the next user gets the same one
    std::int64_t pid = 0;
    {
        auto tx = f.begin();
        pid = tx->server_pid();
        f.must(tx, "INSERT INTO " + f.table + " VALUES (1, 10)");
    }
    std::optional<uvdb::result<uvdb::lease>> got;
    f.db->acquire([&](uvdb::result<uvdb::lease> r) { got.emplace(std::move(r)); });
    t::run_until(
        f.loop, [&] { return got.has_value(); }, 30s, "acquire");
    REQUIRE(got->ok());
    uvdb::lease& l = got->value();
    CHECK(l->server_pid() == pid);
    CHECK(l->transaction_status() == uvdb::tx_status::idle);
    // SAVEPOINT outside a transaction block fails (25P01): none was left open.
    auto probe = t::query_sync(f.loop, *l, "SAVEPOINT probe");
    REQUIRE_FALSE(probe.ok());
    CHECK(probe.err().sqlstate() == "25P01");
    CHECK(t::scalar<int>(f.loop, *l, "SELECT count(*)::int FROM " + f.table) == 0);
}

TEST_CASE("BEGIN's options are what the server applies", "[pg][transaction]") {
    tx_fixture f;
    {
        auto tx = f.begin({.isolation = uvdb::isolation_level::serializable});
        CHECK(f.show(tx, "transaction_isolation") == "serializable");
        CHECK(f.show(tx, "transaction_read_only") == "off");
        CHECK(f.rollback(tx).ok());
    }
    {
        auto tx = f.begin({.isolation = uvdb::isolation_level::repeatable_read});
        CHECK(f.show(tx, "transaction_isolation") == "repeatable read");
        CHECK(f.rollback(tx).ok());
    }
    {
        auto tx = f.begin({.isolation = uvdb::isolation_level::read_committed});
        CHECK(f.show(tx, "transaction_isolation") == "read committed");
        CHECK(f.rollback(tx).ok());
    }
    {
        auto tx = f.begin({.isolation = uvdb::isolation_level::serializable,
                           .read_only = true,
                           .deferrable = true});
        CHECK(f.show(tx, "transaction_isolation") == "serializable");
        CHECK(f.show(tx, "transaction_read_only") == "on");
        CHECK(f.show(tx, "transaction_deferrable") == "on");
        auto w = f.q(tx, "INSERT INTO " + f.table + " VALUES (1, 1)");
        REQUIRE_FALSE(w.ok());
        CHECK(w.err().sqlstate() == "25006");  // read_only_sql_transaction
        // The failed transaction's COMMIT is answered with ROLLBACK: an error.
        auto c = f.commit(tx);
        REQUIRE_FALSE(c.ok());
        CHECK(c.err().value() == errc::transaction_rolled_back);
    }
    CHECK(f.count() == 0);
}

TEST_CASE("savepoints: release keeps, rollback-to undoes, nested, dropped, recovering an error",
          "[pg][transaction]") {
    tx_fixture f;
    const std::string ins = "INSERT INTO " + f.table + " VALUES ($1, 0)";
    auto tx = f.begin();
    f.must(tx, ins, uvdb::make_params(1));
    {
        auto sp = f.savepoint(tx);
        CHECK(sp.name() == "sp_1");
        f.must(sp, ins, uvdb::make_params(2));
        CHECK(f.rollback(sp).ok());  // 2 undone
    }
    {
        auto sp = f.savepoint(tx);
        f.must(sp, ins, uvdb::make_params(3));
        CHECK(f.commit(sp).ok());  // 3 kept
    }
    {
        auto outer = f.savepoint(tx);
        f.must(outer, ins, uvdb::make_params(4));
        auto inner = f.savepoint(outer);
        f.must(inner, ins, uvdb::make_params(5));
        CHECK(f.rollback(inner).ok());  // 5 undone
        CHECK(f.commit(outer).ok());    // 4 kept
    }
    {
        auto sp = f.savepoint(tx);
        f.must(sp, ins, uvdb::make_params(6));
    }  // dropped: rolled back to, queued before the next statement
    f.must(tx, ins, uvdb::make_params(7));
    {
        // A failed statement inside a savepoint: rolling back to it saves the transaction.
        auto sp = f.savepoint(tx);
        auto dup = f.q(sp, ins, uvdb::make_params(1));
        REQUIRE_FALSE(dup.ok());
        CHECK(dup.err().sqlstate() == "23505");
        CHECK(f.rollback(sp).ok());
    }
    auto c = f.commit(tx);
    INFO((c ? "" : t::describe(c.err())));
    REQUIRE(c.ok());
    auto ids = f.run("SELECT string_agg(id::text, ',' ORDER BY id) FROM " + f.table);
    REQUIRE(ids.ok());
    CHECK(text(ids) == "1,3,4,7");
}

TEST_CASE("a real serialization failure is retried to success", "[pg][transaction]") {
    tx_fixture f(3);
    const std::string sum = "SELECT coalesce(sum(v), 0)::int FROM " + f.table;
    const uvdb::tx_options serializable{.isolation = uvdb::isolation_level::serializable};
    // B reads the table first and stays open.
    auto b = f.begin(serializable);
    f.must(b, sum);

    attempt_driver a;
    f.db->transaction(serializable, a.body(),
                      uvdb::retry_policy{.max_attempts = 3, .initial_backoff = 1ms}, a.on_done());
    t::run_until(
        f.loop, [&] { return a.runs == 1 && a.tx != nullptr; }, 30s, "attempt 1");
    f.must(*a.tx, sum);                                       // A reads what B will change…
    f.must(b, "INSERT INTO " + f.table + " VALUES (2, 20)");  // …and B what A will change
    REQUIRE(f.commit(b).ok());
    // Write skew: A's write now conflicts with B, which read before it and committed.
    auto w = f.q(*a.tx, "INSERT INTO " + f.table + " VALUES (1, 10)");
    uvdb::result<void> first = w ? uvdb::result<void>{} : uvdb::result<void>(w.err());
    if (first) {
        // PostgreSQL may detect it at COMMIT instead: the loop commits next.
        a.finish({});
    } else {
        CHECK(w.err().sqlstate() == "40001");
        a.finish(std::move(w).err());
    }
    t::run_until(
        f.loop, [&] { return a.runs == 2 || a.outcome.has_value(); }, 30s, "attempt 2");
    INFO((a.outcome && !*a.outcome ? t::describe(a.outcome->err()) : ""));
    REQUIRE(a.runs == 2);  // retried after the conflict
    f.must(*a.tx, sum);
    f.must(*a.tx, "INSERT INTO " + f.table + " VALUES (1, 10)");
    a.finish({});
    t::run_until(
        f.loop, [&] { return a.outcome.has_value(); }, 30s, "commit");
    INFO((*a.outcome ? "" : t::describe(a.outcome->err())));
    CHECK(a.outcome->ok());
    CHECK(f.count() == 2);
}

TEST_CASE("a real deadlock is retried", "[pg][transaction]") {
    tx_fixture f(3);
    REQUIRE(f.run("INSERT INTO " + f.table + " VALUES (1, 0), (2, 0)").ok());
    const std::string upd = "UPDATE " + f.table + " SET v = v + 1 WHERE id = $1";

    attempt_driver a;
    f.db->transaction(a.body(), uvdb::retry_policy{.max_attempts = 3, .initial_backoff = 1ms},
                      a.on_done());
    t::run_until(
        f.loop, [&] { return a.tx != nullptr; }, 30s, "attempt 1");
    auto b = f.begin();
    f.must(*a.tx, upd, uvdb::make_params(1));  // A holds row 1
    f.must(b, upd, uvdb::make_params(2));      // B holds row 2
    // A asks for row 2 and waits first, so its deadlock check runs first and
    // it is the one PostgreSQL aborts.
    std::optional<uvdb::result<uvdb::result_set>> a_second, b_second;
    a.tx->query(upd, 2, [&](uvdb::result<uvdb::result_set> r) { a_second.emplace(std::move(r)); });
    const auto a_pid = (*a.tx)->server_pid();
    f.wait_for_lock_wait(a_pid);
    b.query(upd, 1, [&](uvdb::result<uvdb::result_set> r) { b_second.emplace(std::move(r)); });
    t::run_until(
        f.loop, [&] { return a_second.has_value(); }, 60s, "the deadlock");
    REQUIRE_FALSE(a_second->ok());
    CHECK(a_second->err().sqlstate() == "40P01");
    a.finish(a_second->err());  // dropped: its rollback frees row 1 for B
    t::run_until(
        f.loop, [&] { return b_second.has_value(); }, 30s, "B's update");
    REQUIRE(b_second->ok());
    REQUIRE(f.commit(b).ok());

    t::run_until(
        f.loop, [&] { return a.runs == 2 || a.outcome.has_value(); }, 30s, "attempt 2");
    REQUIRE(a.runs == 2);
    f.must(*a.tx, upd, uvdb::make_params(1));
    f.must(*a.tx, upd, uvdb::make_params(2));
    a.finish({});
    t::run_until(
        f.loop, [&] { return a.outcome.has_value(); }, 30s, "commit");
    INFO((*a.outcome ? "" : t::describe(a.outcome->err())));
    CHECK(a.outcome->ok());
    auto sum = f.run("SELECT sum(v)::int FROM " + f.table);
    REQUIRE(sum.ok());
    CHECK(sum->value<int>() == 4);  // B's two increments and A's two, once each
}

TEST_CASE("retries run out: the server's 40001 after max_attempts runs", "[pg][transaction]") {
    tx_fixture f;
    int runs = 0;
    std::optional<uvdb::result<void>> outcome;
    f.db->transaction(
        [&runs](uvdb::transaction& tx, uvdb::pool::done_callback done) {
            ++runs;
            tx.query("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$",
                     [done = std::move(done)](uvdb::result<uvdb::result_set> r) mutable {
                         done(r ? uvdb::result<void>{} : uvdb::result<void>(std::move(r).err()));
                     });
        },
        uvdb::retry_policy{.max_attempts = 2, .initial_backoff = 1ms},
        [&](uvdb::result<void> r) { outcome.emplace(std::move(r)); });
    t::run_until(
        f.loop, [&] { return outcome.has_value(); }, 30s, "the transaction");
    CHECK(runs == 2);
    REQUIRE_FALSE(outcome->ok());
    CHECK(outcome->err().sqlstate() == "40001");
    CHECK_THAT(outcome->err().message(), Catch::Contains("gave up after 2 of 2"));
    CHECK(f.db->stats().checked_out == 0);
}

TEST_CASE("the backend dies with COMMIT in flight: commit_unknown, never retried",
          "[pg][transaction]") {
    tx_fixture f;
    // A deferred trigger makes COMMIT run long enough to be caught in flight.
    const std::string fn = f.table + "_slow";
    REQUIRE(f.run("CREATE FUNCTION " + fn +
                  "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(60); "
                  "RETURN NULL; END $$")
                .ok());
    REQUIRE(f.run("CREATE CONSTRAINT TRIGGER " + fn + " AFTER INSERT ON " + f.table +
                  " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION " + fn + "()")
                .ok());

    attempt_driver a;
    f.db->transaction(a.body(), uvdb::retry_policy{.max_attempts = 3, .initial_backoff = 1ms},
                      a.on_done());
    t::run_until(
        f.loop, [&] { return a.tx != nullptr; }, 30s, "attempt 1");
    f.must(*a.tx, "INSERT INTO " + f.table + " VALUES (1, 1)");
    const auto pid = (*a.tx)->server_pid();
    a.finish({});  // the loop sends COMMIT
    f.wait_for_running(pid, "COMMIT");
    t::terminate_backend(f.loop, pid);
    t::run_until(
        f.loop, [&] { return a.outcome.has_value(); }, 30s, "COMMIT's outcome");
    REQUIRE_FALSE(a.outcome->ok());
    const uvdb::error& e = a.outcome->err();
    INFO(t::describe(e));
    CHECK(e.value() == errc::commit_unknown);
    CHECK_THAT(e.message(), Catch::Contains("may or may not have committed"));
    CHECK_FALSE(e.retryable());
    CHECK(a.runs == 1);
    CHECK(f.db->stats().checked_out == 0);
    (void)t::admin_exec("DROP FUNCTION IF EXISTS " + fn + " CASCADE");
    CHECK(f.count() == 0);  // here it did not commit; the client could not know
}

namespace {

uvdb::task<void> throwing_transaction(uvdb::pool& db, const std::string& table, std::string& caught,
                                      bool& finished) {
    try {
        auto r = co_await db.transaction(
            [&table](uvdb::transaction& tx) -> uvdb::task<uvdb::result<void>> {
                uvdb::result<uvdb::result_set> w =
                    co_await tx.query("INSERT INTO " + table + " VALUES (1, 1)");
                if (!w) co_return std::move(w).err();
                throw std::runtime_error("handler failed");
            });
        caught = r ? "committed" : "error: " + r.err().to_string();
    } catch (const std::runtime_error& e) {
        caught = e.what();
    }
    finished = true;
}

uvdb::task<void> value_transaction(uvdb::pool& db, const std::string& table,
                                   std::optional<uvdb::result<int>>& out) {
    out = co_await db.transaction(
        {.isolation = uvdb::isolation_level::serializable},
        [&table](uvdb::transaction& tx) -> uvdb::task<uvdb::result<int>> {
            uvdb::result<uvdb::result_set> w =
                co_await tx.query("INSERT INTO " + table + " VALUES ($1, $2) RETURNING v", 5, 50);
            if (!w) co_return std::move(w).err();
            co_return w->value<int>();
        });
}

}  // namespace

TEST_CASE(
    "co_await db.transaction: fn's value after COMMIT; an exception ends the task, "
    "rolled back, pool usable",
    "[pg][transaction][coro]") {
    tx_fixture f(1);
    std::optional<uvdb::result<int>> out;
    uvdb::spawn(value_transaction(*f.db, f.table, out));
    t::run_until(
        f.loop, [&] { return out.has_value(); }, 30s, "the transaction");
    INFO((*out ? "" : t::describe(out->err())));
    REQUIRE(out->ok());
    CHECK(**out == 50);

    std::string caught;
    bool finished = false;
    uvdb::spawn(throwing_transaction(*f.db, f.table, caught, finished));
    t::run_until(
        f.loop, [&] { return finished; }, 30s, "the throwing transaction");
    CHECK(caught == "handler failed");
    CHECK(f.count() == 1);          // only the first transaction's row
    CHECK(f.count("id = 1") == 0);  // the thrown one's insert was rolled back
    CHECK(f.db->stats().checked_out == 0);
}
