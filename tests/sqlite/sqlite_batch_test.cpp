// Batches on SQLite, where the statements simply run one after another:
// both modes keep what they promise. SQLite keeps a transaction usable after
// a failed statement (PostgreSQL aborts it), so all-or-nothing must not
// commit the statements around a failed one.

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <uvdb/batch.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/transaction.hpp>

#include "sqlite_test_util.hpp"

using uvdb::errc;
namespace st = uvdb::sqlite_test;

namespace {

struct sqlite_pool {
    st::temp_dir dir;
    uvdb::event_loop loop;
    std::optional<uvdb::pool> db;

    sqlite_pool() {
        uvdb::pool_options o;
        o.connection.url = dir.url("batch.db");
        o.size = 1;
        o.max_overflow = 0;
        db.emplace(loop, st::sqlite_driver(), o);
        REQUIRE(run("CREATE TABLE t (id INTEGER PRIMARY KEY)").has_value());
    }

    uvdb::result<uvdb::result_set> run(const std::string& sql) {
        st::slot<uvdb::result_set> s;
        db->query(sql, uvdb::params{}, s.sink());
        REQUIRE(st::wait_until(
            loop, [&] { return s.done(); }, st::step_timeout));
        return std::move(s.get());
    }
    uvdb::result<uvdb::batch_results> batch(uvdb::batch b) {
        st::slot<uvdb::batch_results> s;
        db->batch(std::move(b), s.sink());
        REQUIRE(st::wait_until(
            loop, [&] { return s.done(); }, st::step_timeout));
        return std::move(s.get());
    }
    std::string ids() {
        auto r =
            run("SELECT coalesce(group_concat(id, ','), '') FROM (SELECT id FROM t ORDER BY id)");
        REQUIRE(r.has_value());
        return r->value<std::string>();
    }
};

const char* const insert = "INSERT INTO t VALUES ($1)";

}  // namespace

TEST_CASE("sqlite batch: independent statements each keep their own outcome", "[sqlite][batch]") {
    sqlite_pool p;
    uvdb::batch b;
    b.add(insert, 1).add(insert, 1).add(insert, 2).add("SELECT CAST($1 AS INTEGER) + 1", 41);
    auto r = p.batch(std::move(b));
    REQUIRE(r.has_value());
    REQUIRE(r->size() == 4);
    CHECK((*r)[0].has_value());
    CHECK_FALSE((*r)[1].has_value());
    CHECK((*r)[2].has_value());
    REQUIRE((*r)[3].has_value());
    CHECK((*r)[3]->value<int>() == 42);
    CHECK(p.ids() == "1,2");
}

TEST_CASE("sqlite batch: all-or-nothing keeps nothing when a statement fails", "[sqlite][batch]") {
    sqlite_pool p;
    uvdb::batch b(uvdb::batch_mode::all_or_nothing);
    b.add(insert, 1).add(insert, 1).add(insert, 2);
    auto r = p.batch(std::move(b));
    REQUIRE_FALSE(r.has_value());
    CHECK(uvdb::batch_statement_index(r.error()) == std::size_t{1});
    CHECK(p.ids().empty());  // 1 and 2 ran, and were rolled back

    uvdb::batch ok(uvdb::batch_mode::all_or_nothing);
    ok.add(insert, 3).add(insert, 4);
    auto r2 = p.batch(std::move(ok));
    REQUIRE(r2.has_value());
    CHECK(p.ids() == "3,4");

    auto empty = p.batch(uvdb::batch(uvdb::batch_mode::all_or_nothing));
    REQUIRE_FALSE(empty.has_value());
    CHECK(empty.error().value() == errc::bad_input);
}

TEST_CASE("sqlite batch: all-or-nothing inside a transaction undoes only itself",
          "[sqlite][batch]") {
    sqlite_pool p;
    st::slot<uvdb::transaction> begun;
    p.db->begin({}, begun.sink());
    REQUIRE(st::wait_until(
        p.loop, [&] { return begun.done(); }, st::step_timeout));
    REQUIRE(begun.get().has_value());
    uvdb::transaction tx = std::move(begun.get()).value();

    uvdb::batch b(uvdb::batch_mode::all_or_nothing);
    b.add(insert, 5).add(insert, 5);
    st::slot<uvdb::batch_results> r;
    tx.batch(std::move(b), r.sink());
    REQUIRE(st::wait_until(
        p.loop, [&] { return r.done(); }, st::step_timeout));
    REQUIRE_FALSE(r.get().has_value());

    uvdb::batch ok(uvdb::batch_mode::all_or_nothing);
    ok.add(insert, 6);
    st::slot<uvdb::batch_results> r2;
    tx.batch(std::move(ok), r2.sink());
    REQUIRE(st::wait_until(
        p.loop, [&] { return r2.done(); }, st::step_timeout));
    REQUIRE(r2.get().has_value());

    st::slot<void> committed;
    tx.commit(committed.sink());
    REQUIRE(st::wait_until(
        p.loop, [&] { return committed.done(); }, st::step_timeout));
    REQUIRE(committed.get().has_value());
    CHECK(p.ids() == "6");
}
