// pool_options::transaction_pooler (the pgbouncer preset): what the pool
// refuses or warns about because it cannot work behind a transaction pooler,
// read from the statement's text (transaction_pooler_guard.hpp), and that
// nothing is inspected with the option off. Fake driver, no server.

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <uvdb/listener.hpp>
#include <uvdb/pool.hpp>
#include <vector>

#include "transaction_pooler_guard.hpp"  // pool/src
#include "unit/config_test_util.hpp"
#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;
using Catch::Matchers::Contains;
using uvdb::detail::inspect_for_transaction_pooler;
using uvdb::detail::session_use;

namespace {

session_use refused(std::string_view sql, bool in_tx = false) {
    const auto f = inspect_for_transaction_pooler(sql, in_tx);
    return f.refuse ? f.use : session_use::none;
}

session_use warned(std::string_view sql, bool in_tx) {
    const auto f = inspect_for_transaction_pooler(sql, in_tx);
    return f.refuse ? session_use::none : f.use;
}

pool_options pooler_options() {
    auto o = test_pool_options(1, 0);
    o.transaction_pooler = true;
    return o;
}

/// Runs `sql` through the lease's statement path (lease.query: the gate).
result<result_set> gate_query(pool_harness& h, lease& l, std::string_view sql) {
    std::optional<result<result_set>> got;
    l.query(sql, [&](result<result_set> r) { got.emplace(std::move(r)); });
    CHECK_FALSE(got.has_value());  // never inline
    h.settle();
    REQUIRE(got.has_value());
    return std::move(*got);
}

result<std::vector<result_set>> gate_execute(pool_harness& h, lease& l, std::string_view sql) {
    std::optional<result<std::vector<result_set>>> got;
    l.execute(sql, [&](result<std::vector<result_set>> r) { got.emplace(std::move(r)); });
    h.settle();
    REQUIRE(got.has_value());
    return std::move(*got);
}

}  // namespace

TEST_CASE("transaction pooler: LISTEN and session SET are refused, in a transaction too",
          "[unit][pool][pgbouncer]") {
    for (bool in_tx : {false, true}) {
        CHECK(refused("LISTEN jobs", in_tx) == session_use::listen);
        CHECK(refused("listen \"Jobs\"", in_tx) == session_use::listen);
        CHECK(refused("SET search_path = app", in_tx) == session_use::session_set);
        CHECK(refused("set TIME ZONE 'UTC'", in_tx) == session_use::session_set);
        CHECK(refused("SET SESSION statement_timeout = 0", in_tx) == session_use::session_set);
        CHECK(refused("SET ROLE admin", in_tx) == session_use::session_set);
        CHECK(refused("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", in_tx) ==
              session_use::session_set);
        // Allowed: what ends with the transaction, and what leaves nothing behind.
        CHECK(refused("SET LOCAL statement_timeout = '5s'", in_tx) == session_use::none);
        CHECK(refused("set local search_path = app", in_tx) == session_use::none);
        CHECK(refused("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", in_tx) == session_use::none);
        CHECK(refused("SET CONSTRAINTS ALL DEFERRED", in_tx) == session_use::none);
        CHECK(refused("UNLISTEN *", in_tx) == session_use::none);
        CHECK(refused("NOTIFY jobs, 'x'", in_tx) == session_use::none);
        CHECK(refused("RESET search_path", in_tx) == session_use::none);
        CHECK(refused("SELECT pg_notify('jobs', 'x')", in_tx) == session_use::none);
        CHECK(refused("SELECT pg_advisory_xact_lock(1)", in_tx) == session_use::none);
        CHECK(refused("SELECT pg_try_advisory_xact_lock_shared(1)", in_tx) == session_use::none);
        CHECK(refused("SELECT pg_advisory_unlock(1)", in_tx) == session_use::none);
    }
    // A SET inside BEGIN…COMMIT survives the COMMIT: refused in a script too.
    CHECK(refused("BEGIN; SET search_path = app; COMMIT") == session_use::session_set);
    CHECK(refused("BEGIN; SET LOCAL search_path = app; SELECT 1; COMMIT") == session_use::none);
}

TEST_CASE("transaction pooler: comments, white space and case before the keyword do not hide it",
          "[unit][pool][pgbouncer]") {
    CHECK(refused("  \n\t-- a comment\nLISTEN jobs") == session_use::listen);
    CHECK(refused("/* one /* nested */ comment */ SeT x = 1") == session_use::session_set);
    CHECK(refused("/* SET LOCAL */ SET x = 1") == session_use::session_set);
    CHECK(refused("SET /* LOCAL */ x = 1") == session_use::session_set);
    CHECK(refused("SET -- no\n LOCAL x = 1") == session_use::none);
    CHECK(refused("SELECT 1; -- and then\n  listen jobs") == session_use::listen);
    CHECK(refused("SELECT 1;;;PREPARE s AS SELECT 1") == session_use::prepared);
    // Not a statement's first word: not the keyword.
    CHECK(refused("SELECT 'x' AS listen") == session_use::none);
    CHECK(refused("SELECT set FROM t") == session_use::none);
    CHECK(refused("SELECT * FROM settings") == session_use::none);
    CHECK(refused("SELECT 1 AS setx") == session_use::none);
    CHECK(refused("UPDATE t SET x = 1") == session_use::none);
    CHECK(refused("INSERT INTO t VALUES (1) ON CONFLICT (id) DO UPDATE SET x = 2") ==
          session_use::none);
}

