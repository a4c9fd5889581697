// The pool through the test cluster's PgBouncer (transaction pooling) with
// the `pgbouncer` preset: queries, transactions, streams; leases come back
// clean (nothing keeps a server connection, no named prepared statement on
// the server); and what cannot work there is refused with the reason.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <uvdb/config.hpp>
#include <uvdb/coro.hpp>
#include <uvdb/listener.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/pool_from_config.hpp>
#include <uvdb/postgres/driver.hpp>
#include <vector>

#include "cluster/support/cluster_env.hpp"
#include "integration/support/test_env.hpp"

namespace t = uvdb::test;
using namespace std::chrono_literals;

namespace {

uvdb::config bouncer_config(const t::cluster_env& cl) {
    // The loader checks the URL with the driver of its scheme (registering twice is harmless).
    (void)uvdb::postgres::register_driver();
    uvdb::load_options lo;
    lo.text = "[database]\nurl = \"" + cl.pgbouncer_url +
              "\"\n[pool]\npreset = \"pgbouncer\"\nsize = 4\nmax_overflow = 0\ntimeout = \"10s\"\n";
    lo.env = uvdb::environment_from({});
    auto cfg = uvdb::load_config(lo);
    if (!cfg) t::fail_with("the pgbouncer preset", cfg.err());
    return std::move(cfg).value();
}

uvdb::pool bouncer_pool(uvdb::event_loop& loop, const t::cluster_env& cl) {
    auto db = uvdb::make_pool(loop, bouncer_config(cl));
    if (!db) t::fail_with("make_pool", db.err());
    return std::move(db).value();
}

/// What a step found wrong, checked after the loop returns.
struct findings {
    std::vector<std::string> problems;
    bool done = false;
    void problem(std::string p) { problems.push_back(std::move(p)); }
};

uvdb::task<void> queries_transactions_streams(uvdb::pool& db, std::string table, findings& f) {
    // Concurrent statements with parameters: unnamed, on whichever server
    // connection PgBouncer gives each transaction.
    std::vector<uvdb::task<uvdb::result<uvdb::result_set>>> many;
    for (std::int64_t i = 0; i < 100; ++i) {
        many.push_back(
            [](uvdb::pool& p, std::int64_t n) -> uvdb::task<uvdb::result<uvdb::result_set>> {
                co_return co_await uvdb::as_result(p.query("SELECT $1::int8 * 2", n));
            }(db, i));
    }
    auto all = co_await uvdb::when_all(std::move(many));
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (!all[i]) {
            f.problem("query " + std::to_string(i) + ": " + all[i].err().to_string());
        } else if (all[i]->value<std::int64_t>() != static_cast<std::int64_t>(i) * 2) {
            f.problem("query " + std::to_string(i) + " got another's row");
        }
    }

    auto made = co_await uvdb::as_result(
        db.query("CREATE TABLE " + table + " (id int8 PRIMARY KEY, v text)"));
    if (!made) f.problem("CREATE TABLE: " + made.err().to_string());

    // A transaction: SET LOCAL is allowed and holds inside it only.
    auto committed = co_await uvdb::as_result(
        db.transaction([&table](uvdb::transaction& tx) -> uvdb::task<uvdb::result<std::string>> {
            co_await tx.query("SET LOCAL statement_timeout = '7s'");
            auto shown = co_await tx.query("SHOW statement_timeout");
            co_await tx.query("INSERT INTO " + table + " VALUES ($1, $2)", 1, "one");
            co_return std::string(shown[0].text(0));
        }));
    if (!committed) {
        f.problem("transaction: " + committed.err().to_string());
    } else if (*committed != "7s") {
        f.problem("SET LOCAL inside the transaction showed " + *committed);
    }
    auto after = co_await uvdb::as_result(db.query("SHOW statement_timeout"));
    if (after && after->value<std::string>() == "7s") f.problem("SET LOCAL leaked out");

    // Rolled back: nothing of it stays.
    auto tx = co_await uvdb::as_result(db.begin());
    if (!tx) {
        f.problem("begin: " + tx.err().to_string());
    } else {
        auto ins =
            co_await uvdb::as_result(tx->query("INSERT INTO " + table + " VALUES (2, 'two')"));
        if (!ins) f.problem("insert: " + ins.err().to_string());
        auto rb = co_await uvdb::as_result(tx->rollback());
        if (!rb) f.problem("rollback: " + rb.err().to_string());
    }
    auto count = co_await uvdb::as_result(db.query("SELECT count(*)::int8 FROM " + table));
    if (!count || count->value<std::int64_t>() != 1) f.problem("not one row after the rollback");

