// cache_invalidation: an in-memory cache of a table, kept right by
// LISTEN/NOTIFY. Whoever changes a row sends NOTIFY with its id; every
// process holding the cache drops that entry and reloads it when next asked.
//
//   cache_invalidation
//   'postgresql://user:password@localhost:5432/db?sslmode=verify-full&sslrootcert=ca.crt'
//   DATABASE_URL=... cache_invalidation
//
// It also shows the one rule of LISTEN/NOTIFY that caches must obey:
// notifications sent while the listener is disconnected are lost, so after
// a reconnect the whole cache is dropped (on_reconnect). To show it, the
// example ends its own listener's session with pg_terminate_backend.
// Works in a table of its own that it drops at the end.

#include <unistd.h>

#include <chrono>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <uvdb/coro.hpp>
#include <uvdb/listener.hpp>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/uvdb.hpp>

namespace {

struct product {
    std::string name;
    int price = 0;
};

/// Something the listener reports (an invalidation, a reconnect), and a
/// coroutine waiting for the next one. The example waits for them so that its
/// output comes in a fixed order; a service would not wait.
struct occurrences {
    int count = 0;
    std::coroutine_handle<> waiter;
    void raise() {
        ++count;
        if (auto w = std::exchange(waiter, nullptr)) w.resume();
    }
    /// `co_await s.after(n)`: resumes once count > n.
    auto after(int seen) {
        struct awaiter {
            occurrences& s;
            int seen;
            bool await_ready() const noexcept { return s.count > seen; }
            void await_suspend(std::coroutine_handle<> h) noexcept { s.waiter = h; }
            void await_resume() const noexcept {}
        };
        return awaiter{*this, seen};
    }
};

class price_cache {
  public:
    price_cache(uvdb::pool& db, std::string table) : db_(db), table_(std::move(table)) {}

    uvdb::task<uvdb::result<product>> get(int id) {
        if (auto it = entries_.find(id); it != entries_.end()) {
            std::printf("cache hit: product %d\n", id);
            co_return it->second;
        }
        auto r = co_await db_.query("SELECT name, price FROM " + table_ + " WHERE id = $1", id);
        auto row = co_await r.one<std::string, int>();
        product p{std::get<0>(row), std::get<1>(row)};
        std::printf("cache miss: product %d loaded from the database\n", id);
        entries_[id] = p;
        co_return p;
    }
    void invalidate(int id) { entries_.erase(id); }
    void clear() { entries_.clear(); }

  private:
    uvdb::pool& db_;
    std::string table_;
    std::map<int, product> entries_;
};

uvdb::task<uvdb::result<void>> show(price_cache& cache, int id) {
    const product p = co_await cache.get(id);
    std::printf("  product %d: %s costs %d\n", id, p.name.c_str(), p.price);
    co_return uvdb::result<void>();
}

// Coroutines take strings by value: a reference parameter would dangle once
// the caller's temporary dies at its first suspension (C++ Core Guidelines
// CP.53). That is what this example once did, and AddressSanitizer caught it.
uvdb::task<uvdb::result<void>> run(uvdb::pool& db, uvdb::listener& l, std::string table,
                                   std::string channel) {
    co_await db.query("CREATE TABLE " + table + " (id int PRIMARY KEY, name text, price int)");
    co_await db.query("INSERT INTO " + table + " VALUES (1, 'apple', 10), (2, 'pear', 20)");

    price_cache cache(db, table);
    occurrences invalidated, reconnected;
    l.on_reconnect([&] {
        // Anything may have changed while we were not listening.
        cache.clear();
        std::printf(
            "listener reconnected: whole cache dropped (notifications sent meanwhile "
            "are lost)\n");
        reconnected.raise();
    });
    co_await l.listen(channel, [&](const uvdb::notification& n) {
        std::printf("invalidated by NOTIFY: product %s\n", n.payload.c_str());
        cache.invalidate(std::atoi(n.payload.c_str()));
        invalidated.raise();
    });
    std::printf("listening on %s\n", channel.c_str());

    co_await show(cache, 1);
    co_await show(cache, 1);
    co_await show(cache, 2);

    std::printf("raising the price of product 1 to 12\n");
    co_await db.query("UPDATE " + table + " SET price = 12 WHERE id = 1");
    co_await db.notify(channel, "1");
    co_await invalidated.after(0);
    co_await show(cache, 1);
    co_await show(cache, 2);

    std::printf("ending the listener's session (as a server restart would)\n");
    co_await db.query("SELECT pg_terminate_backend($1::int)", l.server_pid());
    co_await reconnected.after(0);
    co_await show(cache, 2);
    std::printf("done\n");
    co_return uvdb::result<void>();
}

uvdb::task<void> run_and_clean_up(uvdb::pool& db, uvdb::listener& l, std::string table,
                                  std::string channel, int& exit_code) {
    const uvdb::result<void> ok = co_await run(db, l, table, channel);
    // First: its callbacks refer to run()'s cache, gone now.
    l.close();
    if (!ok) std::fprintf(stderr, "error: %s\n", ok.error().to_string().c_str());
    exit_code = ok ? 0 : 1;
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
    (void)uvdb::postgres::register_driver();  // fails only when registered already

    uvdb::event_loop loop;
    uvdb::pool_options opts;
    opts.connection.url = url;
    opts.connection.application_name = "uvdb-cache-invalidation";
    opts.timeout = std::chrono::seconds(10);
    auto db = uvdb::pool::create(loop, opts);
    // The listener holds its own connection, never one of the pool's.
    auto l = uvdb::listener::create(loop, opts);
    if (!db || !l) {
        std::fprintf(stderr, "error: %s\n", (!db ? db.err() : l.err()).to_string().c_str());
        return 1;
    }

    const std::string suffix = std::to_string(::getpid());
    const std::string table = "uvdb_example_prices_" + suffix;
    int exit_code = 1;
    uvdb::spawn(run_and_clean_up(*db, *l, table, "prices_" + suffix, exit_code));
    loop.run();  // returns once the pool and the listener are closed
    return exit_code;
}
