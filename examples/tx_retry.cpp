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

namespace {

struct shop {
    uvdb::pool* db = nullptr;
    std::string stock;  // tables unique per run, so parallel runs never share rows
    std::string orders;
    int placed = 0;
    int failed = 0;
    int running = 0;
    int exit_code = 1;
};

// The handler: one order, one transaction, retried as a whole on a conflict.
// The lambda is kept alive across attempts, so capturing is safe; `attempts`
// counts how often it ran.
uvdb::task<uvdb::result<int>> place_order(shop& s, int item, int qty, std::string note,
                                          int& attempts) {
    co_return co_await s.db->transaction(
        {.isolation = uvdb::isolation_level::serializable},
        [&s, item, qty, &note, &attempts](uvdb::transaction& tx) -> uvdb::task<uvdb::result<int>> {
            ++attempts;
            uvdb::result<uvdb::result_set> left = co_await tx.query(
                "UPDATE " + s.stock + " SET left_ = left_ - $2 WHERE item = $1 AND left_ >= $2",
                item, qty);
            if (!left) co_return std::move(left).err();  // a conflict here is retried
            if (left->affected_rows() != 1)
                co_return uvdb::error(uvdb::errc::bad_input, "not enough stock");
            uvdb::result<uvdb::result_set> order = co_await tx.query(
                "INSERT INTO " + s.orders + " (item, qty) VALUES ($1, $2) RETURNING id", item, qty);
            if (!order) co_return std::move(order).err();
            const int id = order->value<int>();

            // The optional part, in a savepoint: its failure undoes only itself.
            uvdb::result<uvdb::nested_transaction> sp = co_await tx.savepoint();
            if (!sp) co_return std::move(sp).err();
            uvdb::result<uvdb::result_set> noted =
                co_await sp->query("UPDATE " + s.orders + " SET note = $2 WHERE id = $1", id, note);
            // Two statements, not `noted ? co_await … : co_await …`: GCC 12
            // destroys the wrong temporary for co_await inside ?: (it crashes).
            uvdb::result<void> closed;
            if (noted) {
                closed = co_await sp->commit();
            } else {
                closed = co_await sp->rollback();
            }
            if (!closed) co_return std::move(closed).err();
            co_return id;  // db.transaction commits, then hands this back
        },
        uvdb::retry_policy{.max_attempts = 10});
}

uvdb::task<void> one_request(shop& s, int n) {
    int attempts = 0;
    const std::string note = n == 3 ? std::string(40, '!') : "for customer " + std::to_string(n);
    uvdb::result<int> id = co_await place_order(s, 1, 2, note, attempts);
    if (!id) {
        ++s.failed;
        std::fprintf(stderr, "order %d failed: %s\n", n, id.err().to_string().c_str());
        co_return;
    }
    ++s.placed;
    std::printf("order %d placed as #%d after %d attempt%s\n", n, *id, attempts,
                attempts == 1 ? "" : "s");
}

// Step 2, when every request ended: the stock must have gone down by
// exactly the orders placed. Then the tables are dropped and the pool closed,
// which lets loop.run() return.
uvdb::task<void> report(shop& s) {
    auto left = co_await s.db->query_async("SELECT left_ FROM " + s.stock + " WHERE item = 1");
    auto notes = co_await s.db->query_async("SELECT count(note)::int FROM " + s.orders);
    if (left && notes) {
        std::printf("stock left: %d (100 - 2 x %d orders)\n", left->value<int>(), s.placed);
        std::printf("orders with a note: %d (the too-long note was rolled back alone)\n",
                    notes->value<int>());
        s.exit_code = s.failed == 0 && left->value<int>() == 100 - 2 * s.placed ? 0 : 1;
    }
    (void)co_await s.db->query_async("DROP TABLE IF EXISTS " + s.stock + ", " + s.orders);
    s.db->close();
}

// Step 1: the tables, then every request at once, on the one loop.
uvdb::task<void> start(shop& s, int requests) {
    const std::string setup[] = {
        "CREATE TABLE " + s.stock + " (item int PRIMARY KEY, left_ int NOT NULL)",
        "CREATE TABLE " + s.orders +
            " (id serial PRIMARY KEY, item int NOT NULL, qty int NOT NULL, note varchar(20))",
        "INSERT INTO " + s.stock + " VALUES (1, 100)"};
    for (const std::string& sql : setup) {
        auto r = co_await s.db->query_async(sql);
        if (!r) {
            std::fprintf(stderr, "error: %s\n", r.err().to_string().c_str());
            s.db->close();
            co_return;
        }
    }
    s.running = requests;
    for (int n = 1; n <= requests; ++n) {
        uvdb::spawn(one_request(s, n), [&s](std::exception_ptr) {
            if (--s.running == 0) uvdb::spawn(report(s));
        });
    }
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
    const std::string suffix = std::to_string(::getpid());
    s.stock = "uvdb_example_stock_" + suffix;
    s.orders = "uvdb_example_orders_" + suffix;
    try {
        uvdb::pool db(loop, uvdb::postgres::make_driver(), opts);
        s.db = &db;
        uvdb::spawn(start(s, 4));
        loop.run();  // returns once report() closed the pool
    } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return s.exit_code;
}
