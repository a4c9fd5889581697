// Batches against the real server: results in order and typed, an error in
// the middle in each mode and what is kept, all-or-nothing inside a
// transaction and inside a lease's own BEGIN, 1,000 statements in one batch,
// bad input refused before anything is sent, and a batch on a connection
// whose backend was terminated.

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <uvdb/batch.hpp>
#include <uvdb/coro.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/transaction.hpp>

#include "integration/pool_pg_support.hpp"
#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

namespace {

/// A pool on the test server and a table of its own, (id int primary key).
struct batch_fixture {
    explicit batch_fixture(std::size_t size = 2) {
        static std::atomic<int> counter{0};
        table = "uvdb_batch_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
        db.emplace(loop, t::pg_driver(), t::pool_test_options(size, 0));
        auto r = run("CREATE TABLE " + table + " (id int PRIMARY KEY)");
        if (!r) t::fail_with("CREATE TABLE", r.err());
    }
    ~batch_fixture() {
        db.reset();
        (void)t::admin_exec("DROP TABLE IF EXISTS " + table);
    }
    batch_fixture(const batch_fixture&) = delete;
    batch_fixture& operator=(const batch_fixture&) = delete;

    uvdb::result<uvdb::result_set> run(const std::string& sql) {
        std::optional<uvdb::result<uvdb::result_set>> got;
        db->query(sql, uvdb::params{},
                  [&](uvdb::result<uvdb::result_set> r) { got.emplace(std::move(r)); });
        t::run_until(
            loop, [&] { return got.has_value(); }, 30s, sql);
        return std::move(*got);
    }
    /// The ids in the table, in order, as "1,2,3".
    std::string ids() {
        auto r = run("SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM " + table);
        if (!r) t::fail_with("ids", r.err());
        return r->value<std::string>();
    }
    std::string insert() const { return "INSERT INTO " + table + " VALUES ($1)"; }

    /// Runs a task to its end on the loop.
    void run_task(uvdb::task<void> task) {
        bool done = false;
        uvdb::spawn(std::move(task), [&](std::exception_ptr) { done = true; });
        t::run_until(
            loop, [&] { return done; }, 60s, "the task");
    }

    uvdb::result<uvdb::batch_results> on_pool(uvdb::batch b) {
        std::optional<uvdb::result<uvdb::batch_results>> got;
        db->batch(std::move(b),
                  [&](uvdb::result<uvdb::batch_results> r) { got.emplace(std::move(r)); });
        t::run_until(
            loop, [&] { return got.has_value(); }, 60s, "the batch");
        return std::move(*got);
    }

    uvdb::event_loop loop;
    std::string table;
    std::optional<uvdb::pool> db;
};

}  // namespace

TEST_CASE("batch: results in order and typed, awaited on the pool", "[pg][batch]") {
    batch_fixture f;
    std::optional<uvdb::result<uvdb::batch_results>> got;
    f.run_task([](uvdb::pool& db, auto& out) -> uvdb::task<void> {
        uvdb::batch b;
        b.add("SELECT $1::int", 1);
        b.add("SELECT $1::text || $2::text", "a", std::string("b"));
        b.add("SELECT $1::int + $2::int", uvdb::make_params(40, 2));
        b.add("SELECT generate_series(1, 3)");
        out.emplace(co_await db.batch(std::move(b)));
    }(*f.db, got));
    REQUIRE(got.has_value());
    REQUIRE(got->has_value());
    uvdb::batch_results& r = **got;
    REQUIRE(r.size() == 4);
    CHECK(r.ok());
    CHECK((*r[0]).value<int>() == 1);
    CHECK((*r[1]).value<std::string>() == "ab");
    CHECK((*r[2]).value<int>() == 42);
    CHECK(r[3]->size() == 3);
    CHECK(f.db->stats().checked_out == 0);
}

TEST_CASE("batch: independent, an error in the middle touches no other statement", "[pg][batch]") {
    batch_fixture f;
    uvdb::batch b(uvdb::batch_mode::independent);
    b.add(f.insert(), 1).add(f.insert(), 1).add(f.insert(), 2).add("SELECT 1/0").add(f.insert(), 3);
    auto r = f.on_pool(std::move(b));
    REQUIRE(r.has_value());
    REQUIRE(r->size() == 5);
    CHECK((*r)[0].has_value());
    REQUIRE_FALSE((*r)[1].has_value());
    CHECK((*r)[1].error().sqlstate() == "23505");
    CHECK((*r)[2].has_value());
    REQUIRE_FALSE((*r)[3].has_value());
    CHECK((*r)[3].error().sqlstate() == "22012");
    CHECK((*r)[4].has_value());
    CHECK(r->first_failed() == std::size_t{1});
    CHECK(f.ids() == "1,2,3");  // each succeeding statement was kept
    CHECK(f.db->stats().checked_out == 0);
}