TEST_CASE("transaction pooler: literals, quoted names and dollar bodies are not read as SQL",
          "[unit][pool][pgbouncer]") {
    CHECK(refused("SELECT 'pg_advisory_lock(1)'") == session_use::none);
    CHECK(refused("SELECT 'it''s; LISTEN x'") == session_use::none);
    CHECK(refused("SELECT E'it\\'s; LISTEN x'") == session_use::none);
    CHECK(refused("SELECT \"pg_advisory_lock\" FROM t") == session_use::none);
    CHECK(refused("SELECT $$; SET x = 1; $$") == session_use::none);
    CHECK(refused("SELECT $fn$ pg_advisory_lock(1) $fn$") == session_use::none);
    CHECK(refused("SELECT $1::int; LISTEN x") == session_use::listen);
    CHECK(refused("SELECT 1 -- pg_advisory_lock(1)\n") == session_use::none);
    // After a literal, reading goes on.
    CHECK(refused("SELECT ';'; SET x = 1") == session_use::session_set);
}

TEST_CASE(
    "transaction pooler: session advisory locks and PREPARE are refused outside a "
    "transaction, warned about inside one",
    "[unit][pool][pgbouncer]") {
    for (const char* sql :
         {"SELECT pg_advisory_lock(42)", "select PG_TRY_ADVISORY_LOCK(1, 2)",
          "SELECT pg_catalog.pg_advisory_lock_shared($1)", "SELECT pg_try_advisory_lock_shared(7)",
          "SELECT x FROM t WHERE pg_try_advisory_lock(t.id)"}) {
        INFO(sql);
        CHECK(refused(sql, false) == session_use::advisory_lock);
        CHECK(refused(sql, true) == session_use::none);
        CHECK(warned(sql, true) == session_use::advisory_lock);
    }
    for (const char* sql : {"PREPARE q(int) AS SELECT $1", "EXECUTE q(1)", "DEALLOCATE q",
                            "deallocate ALL", " /* x */ Prepare q AS SELECT 1"}) {
        INFO(sql);
        CHECK(refused(sql, false) == session_use::prepared);
        CHECK(warned(sql, true) == session_use::prepared);
    }
    // A script's own transaction block counts; its end ends it.
    CHECK(warned("BEGIN; SELECT pg_advisory_lock(1); SELECT pg_advisory_unlock(1); COMMIT",
                 false) == session_use::advisory_lock);
    CHECK(refused("BEGIN; SELECT 1; COMMIT; SELECT pg_advisory_lock(1)") ==
          session_use::advisory_lock);
    CHECK(warned("START TRANSACTION; PREPARE q AS SELECT 1; EXECUTE q; DEALLOCATE q; END", false) ==
          session_use::prepared);
    CHECK(warned("SAVEPOINT a; ROLLBACK TO SAVEPOINT a; SELECT pg_advisory_lock(1)", true) ==
          session_use::advisory_lock);
    CHECK(refused("ROLLBACK; SELECT pg_advisory_lock(1)", true) == session_use::advisory_lock);
    // A refusal later in the text wins over a warning before it.
    CHECK(refused("SELECT pg_advisory_lock(1); LISTEN x", true) == session_use::listen);
    // Allowed, no warning: the transaction-level variants.
    CHECK(warned("SELECT pg_advisory_xact_lock(1)", true) == session_use::none);
    CHECK(warned("SELECT 1", true) == session_use::none);
}

