// tx_retry: a request handler written as a retried transaction with a
// savepoint inside it.
//
//   tx_retry
//   'postgresql://user:password@localhost:5432/db?sslmode=verify-full&sslrootcert=ca.crt'
//   DATABASE_URL=... tx_retry
//
// Orders for one item arrive at the same moment. Each is a SERIALIZABLE
// transaction: it takes the stock and records the order. Two of them
// touching the same row at once make PostgreSQL refuse one with a
// serialization failure (40001); db.transaction() then runs that handler's
// transaction again after a short, jittered pause, so every order is placed
// exactly once. The gift note of an order is optional: it runs in a
// savepoint, and when it fails (a note too long for its column) only the
// note is rolled back, not the order.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <uvdb/coro.hpp>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/uvdb.hpp>
#include <vector>

namespace {

struct shop {
    std::string stock;  // tables unique per run, so parallel runs never share rows
    std::string orders;
    int placed = 0;
    int failed = 0;
};

// The handler: one order, one transaction, retried as a whole on a conflict.
// The lambda is kept alive across attempts, so capturing is safe; `attempts`
// counts how often it ran. Every co_await that fails ends the attempt with
// its error, and db.transaction() rolls it back (and retries 40001/40P01).
uvdb::task<uvdb::result<int>> place_order(uvdb::pool& db, const shop& s, int item, int qty,
                                          const std::string& note, int& attempts) {
    co_return co_await db.transaction(
        {.isolation = uvdb::isolation_level::serializable},
        [&](uvdb::transaction& tx) -> uvdb::task<uvdb::result<int>> {
            ++attempts;
            auto taken = co_await tx.query(
                "UPDATE " + s.stock + " SET left_ = left_ - $2 WHERE item = $1 AND left_ >= $2",
                item, qty);
            if (taken.affected_rows() != 1)
                co_return uvdb::error(uvdb::errc::bad_input, "not enough stock");
            auto order = co_await tx.query(
                "INSERT INTO " + s.orders + " (item, qty) VALUES ($1, $2) RETURNING id", item, qty);
            const int id = co_await order.one<int>();

            // The optional part, in a savepoint: released when its body
            // succeeds, rolled back to when it fails, which undoes only the note.
            auto noted = co_await uvdb::as_result(
                tx.savepoint([&](uvdb::nested_transaction& sp) -> uvdb::task<uvdb::result<void>> {
                    co_await sp.query("UPDATE " + s.orders + " SET note = $2 WHERE id = $1", id,
                                      note);
                    co_return uvdb::ok();
                }));
            if (!noted)
                std::printf("order #%d keeps no note: %s\n", id, noted.error().message().c_str());
            co_return id;  // db.transaction commits, then hands this back
        },
        uvdb::retry_policy{.max_attempts = 10});
}

uvdb::task<void> one_request(uvdb::pool& db, shop& s, int n) {
    int attempts = 0;
    const std::string note = n == 3 ? std::string(40, '!') : "for customer " + std::to_string(n);
    uvdb::result<int> id = co_await place_order(db, s, 1, 2, note, attempts);
    if (!id) {
        ++s.failed;
        std::fprintf(stderr, "order %d failed: %s\n", n, id.error().to_string().c_str());
        co_return;
    }
    ++s.placed;
    std::printf("order %d placed as #%d after %d attempt%s\n", n, *id, attempts,
                attempts == 1 ? "" : "s");
}

// The tables, every request at once (when_all), then the check: the stock
// must have gone down by exactly the orders placed.
uvdb::task<uvdb::result<bool>> run(uvdb::pool& db, shop& s, int requests) {
    co_await db.query("CREATE TABLE " + s.stock + " (item int PRIMARY KEY, left_ int NOT NULL)");
    co_await db.query("CREATE TABLE " + s.orders +
                      " (id serial PRIMARY KEY, item int NOT NULL, qty int NOT NULL, "
                      "note varchar(20))");
    co_await db.query("INSERT INTO " + s.stock + " VALUES (1, 100)");

    std::vector<uvdb::task<void>> orders;
    for (int n = 1; n <= requests; ++n) orders.push_back(one_request(db, s, n));
    co_await uvdb::when_all(std::move(orders));

    auto left = co_await db.query("SELECT left_ FROM " + s.stock + " WHERE item = 1");
    auto notes = co_await db.query("SELECT count(note)::int FROM " + s.orders);
    const int stock_left = co_await left.one<int>();
    std::printf("stock left: %d (100 - 2 x %d orders)\n", stock_left, s.placed);
    std::printf("orders with a note: %d (the too-long note was rolled back alone)\n",
                co_await notes.one<int>());
    co_return s.failed == 0 && stock_left == 100 - 2 * s.placed;
}

// Runs it, then drops the tables on every path and closes the pool, which
// lets loop.run() return.
uvdb::task<void> run_and_clean_up(uvdb::pool& db, shop& s, int requests, int& exit_code) {
    uvdb::result<bool> passed = co_await run(db, s, requests);
    if (!passed) std::fprintf(stderr, "error: %s\n", passed.error().to_string().c_str());
    exit_code = passed.value_or(false) ? 0 : 1;
    (void)co_await db.query("DROP TABLE IF EXISTS " + s.stock + ", " + s.orders);
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
    opts.connection.application_name = "uvdb-tx-retry";
    opts.size = 4;

    shop s;
    int exit_code = 1;
    const std::string suffix = std::to_string(::getpid());
    s.stock = "uvdb_example_stock_" + suffix;
    s.orders = "uvdb_example_orders_" + suffix;
    try {
        uvdb::pool db(loop, uvdb::postgres::make_driver(), opts);
        uvdb::spawn(run_and_clean_up(db, s, 4, exit_code));
        loop.run();  // returns once the pool is closed
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return exit_code;
}