TEST_CASE("batch: all-or-nothing, an error in the middle keeps nothing and names the statement",
          "[pg][batch]") {
    batch_fixture f;
    uvdb::batch b(uvdb::batch_mode::all_or_nothing);
    b.add(f.insert(), 1).add(f.insert(), 2).add(f.insert(), 1).add(f.insert(), 3);
    auto r = f.on_pool(std::move(b));
    REQUIRE_FALSE(r.has_value());
    INFO(t::describe(r.error()));
    CHECK(r.error().value() == errc::server_error);
    CHECK(r.error().sqlstate() == "23505");  // the first failing statement's, not 25P02
    CHECK(uvdb::batch_statement_index(r.error()) == std::size_t{2});
    CHECK(f.ids().empty());
    CHECK(f.db->stats().checked_out == 0);

    // A successful one commits everything, and the connection is clean.
    uvdb::batch ok(uvdb::batch_mode::all_or_nothing);
    ok.add(f.insert(), 1).add(f.insert(), 2).add("SELECT count(*)::int FROM " + f.table);
    auto r2 = f.on_pool(std::move(ok));
    REQUIRE(r2.has_value());
    CHECK((*r2)[2]->value<int>() == 2);  // statements see the ones before them
    CHECK(f.ids() == "1,2");
    CHECK_FALSE(uvdb::batch_statement_index(uvdb::error(errc::server_error, "x")).has_value());
}

TEST_CASE("batch: inside a transaction, all-or-nothing undoes only itself", "[pg][batch]") {
    batch_fixture f;
    std::string trace;
    f.run_task([](batch_fixture& fx, std::string& out) -> uvdb::task<void> {
        auto tx = co_await fx.db->begin();
        if (!tx) co_return;
        (void)co_await tx->query(fx.insert(), 10);
        uvdb::batch failing(uvdb::batch_mode::all_or_nothing);
        failing.add(fx.insert(), 20).add(fx.insert(), 10).add(fx.insert(), 30);
        auto r = co_await tx->batch(std::move(failing));
        out += r ? "ok;"
                 : "failed at " + std::to_string(*uvdb::batch_statement_index(r.error())) + " " +
                       std::string(r.error().sqlstate()) + ";";
        // The transaction goes on: the savepoint took the batch's writes back.
        auto after = co_await tx->query(fx.insert(), 11);
        out += after ? "insert ok;" : "insert failed;";
        uvdb::batch good(uvdb::batch_mode::all_or_nothing);
        good.add(fx.insert(), 12).add(fx.insert(), 13);
        auto g = co_await tx->batch(std::move(good));
        out += g ? "batch ok;" : "batch failed;";
        auto c = co_await tx->commit();
        out += c ? "committed" : "commit failed";
    }(f, trace));
    CHECK(trace == "failed at 1 23505;insert ok;batch ok;committed");
    CHECK(f.ids() == "10,11,12,13");
    CHECK(f.db->stats().checked_out == 0);
}

TEST_CASE("batch: inside a transaction, an independent error aborts the transaction",
          "[pg][batch]") {
    // PostgreSQL's rule: an error inside a transaction block aborts it, so
    // the statements after it fail with 25P02 and COMMIT answers ROLLBACK.
    batch_fixture f;
    std::string trace;
    f.run_task([](batch_fixture& fx, std::string& out) -> uvdb::task<void> {
        auto tx = co_await fx.db->begin();
        if (!tx) co_return;
        uvdb::batch b;
        b.add(fx.insert(), 1).add("SELECT 1/0").add(fx.insert(), 2);
        auto r = co_await tx->batch(std::move(b));
        if (!r) co_return;
        for (const auto& one : *r) out += one ? "ok;" : std::string(one.error().sqlstate()) + ";";
        auto c = co_await tx->commit();
        out += c ? "committed" : std::string(uvdb::to_string(c.error().value()));
    }(f, trace));
    CHECK(trace == "ok;22012;25P02;transaction_rolled_back");
    CHECK(f.ids().empty());
}