    // A stream: unnamed statement, single-row mode, through the pooler.
    auto st = co_await uvdb::as_result(db.stream("SELECT generate_series(1, 5000)::int8"));
    if (!st) {
        f.problem("stream: " + st.err().to_string());
    } else {
        std::int64_t sum = 0;
        while (auto chunk = co_await st->next()) {
            for (const std::int64_t v : chunk->as<std::int64_t>()) sum += v;
        }
        if (sum != std::int64_t{5000} * 5001 / 2) f.problem("stream sum " + std::to_string(sum));
    }
    f.done = true;
}

/// `SHOW POOLS` on PgBouncer's admin console: the uvdb_test pool's column.
std::optional<std::int64_t> bouncer_pool_column(uvdb::event_loop& loop,
                                                const std::string& admin_url,
                                                std::string_view column) {
    uvdb::connect_options o;
    o.url = admin_url;
    auto admin = t::connect_or_fail(loop, o);
    auto r = t::execute_sync(loop, *admin, "SHOW POOLS");  // simple protocol only
    if (!r || r->empty()) return std::nullopt;
    const uvdb::result_set& rs = r->front();
    std::optional<std::size_t> db_col, col;
    for (std::size_t c = 0; c < rs.columns(); ++c) {
        if (rs.column_name(c) == "database") db_col = c;
        if (rs.column_name(c) == column) col = c;
    }
    if (!db_col || !col) return std::nullopt;
    for (std::size_t i = 0; i < rs.size(); ++i) {
        if (rs[i].text(*db_col) == "uvdb_test") return std::stoll(std::string(rs[i].text(*col)));
    }
    return std::nullopt;
}

}  // namespace

TEST_CASE("pgbouncer: pool.query, transactions and streams through PgBouncer with the preset",
          "[cluster][pgbouncer]") {
    UVDB_CLUSTER_OR_SKIP();
    uvdb::event_loop loop;
    uvdb::pool db = bouncer_pool(loop, cl);
    const std::string table = "uvdb_pgbouncer_" + std::to_string(::getpid());
    findings f;
    uvdb::spawn(queries_transactions_streams(db, table, f));
    t::run_until(
        loop, [&] { return f.done; }, 20s, "the statements through PgBouncer");
    for (const auto& p : f.problems) FAIL_CHECK(p);
    CHECK(f.problems.empty());
    const uvdb::pool_stats st = db.stats();
    CHECK(st.checked_out == 0);
    CHECK(st.total <= 4);
    auto q = t::make_query_slot();
    db.query("DROP TABLE IF EXISTS " + table, t::store_in(q));
    t::run_until(
        loop, [&] { return q->has_value(); }, 10s, "DROP TABLE");
    db.close();
}

TEST_CASE("pgbouncer: leases come back clean: no server connection kept, no named statement",
          "[cluster][pgbouncer]") {
    UVDB_CLUSTER_OR_SKIP();
    const char* admin = std::getenv("UVDB_TEST_PGBOUNCER_ADMIN_URL");
    uvdb::event_loop loop;
    uvdb::pool db = bouncer_pool(loop, cl);

    // A transaction left open on a lease: rolled back when it comes back.
    std::optional<uvdb::result<uvdb::lease>> got;
    db.acquire([&](uvdb::result<uvdb::lease> r) { got.emplace(std::move(r)); });
    t::run_until(
        loop, [&] { return got.has_value(); }, 10s, "acquire");
    REQUIRE(*got);
    {
        uvdb::lease l = std::move(**got);
        REQUIRE(t::query_sync(loop, *l, "BEGIN").ok());
        REQUIRE(t::query_sync(loop, *l, "SELECT txid_current()").ok());
        CHECK(l->transaction_status() == uvdb::tx_status::in_transaction);
    }
    t::run_until(
        loop, [&] { return db.stats().checked_out == 0 && db.stats().pending == 0; }, 10s,
        "the lease back");

    // Every pool connection at once: none is in a transaction, and no server
    // session they land on holds a prepared statement of ours.
    int answered = 0;
    std::vector<std::string> problems;
    for (int i = 0; i < 4; ++i) {
        db.query("SELECT count(*)::int8 FROM pg_prepared_statements",
                 [&](uvdb::result<uvdb::result_set> r) {
                     ++answered;
                     if (!r) {
                         problems.push_back(r.err().to_string());
                     } else if (r->value<std::int64_t>() != 0) {
                         problems.push_back("a named prepared statement on the server");
                     }
                 });
    }
    t::run_until(
        loop, [&] { return answered == 4; }, 10s, "pg_prepared_statements");
    for (const auto& p : problems) FAIL_CHECK(p);

    if (admin == nullptr) {
        WARN("UVDB_TEST_PGBOUNCER_ADMIN_URL not set: PgBouncer's own view not checked");
    } else {
        // PgBouncer's view: no server connection stays linked to one of ours.
        auto active = bouncer_pool_column(loop, admin, "sv_active");
        REQUIRE(active.has_value());
        CHECK(*active == 0);
    }
    db.close();
}

