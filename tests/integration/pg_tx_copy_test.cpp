// COPY and streams inside a pool transaction (transaction.hpp: tx.copy_in,
// tx.copy_out, tx.stream) against a real PostgreSQL: rollback undoes a COPY,
// commit keeps it, commit is refused while a writer or stream is open, a
// stream in a READ ONLY transaction, a bad row aborts the transaction, and a
// transaction dropped with a stream open gives its connection back only
// after the stream is done.

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
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

void exec(const std::string& script) {
    uvdb::event_loop own;
    auto c = t::connect_or_fail(own, t::test_options());
    auto r = t::execute_sync(own, *c, script);
    INFO(script);
    REQUIRE(r.ok());
}

template <class Body>
void run_task(uvdb::event_loop& loop, Body body, std::chrono::milliseconds limit = 30s) {
    bool done = false;
    uvdb::spawn(body(), [&](std::exception_ptr) { done = true; });
    t::run_until(
        loop, [&] { return done; }, limit, "the task");
}

/// count(*) of `table` through the pool (outside any transaction).
uvdb::task<std::int64_t> count_rows(uvdb::pool& db, const std::string& table) {
    auto r = co_await db.query("SELECT count(*)::int8 FROM " + table);
    co_return r ? r->value<std::int64_t>() : -1;
}

}  // namespace