TEST_CASE("batch: on a lease inside its own BEGIN, all-or-nothing uses a savepoint",
          "[pg][batch]") {
    batch_fixture f;
    std::string trace;
    f.run_task([](batch_fixture& fx, std::string& out) -> uvdb::task<void> {
        auto l = co_await fx.db->acquire();
        if (!l) co_return;
        (void)co_await l->query("BEGIN");
        (void)co_await l->query(fx.insert(), 5);
        uvdb::batch b(uvdb::batch_mode::all_or_nothing);
        b.add(fx.insert(), 6).add("SELECT 1/0");
        auto r = co_await l->batch(std::move(b));
        out += r ? "ok;" : std::to_string(*uvdb::batch_statement_index(r.error())) + ";";
        out += (*l)->transaction_status() == uvdb::tx_status::in_transaction ? "still in tx;"
                                                                             : "tx gone;";
        auto c = co_await l->query("COMMIT");
        out += c && c->command_tag() == "COMMIT" ? "committed" : "not committed";
    }(f, trace));
    CHECK(trace == "1;still in tx;committed");
    CHECK(f.ids() == "5");
}

TEST_CASE("batch: 1,000 statements in one batch, results in order", "[pg][batch]") {
    batch_fixture f;
    for (const auto mode : {uvdb::batch_mode::independent, uvdb::batch_mode::all_or_nothing}) {
        uvdb::batch b(mode);
        b.reserve(1000);
        for (int i = 0; i < 1000; ++i) b.add("SELECT $1::int", i);
        auto r = f.on_pool(std::move(b));
        REQUIRE(r.has_value());
        REQUIRE(r->size() == 1000);
        int in_order = 0;
        for (int i = 0; i < 1000; ++i) {
            const auto& one = (*r)[static_cast<std::size_t>(i)];
            if (one && one->value<int>() == i) ++in_order;
        }
        CHECK(in_order == 1000);
    }
    CHECK(f.db->stats().checked_out == 0);
}

TEST_CASE("batch: bad input is refused before anything is sent", "[pg][batch]") {
    batch_fixture f;
    const auto acquires = f.db->stats().acquires;

    auto empty = f.on_pool(uvdb::batch{});
    REQUIRE_FALSE(empty.has_value());
    CHECK(empty.error().value() == errc::bad_input);
    CHECK(t::contains(empty.error().message(), "empty batch"));

    uvdb::batch too_many(uvdb::batch_mode::all_or_nothing);
    for (std::size_t i = 0; i <= uvdb::batch::max_statements; ++i) {
        too_many.add(f.insert(), static_cast<int>(i));
    }
    CHECK(too_many.size() == uvdb::batch::max_statements);
    auto r = f.on_pool(std::move(too_many));
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().value() == errc::bad_input);
    CHECK(t::contains(r.error().message(), "at most 10000 statements"));

    uvdb::params many;
    many.reserve(uvdb::batch::max_params + 1);
    for (std::size_t i = 0; i <= uvdb::batch::max_params; ++i) many.emplace_back(1);
    uvdb::batch wide;
    wide.add("SELECT 1").add("SELECT $1::int", std::move(many));
    auto w = f.on_pool(std::move(wide));
    REQUIRE_FALSE(w.has_value());
    CHECK(w.error().value() == errc::bad_input);
    CHECK(t::contains(w.error().message(), "#1 has 65536 parameters"));

    CHECK(f.db->stats().acquires == acquires);  // no connection was taken
    CHECK(f.ids().empty());
}

TEST_CASE("batch: a connection whose backend was terminated fails every statement", "[pg][batch]") {
    batch_fixture f(1);
    for (const auto mode : {uvdb::batch_mode::independent, uvdb::batch_mode::all_or_nothing}) {
        std::optional<uvdb::result<uvdb::lease>> l;
        f.db->acquire([&](uvdb::result<uvdb::lease> r) { l.emplace(std::move(r)); });
        t::run_until(
            f.loop, [&] { return l.has_value(); }, 30s, "acquire");
        REQUIRE(l->has_value());
        t::terminate_backend(f.loop, (**l)->server_pid());

        uvdb::batch b(mode);
        b.add(f.insert(), 1).add(f.insert(), 2).add(f.insert(), 3);
        std::optional<uvdb::result<uvdb::batch_results>> got;
        (*l)->batch(std::move(b),
                    [&](uvdb::result<uvdb::batch_results> r) { got.emplace(std::move(r)); });
        t::run_until(
            f.loop, [&] { return got.has_value(); }, 30s, "the batch");
        if (mode == uvdb::batch_mode::independent) {
            REQUIRE(got->has_value());
            for (const auto& one : **got) {
                REQUIRE_FALSE(one.has_value());
                CHECK(one.error().is_fatal());
            }
        } else {
            REQUIRE_FALSE(got->has_value());
            CHECK(got->error().is_fatal());
        }
        (*l)->invalidate();
    }
    CHECK(f.ids().empty());  // and the pool recovered with a new connection
    CHECK(f.db->stats().checked_out == 0);
}
