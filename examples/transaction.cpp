// transaction: a transfer between two accounts in one transaction:
// db.begin(), two UPDATEs on it, commit(). When a statement fails, the
// transaction object goes out of scope uncommitted and the pool rolls it back
// before the connection is used again; the error goes to the caller.
//
//   transaction
//   'postgresql://user:password@localhost:5432/db?sslmode=verify-full&sslrootcert=ca.crt'
//   DATABASE_URL=... transaction
//
// One transfer commits, one is rolled back, in a table of its own that it
// drops at the end. tx_retry.cpp adds savepoints and retried transactions.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <uvdb/coro.hpp>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/uvdb.hpp>

namespace {

// Moves `amount` from account `from` to account `to`. Every statement runs on
// `tx`, the one connection the transaction holds: a db.query() instead could
// land on another connection, outside the transaction. A co_await that fails
// ends the task with its error, and `tx`, dropped uncommitted, rolls back.
uvdb::task<uvdb::result<void>> transfer(uvdb::pool& db, const std::string& table, int from, int to,
                                        int amount) {
    auto tx = co_await db.begin();
    // Credit first, debit second: when the debit fails, the credit that
    // already succeeded must vanish with it, and the rollback sees to that.
    auto credited = co_await tx.query(
        "UPDATE " + table + " SET balance = balance + $1 WHERE id = $2 RETURNING balance", amount,
        to);
    const int balance = co_await credited.one<int>();  // no such account: errc::no_rows
    std::printf("  account %d credited, balance %d inside the transaction\n", to, balance);
    // The CHECK (balance >= 0) makes this fail when `from` cannot pay.
    co_await tx.query("UPDATE " + table + " SET balance = balance - $1 WHERE id = $2", amount,
                      from);
    co_return co_await tx.commit();
}

// Both balances, read with an ordinary pool query (any connection will do).
uvdb::task<uvdb::result<std::string>> balances(uvdb::pool& db, const std::string& table) {
    auto r = co_await db.query(
        "SELECT string_agg('account ' || id || ' = ' || balance, ', ' ORDER BY id) FROM " + table);
    co_return co_await r.one<std::string>();
}

uvdb::task<uvdb::result<bool>> run(uvdb::pool& db, const std::string& table) {
    // Two accounts of 100, in a table whose CHECK refuses a negative balance.
    co_await db.query("CREATE TABLE " + table +
                      " (id int PRIMARY KEY, balance int NOT NULL CHECK (balance >= 0))");
    co_await db.query("INSERT INTO " + table + " VALUES (1, 100), (2, 100)");

    std::printf("transfer 30 from account 1 to account 2\n");
    co_await transfer(db, table, 1, 2, 30);
    std::printf("committed\n");
    const std::string before = co_await balances(db, table);
    std::printf("after commit: %s\n", before.c_str());

    // A transfer account 1 cannot pay: as_result gives its error to look at
    // instead of ending this task with it.
    std::printf("transfer 500 from account 1 to account 2 (account 1 cannot pay)\n");
    auto overdrawn = co_await uvdb::as_result(transfer(db, table, 1, 2, 500));
    if (overdrawn)
        co_return uvdb::error(uvdb::errc::internal, "the overdrawing transfer committed");
    const uvdb::error& e = overdrawn.error();
    std::printf("rolled back: SQLSTATE %s (%s)\n", std::string(e.sqlstate()).c_str(),
                std::string(uvdb::sqlstate_name(e.sqlstate())).c_str());
    const std::string after = co_await balances(db, table);
    std::printf("after rollback: %s\n", after.c_str());
    std::printf("balances %s by the rolled-back transfer\n",
                after == before ? "unchanged" : "CHANGED");
    co_return after == before;
}

// Runs it, then drops the table on every path and closes the pool, which
// lets loop.run() return.
uvdb::task<void> run_and_clean_up(uvdb::pool& db, const std::string& table, int& exit_code) {
    const uvdb::result<bool> passed = co_await run(db, table);
    if (!passed) std::fprintf(stderr, "error: %s\n", passed.error().to_string().c_str());
    exit_code = passed.value_or(false) ? 0 : 1;
    (void)co_await db.query("DROP TABLE IF EXISTS " + table);
    db.close();
}

}  // namespace

int main(int argc, char** argv) {
    const char* url = argc > 1 ? argv[1] : std::getenv("DATABASE_URL");
    if (url == nullptr || *url == '\0') {
        std::fprintf(stderr,
                     "usage: %s postgresql://user:password@host:port/db  (or set DATABASE_URL)\n",
                     argv[0]);
        return 2;
    }
    std::printf("connecting to %s\n", uvdb::mask_password(url).c_str());

    uvdb::event_loop loop;
    uvdb::pool_options opts;
    opts.connection.url = url;
    opts.connection.application_name = "uvdb-transaction";
    opts.timeout = std::chrono::seconds(10);

    const std::string table = "uvdb_example_accounts_" + std::to_string(::getpid());
    int exit_code = 1;
    try {
        uvdb::pool db(loop, uvdb::postgres::make_driver(), opts);
        uvdb::spawn(run_and_clean_up(db, table, exit_code));
        loop.run();                             // returns once the pool is closed
    } catch (const std::invalid_argument& e) {  // the pool constructor rejects bad options
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return exit_code;
}