TEST_CASE("tx copy in: rollback leaves nothing, commit keeps the rows", "[pg][copy][tx]") {
    uvdb::event_loop loop;
    const std::string table = "tx_copy_in";
    exec("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table + " (i int)");
    uvdb::pool db(loop, t::pg_driver(), t::pool_test_options(1, 0));
    std::optional<uvdb::result<std::uint64_t>> rolled_rows;
    std::optional<uvdb::result<std::uint64_t>> kept_rows;
    std::optional<uvdb::result<void>> commit_while_open;
    std::optional<uvdb::result<void>> committed;
    std::int64_t inside = -1;
    std::int64_t after_rollback = -1;
    std::int64_t after_commit = -1;
    run_task(loop, [&]() -> uvdb::task<void> {
        {
            auto tx = co_await db.begin();
            if (!tx) co_return;
            auto w = co_await tx->copy_in("COPY " + table + " FROM STDIN");
            if (!w) {
                rolled_rows.emplace(w.err());
                co_return;
            }
            (void)co_await w->write("1\n2\n");
            (void)co_await w->write("3\n");
            rolled_rows.emplace(co_await w->finish());
            auto c = co_await tx->query("SELECT count(*)::int8 FROM " + table);
            if (c) inside = c->value<std::int64_t>();
            (void)co_await tx->rollback();
        }
        after_rollback = co_await count_rows(db, table);
        {
            auto tx = co_await db.begin();
            if (!tx) co_return;
            auto w = co_await tx->copy_in(uvdb::query_options{5s},
                                          "COPY " + table + " FROM STDIN WITH (FORMAT csv)");
            if (!w) {
                kept_rows.emplace(w.err());
                co_return;
            }
            (void)co_await w->write("10\n20\n30\n40\n");
            // The writer is open: COMMIT is refused, the transaction stays open.
            commit_while_open.emplace(co_await tx->commit());
            kept_rows.emplace(co_await w->finish());
            committed.emplace(co_await tx->commit());
        }
        after_commit = co_await count_rows(db, table);
    });
    REQUIRE(rolled_rows);
    REQUIRE(rolled_rows->ok());
    CHECK(**rolled_rows == 3);
    CHECK(inside == 3);
    CHECK(after_rollback == 0);
    REQUIRE(commit_while_open);
    REQUIRE_FALSE(commit_while_open->ok());
    CHECK(commit_while_open->error().value() == errc::bad_input);
    CHECK_THAT(commit_while_open->error().message(), Catch::Contains("still open"));
    REQUIRE(kept_rows);
    REQUIRE(kept_rows->ok());
    CHECK(**kept_rows == 4);
    REQUIRE(committed);
    CHECK(committed->ok());
    CHECK(after_commit == 4);
    exec("DROP TABLE " + table);
}

TEST_CASE("tx copy in: callback forms", "[pg][copy][tx]") {
    uvdb::event_loop loop;
    const std::string table = "tx_copy_in_cb";
    exec("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table + " (i int, s text)");
    uvdb::pool db(loop, t::pg_driver(), t::pool_test_options(1, 0));
    std::optional<uvdb::transaction> tx;
    std::optional<uvdb::copy_writer> writer;
    std::optional<uvdb::result<std::uint64_t>> rows;
    std::optional<uvdb::result<void>> committed;
    db.begin(uvdb::tx_options{}, [&](uvdb::result<uvdb::transaction> r) {
        REQUIRE(r.ok());
        tx.emplace(std::move(*r));
        tx->copy_in("COPY " + table + " FROM STDIN WITH (FORMAT csv)",
                    [&](uvdb::result<uvdb::copy_writer> w) {
                        REQUIRE(w.ok());
                        writer.emplace(std::move(*w));
                        writer->write("1,\"a,b\"\n2,c\n", [&](uvdb::result<void> wr) {
                            REQUIRE(wr.ok());
                            writer->finish([&](uvdb::result<std::uint64_t> n) {
                                rows.emplace(std::move(n));
                                tx->commit([&](uvdb::result<void> c) { committed.emplace(c); });
                            });
                        });
                    });
    });
    t::run_until(
        loop, [&] { return committed.has_value(); }, 30s, "the commit");
    REQUIRE(rows);
    REQUIRE(rows->ok());
    CHECK(**rows == 2);
    CHECK(committed->ok());
    std::int64_t n = -1;
    run_task(loop, [&]() -> uvdb::task<void> { n = co_await count_rows(db, table); });
    CHECK(n == 2);
    exec("DROP TABLE " + table);
}

TEST_CASE("tx stream: rows and COPY TO STDOUT inside a READ ONLY transaction", "[pg][stream][tx]") {
    uvdb::event_loop loop;
    uvdb::pool db(loop, t::pg_driver(), t::pool_test_options(1, 0));
    std::uint64_t streamed = 0;
    std::int64_t sum = 0;
    std::string copied;
    std::optional<uvdb::result<void>> commit_while_open;
    std::optional<uvdb::result<void>> write_refused;
    std::optional<uvdb::result<void>> committed;
    bool stream_clean = false;
    run_task(loop, [&]() -> uvdb::task<void> {
        auto tx = co_await db.begin({.read_only = true});
        if (!tx) co_return;
        uvdb::stream_options so;
        so.chunk_rows = 7;
        {
            auto s = tx->stream(so, "SELECT i FROM generate_series(1, $1::int) i", 100);
            while (auto chunk = co_await s.next()) {
                for (auto i : chunk->as<std::int64_t>()) sum += i;
                streamed += chunk->size();
            }
            stream_clean = s.error() == nullptr && s.done();
        }
        {
            auto c = tx->copy_out("COPY (SELECT i FROM generate_series(1, 3) i) TO STDOUT");
            auto first = co_await c.next();
            if (first) copied += *first;
            // Not read to its end yet: COMMIT waits for no one, it refuses.
            commit_while_open.emplace(co_await tx->commit());
            while (auto chunk = co_await c.next()) copied += *chunk;
        }
        auto w = co_await tx->query("CREATE TABLE tx_ro_never (i int)");
        write_refused.emplace(w ? uvdb::result<void>{} : uvdb::result<void>(w.err()));
        committed.emplace(co_await tx->commit());
    });
    CHECK(stream_clean);
    CHECK(streamed == 100);
    CHECK(sum == 5050);
    CHECK(copied == "1\n2\n3\n");
    REQUIRE(commit_while_open);
    REQUIRE_FALSE(commit_while_open->ok());
    CHECK(commit_while_open->error().value() == errc::bad_input);
    REQUIRE(write_refused);
    REQUIRE_FALSE(write_refused->ok());
    CHECK(write_refused->error().sqlstate() == "25006");  // read-only transaction
    REQUIRE(committed);
    // The failed CREATE aborted the transaction: COMMIT says so.
    REQUIRE_FALSE(committed->ok());
    CHECK(committed->error().value() == errc::transaction_rolled_back);
}

TEST_CASE("tx copy in: a bad row aborts the transaction and says so", "[pg][copy][tx]") {
    uvdb::event_loop loop;
    const std::string table = "tx_copy_bad";
    exec("DROP TABLE IF EXISTS " + table + "; CREATE TABLE " + table + " (i int)");
    uvdb::pool db(loop, t::pg_driver(), t::pool_test_options(1, 0));
    std::optional<uvdb::result<std::uint64_t>> finished;
    std::optional<uvdb::error> next_statement;
    std::optional<uvdb::result<void>> committed;
    std::int64_t after = -1;
    run_task(loop, [&]() -> uvdb::task<void> {
        {
            auto tx = co_await db.begin();
            if (!tx) co_return;
            (void)co_await tx->query("INSERT INTO " + table + " VALUES (100)");
            auto w = co_await tx->copy_in("COPY " + table + " FROM STDIN");
            if (!w) co_return;
            (void)co_await w->write("1\n2\nthree\n4\n");
            finished.emplace(co_await w->finish());
            auto q = co_await tx->query("SELECT 1");
            if (!q) next_statement = q.err();
            committed.emplace(co_await tx->commit());
        }
        after = co_await count_rows(db, table);
    });
    REQUIRE(finished);
    REQUIRE_FALSE(finished->ok());
    CHECK(finished->error().value() == errc::server_error);
    CHECK(finished->error().sqlstate() == "22P02");
    CHECK_THAT(finished->error().message(), Catch::Contains("line 3"));
    REQUIRE(next_statement);
    CHECK(next_statement->sqlstate() == "25P02");  // in failed sql transaction
    REQUIRE(committed);
    REQUIRE_FALSE(committed->ok());
    CHECK(committed->error().value() == errc::transaction_rolled_back);
    CHECK(after == 0);  // the INSERT before the COPY went too
    exec("DROP TABLE " + table);
}

TEST_CASE("tx stream: a transaction dropped with its stream open, and refusals after the end",
          "[pg][stream][tx]") {
    uvdb::event_loop loop;
    uvdb::pool db(loop, t::pg_driver(), t::pool_test_options(1, 0));
    std::optional<uvdb::row_stream> kept;
    std::size_t first_chunk = 0;
    std::uint64_t rest = 0;
    bool rest_clean = false;
    std::optional<uvdb::error> after_end;
    std::optional<uvdb::error> stream_after_end;
    std::optional<uvdb::error> copy_in_after_end;
    std::int64_t next_user = -1;
    run_task(loop, [&]() -> uvdb::task<void> {
        {
            auto tx = co_await db.begin();
            if (!tx) co_return;
            uvdb::stream_options so;
            so.chunk_rows = 10;
            kept.emplace(tx->stream(so, "SELECT i FROM generate_series(1, 50) i"));
            auto first = co_await kept->next();
            if (first) first_chunk = first->size();
        }  // the transaction is dropped here: its stream still reads
        while (auto chunk = co_await kept->next()) rest += chunk->size();
        rest_clean = kept->error() == nullptr;
        kept.reset();
        // The one connection came back (rolled back) once the stream was done.
        auto r = co_await db.query("SELECT 7::int8");
        if (r) next_user = r->value<std::int64_t>();

        auto tx = co_await db.begin();
        if (!tx) co_return;
        (void)co_await tx->commit();
        auto again = co_await tx->commit();
        if (!again) after_end = again.err();
        auto s = tx->stream("SELECT 1");
        auto step = co_await s.next();
        if (!step && !step.has_value()) stream_after_end = step.error();
        auto w = co_await tx->copy_in("COPY x FROM STDIN");
        if (!w) copy_in_after_end = w.err();
    });
    CHECK(first_chunk == 10);
    CHECK(rest == 40);
    CHECK(rest_clean);
    CHECK(next_user == 7);
    REQUIRE(after_end);
    CHECK(after_end->value() == errc::bad_input);
    REQUIRE(stream_after_end);
    CHECK(stream_after_end->value() == errc::bad_input);
    CHECK_THAT(stream_after_end->message(), Catch::Contains("committed"));
    REQUIRE(copy_in_after_end);
    CHECK(copy_in_after_end->value() == errc::bad_input);
}