TEST_CASE("pgbouncer: session state is refused through the preset's pool, with the reason",
          "[cluster][pgbouncer]") {
    UVDB_CLUSTER_OR_SKIP();
    uvdb::event_loop loop;
    const uvdb::config cfg = bouncer_config(cl);
    uvdb::pool db = bouncer_pool(loop, cl);
    auto set = t::make_query_slot();
    auto listen = t::make_query_slot();
    auto lock = t::make_query_slot();
    auto fine = t::make_query_slot();
    db.query("SET search_path = public", t::store_in(set));
    db.query("/* jobs */ listen jobs", t::store_in(listen));
    db.query("SELECT pg_advisory_lock(4711)", t::store_in(lock));
    db.query("SELECT pg_advisory_xact_lock(4711)", t::store_in(fine));
    t::run_until(
        loop,
        [&] {
            return set->has_value() && listen->has_value() && lock->has_value() &&
                   fine->has_value();
        },
        10s, "the statements");
    REQUIRE_FALSE(**set);
    CHECK((*set)->err().value() == uvdb::errc::bad_input);
    CHECK(t::contains((*set)->err().message(), "SET LOCAL"));
    REQUIRE_FALSE(**listen);
    CHECK(t::contains((*listen)->err().message(), "LISTEN refused"));
    REQUIRE_FALSE(**lock);
    CHECK(t::contains((*lock)->err().message(), "pg_advisory_xact_lock"));
    CHECK(**fine);
    // The listener refuses the preset: LISTEN through PgBouncer cannot work.
    auto l = uvdb::listener::create(loop, cfg);
    REQUIRE_FALSE(l.ok());
    CHECK(l.err().value() == uvdb::errc::bad_config);
    CHECK(db.stats().checked_out == 0);
    db.close();
}

TEST_CASE("pgbouncer: pipelined statements through transaction pooling come back in order",
          "[cluster][pgbouncer][pipeline]") {
    UVDB_CLUSTER_OR_SKIP();
    // Each pipelined statement is a transaction of its own (its Sync group),
    // so PgBouncer may give each a different server connection; the answers
    // must still arrive in order, the failing one alone failing, the timed
    // ones carrying their statement_timeout to the server they ran on.
    uvdb::event_loop loop;
    uvdb::connect_options o;
    o.url = cl.pgbouncer_url;
    o.extra["statement_cache_size"] = "0";
    std::vector<std::unique_ptr<uvdb::connection>> conns;
    for (int c = 0; c < 3; ++c) conns.push_back(t::connect_or_fail(loop, o));
    std::vector<std::vector<t::query_slot>> slots(conns.size());
    for (int i = 0; i < 100; ++i) {
        for (std::size_t c = 0; c < conns.size(); ++c) {
            auto s = t::make_query_slot();
            uvdb::query_options qo;
            if (i % 10 == 5) qo.timeout = 2s;
            const char* sql = i == 50 ? "SELECT 1 / ($1::int - $1::int)" : "SELECT $1::int";
            conns[c]->query(sql, uvdb::make_params(i), qo, t::store_in(s));
            slots[c].push_back(std::move(s));
        }
    }
    t::run_until(
        loop,
        [&] {
            for (const auto& per : slots) {
                for (const auto& s : per) {
                    if (!s->has_value()) return false;
                }
            }
            return true;
        },
        20s, "every pipelined statement through PgBouncer");
    for (std::size_t c = 0; c < conns.size(); ++c) {
        for (int i = 0; i < 100; ++i) {
            INFO("connection " << c << ", statement " << i);
            const auto& r = **slots[c][static_cast<std::size_t>(i)];
            if (i == 50) {
                REQUIRE_FALSE(r.ok());
                CHECK(r.err().sqlstate() == "22012");
            } else {
                if (!r) t::fail_with("statement", r.err());
                CHECK(r->value<int>() == i);
            }
        }
        CHECK_FALSE(conns[c]->is_broken());
    }
}