TEST_CASE(
    "transaction pooler: the pool refuses with errc::bad_input and a reason, and the "
    "connection stays usable",
    "[unit][pool][pgbouncer]") {
    pool_harness h;
    h.make(pooler_options());
    lease l = h.acquire_now();
    const std::size_t before = h.fake().sql_log.size();

    auto listen = gate_query(h, l, "LISTEN jobs");
    REQUIRE_FALSE(listen.ok());
    CHECK(listen.err().value() == errc::bad_input);
    CHECK_FALSE(listen.err().is_fatal());
    CHECK_THAT(listen.err().message(), Contains("LISTEN refused") && Contains("uvdb::listener"));

    auto set = gate_query(h, l, "SET search_path = app");
    REQUIRE_FALSE(set.ok());
    CHECK(set.err().value() == errc::bad_input);
    CHECK_THAT(set.err().message(), Contains("SET LOCAL"));

    auto lock = gate_query(h, l, "SELECT pg_advisory_lock(1)");
    REQUIRE_FALSE(lock.ok());
    CHECK_THAT(lock.err().message(), Contains("pg_advisory_xact_lock"));

    auto prep = gate_execute(h, l, "PREPARE q AS SELECT 1; EXECUTE q");
    REQUIRE_FALSE(prep.ok());
    CHECK_THAT(prep.err().message(), Contains("PREPARE"));

    // None of them reached the server; the connection goes on.
    CHECK(h.fake().sql_log.size() == before);
    CHECK(gate_query(h, l, "SET LOCAL search_path = app").ok());
    CHECK(gate_query(h, l, "SELECT pg_advisory_xact_lock(1)").ok());
    CHECK(h.fake().sql_log.size() == before + 2);
    l = lease();
    h.settle();

    // pool.query takes the same path.
    auto q = h.query("  -- setup\nset time zone 'UTC'");
    h.settle();
    REQUIRE(q->got.has_value());
    REQUIRE_FALSE(q->ok());
    CHECK(q->got->err().value() == errc::bad_input);
    CHECK(q->calls == 1);
    CHECK(h.stats().checked_out == 0);  // the lease went back
    auto fine = h.query("SELECT 1");
    h.settle();
    CHECK(fine->ok());
}

TEST_CASE(
    "transaction pooler: inside a transaction, advisory locks and PREPARE warn once per "
    "pool per kind",
    "[unit][pool][pgbouncer]") {
    pool_harness h;
    h.make(pooler_options());
    lease l = h.acquire_now();
    REQUIRE(gate_query(h, l, "BEGIN").ok());
    REQUIRE(l->transaction_status() == tx_status::in_transaction);
    CHECK(gate_query(h, l, "SELECT pg_advisory_lock(1)").ok());
    CHECK(gate_query(h, l, "SELECT pg_advisory_lock(2)").ok());
    CHECK(gate_query(h, l, "PREPARE q AS SELECT 1").ok());
    CHECK(gate_query(h, l, "DEALLOCATE q").ok());
    CHECK(h.logs.count("session-level advisory lock") == 1);
    CHECK(h.logs.count("kind=prepared") == 1);
    // A session SET in the transaction is still refused: it survives COMMIT.
    CHECK_FALSE(gate_query(h, l, "SET search_path = app").ok());
    CHECK(gate_query(h, l, "COMMIT").ok());
    // Outside the transaction again: refused.
    CHECK_FALSE(gate_query(h, l, "SELECT pg_advisory_lock(1)").ok());
}

TEST_CASE("transaction pooler off (the default): nothing is inspected", "[unit][pool][pgbouncer]") {
    pool_harness h;
    auto o = test_pool_options(1, 0);
    CHECK_FALSE(o.transaction_pooler);
    h.make(o);
    lease l = h.acquire_now();
    for (const char* sql : {"LISTEN jobs", "SET search_path = app", "SELECT pg_advisory_lock(1)",
                            "PREPARE q AS SELECT 1"}) {
        INFO(sql);
        CHECK(gate_query(h, l, sql).ok());
    }
    CHECK(gate_execute(h, l, "SET x = 1; LISTEN y").ok());
    l = lease();
    h.settle();
    auto q = h.query("SET x = 1");
    h.settle();
    CHECK(q->ok());
    CHECK(h.logs.count("transaction pooler") == 0);
}

TEST_CASE("transaction pooler: the pgbouncer preset and the key turn it on",
          "[unit][pool][pgbouncer][config]") {
    auto preset = config_test::load(config_test::url_only, {{"UVDB_PRESET", "pgbouncer"}});
    REQUIRE(preset.ok());
    CHECK(preset->pool.transaction_pooler);
    CHECK(to_string(preset->origin("pool.transaction_pooler")) == "preset pgbouncer");

    auto plain = config_test::load(config_test::url_only);
    REQUIRE(plain.ok());
    CHECK_FALSE(plain->pool.transaction_pooler);

    auto toml = config_test::load(config_test::url_only + "[pool]\ntransaction_pooler = true\n");
    REQUIRE(toml.ok());
    CHECK(toml->pool.transaction_pooler);

    auto env = config_test::load(config_test::url_only, {{"DB_POOL_TRANSACTION_POOLER", "true"}});
    REQUIRE(env.ok());
    CHECK(env->pool.transaction_pooler);

    // The listener refuses a pool made for a transaction pooler, preset or not.
    event_loop loop;
    auto l = listener::create(loop, toml->pool);
    REQUIRE_FALSE(l.ok());
    CHECK(l.err().value() == errc::bad_config);
}
