// transaction: pool.transaction() runs BEGIN, your statements and COMMIT on
// one connection; when your statements report an error it runs ROLLBACK and
// hands you that error instead.
//
//   transaction
//   'postgresql://user:password@localhost:5432/db?sslmode=verify-full&sslrootcert=ca.crt'
//   DATABASE_URL=... transaction
//
// A transfer between two accounts, once committed and once rolled back, in a
// table of its own that it drops at the end. Callback style, as in quickstart;
// see coroutines.cpp for co_await.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/uvdb.hpp>

namespace {

struct bank {
    uvdb::pool* db = nullptr;
    std::string table;  // unique per run, so parallel runs never share rows
    int exit_code = 1;
};

// Drops the table and closes the pool, which lets loop.run() return.
void finish(bank& b, int exit_code) {
    b.exit_code = exit_code;
    b.db->query("DROP TABLE IF EXISTS " + b.table, [&b](uvdb::result<uvdb::result_set> r) {
        if (!r)
            std::fprintf(stderr, "warning: could not drop %s: %s\n", b.table.c_str(),
                         r.err().to_string().c_str());
        b.db->close();
    });
}

void fail(bank& b, const uvdb::error& e) {
    std::fprintf(stderr, "error: %s\n", e.to_string().c_str());  // errors never hold the password
    finish(b, 1);
}

// Moves `amount` from account `from` to account `to` in one transaction.
// Every statement of the body runs on `tx`, the one lease the pool holds for
// the whole transaction: statements sent through db.query() instead could
// land on another connection, outside the transaction.
void transfer(bank& b, int from, int to, int amount, uvdb::pool::done_callback cb) {
    b.db->transaction(
        [&b, from, to, amount](uvdb::lease& tx, uvdb::pool::done_callback done) {
            // Credit first, debit second: when the debit fails, the credit that
            // already succeeded must vanish with it, and ROLLBACK sees to that.
            tx->query(
                "UPDATE " + b.table + " SET balance = balance + $1 WHERE id = $2 RETURNING balance",
                uvdb::make_params(amount, to),
                [&b, &tx, from, to, amount,
                 done = std::move(done)](uvdb::result<uvdb::result_set> r) mutable {
                    if (!r) return done(std::move(r).err());
                    if (r->affected_rows() != 1)
                        return done(uvdb::error(uvdb::errc::bad_input, "no such account"));
                    std::printf("  account %d credited, balance %s inside the transaction\n", to,
                                std::string((*r)[0].text(0)).c_str());
                    // The CHECK (balance >= 0) makes this fail when `from` cannot pay.
                    tx->query("UPDATE " + b.table + " SET balance = balance - $1 WHERE id = $2",
                              uvdb::make_params(amount, from),
                              [done = std::move(done)](uvdb::result<uvdb::result_set> r2) mutable {
                                  if (!r2) return done(std::move(r2).err());  // → ROLLBACK
                                  done({});                                   // → COMMIT
                              });
                });
        },
        std::move(cb));
}

// Reads both balances with an ordinary pool query (any connection will do).
void show_balances(bank& b, const char* label, uvdb::unique_function<void(std::string)> then) {
    b.db->query(
        "SELECT string_agg('account ' || id || ' = ' || balance, ', ' ORDER BY id) FROM " + b.table,
        [&b, label, then = std::move(then)](uvdb::result<uvdb::result_set> r) mutable {
            if (!r) return fail(b, r.err());
            std::string balances((*r)[0].text(0));
            std::printf("%s: %s\n", label, balances.c_str());
            then(std::move(balances));
        });
}

// Step 3: a transfer account 1 cannot pay. The body reports the failed
// debit, so the pool rolls back, and the credit before it disappears too.
void overdraw(bank& b, std::string before) {
    std::printf("transfer 500 from account 1 to account 2 (account 1 cannot pay)\n");
    transfer(b, 1, 2, 500, [&b, before = std::move(before)](uvdb::result<void> t) mutable {
        if (t) {
            std::fprintf(stderr, "error: the overdrawing transfer committed\n");
            return finish(b, 1);
        }
        const uvdb::error& e = t.err();  // the body's error, handed on after ROLLBACK
        std::printf("rolled back: SQLSTATE %s (%s)\n", std::string(e.sqlstate()).c_str(),
                    std::string(uvdb::sqlstate_name(e.sqlstate())).c_str());
        show_balances(b, "after rollback", [&b, before = std::move(before)](std::string after) {
            const bool same = after == before;
            std::printf("balances %s by the rolled-back transfer\n",
                        same ? "unchanged" : "CHANGED");
            finish(b, same ? 0 : 1);
        });
    });
}

// Step 2: a transfer that commits.
void pay(bank& b) {
    std::printf("transfer 30 from account 1 to account 2\n");
    transfer(b, 1, 2, 30, [&b](uvdb::result<void> t) {
        if (!t) return fail(b, t.err());
        std::printf("committed\n");
        show_balances(b, "after commit", [&b](std::string now) { overdraw(b, std::move(now)); });
    });
}

// Step 1: two accounts of 100, in a table whose CHECK refuses a negative balance.
void open_accounts(bank& b) {
    b.db->query("CREATE TABLE " + b.table +
                    " (id int PRIMARY KEY, balance int NOT NULL CHECK (balance >= 0))",
                [&b](uvdb::result<uvdb::result_set> r) {
                    if (!r) return fail(b, r.err());
                    b.db->query("INSERT INTO " + b.table + " VALUES (1, 100), (2, 100)",
                                [&b](uvdb::result<uvdb::result_set> r2) {
                                    if (!r2) return fail(b, r2.err());
                                    pay(b);
                                });
                });
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

    bank b;
    b.table = "uvdb_example_accounts_" + std::to_string(::getpid());
    try {
        uvdb::pool db(loop, uvdb::postgres::make_driver(), opts);
        b.db = &db;
        open_accounts(b);
        loop.run();                             // returns once finish() closed the pool
    } catch (const std::invalid_argument& e) {  // the pool constructor rejects bad options
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return b.exit_code;
}
