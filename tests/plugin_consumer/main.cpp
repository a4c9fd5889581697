// Built against an *installed* uvdb by run.cmake, like a user's program. It
// loads the example plugin (examples/plugin_driver, libuvdb-kv.so) from
// UVDB_DRIVER_PATH and by path, serves kv:// queries through uvdb::pool, and
// loads the installed PostgreSQL plugin by path (no server needed for that).
//
//   UVDB_DRIVER_PATH=<dir of libuvdb-kv.so> uvdb_plugin_consumer <libuvdb-kv.so>
//   <libuvdb-postgres.so>

#include <chrono>
#include <iostream>
#include <optional>
#include <string>
#include <uvdb/driver_registry.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/pool.hpp>
#include <vector>

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
    std::cout << (ok ? "ok    " : "FAIL  ") << what << '\n';
    if (!ok) ++failures;
}

// Runs one statement through the pool and waits for its answer.
uvdb::result<uvdb::result_set> run(uvdb::event_loop& loop, uvdb::pool& db, const std::string& sql,
                                   uvdb::params p = {}) {
    std::optional<uvdb::result<uvdb::result_set>> got;
    db.query(sql, std::move(p),
             [&](uvdb::result<uvdb::result_set> r) { got.emplace(std::move(r)); });
    while (!got && loop.run_once()) {
    }
    if (!got) return uvdb::error(uvdb::errc::internal, "the loop stopped before the answer came");
    return std::move(*got);
}

uvdb::pool_options kv_options(const std::string& url) {
    uvdb::pool_options o;
    o.connection.url = url;
    o.size = 2;
    o.max_overflow = 0;
    return o;
}

void exercise_kv(const uvdb::driver_registry& reg, const std::string& url) {
    uvdb::event_loop loop;
    auto db = uvdb::pool::create(loop, kv_options(url), reg);
    check(db.ok(), "pool for " + url + (db.ok() ? "" : ": " + db.err().to_string()));
    if (!db) return;

    auto put = run(loop, *db, "PUT $1 $2", uvdb::make_params("answer", 42));
    check(put.ok() && put->affected_rows() == 1, "PUT through the pool");
    auto put2 = run(loop, *db, "put other-key hello");
    check(put2.ok(), "a second PUT");
    auto get = run(loop, *db, "GET $1", uvdb::make_params("answer"));
    check(get.ok() && get->size() == 1 && (*get)[0].get<int>("value") == 42,
          "GET returns the stored value as an int");
    auto count = run(loop, *db, "COUNT");
    check(count.ok() && count->value<std::int64_t>() == 2, "COUNT sees both keys");
    auto scan = run(loop, *db, "SCAN");
    check(scan.ok() && scan->size() == 2 && (*scan)[0].get<std::string>("key") == "answer",
          "SCAN returns the keys in order");

    auto bad = run(loop, *db, "SELECT 1");
    check(!bad.ok() && bad.err().code() == uvdb::errc::server_error &&
              bad.err().sqlstate() == "42601" && !bad.err().is_fatal(),
          "an unknown command is a non-fatal server error with SQLSTATE 42601");
    auto after = run(loop, *db, "GET answer");
    check(after.ok() && after->size() == 1, "the pool still serves after the error");

    // pool::transaction over the plugin's BEGIN/COMMIT/ROLLBACK: a body that
    // fails is rolled back, one that succeeds is committed.
    auto in_transaction = [&](const char* sql, bool fail) {
        std::optional<uvdb::result<void>> done;
        db->transaction(
            [sql, fail](uvdb::lease& l, uvdb::pool::done_callback finish) {
                l->query(sql, [fail, finish = std::move(finish)](
                                  uvdb::result<uvdb::result_set> r) mutable {
                    if (!r) return finish(std::move(r).err());
                    if (fail) return finish(uvdb::error(uvdb::errc::bad_input, "the body gave up"));
                    finish({});
                });
            },
            [&](uvdb::result<void> r) { done.emplace(std::move(r)); });
        while (!done && loop.run_once()) {
        }
        return done && done->ok();
    };
    check(!in_transaction("PUT rolled-back 1", true),
          "a failing transaction body reports its error");
    auto gone = run(loop, *db, "GET rolled-back");
    check(gone.ok() && gone->empty(), "its write was rolled back");
    check(in_transaction("PUT committed 1", false), "a transaction commits");
    auto kept = run(loop, *db, "GET committed");
    check(kept.ok() && kept->size() == 1, "its write is visible afterwards");

    db->close();
    loop.run();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::cerr << "usage: uvdb_plugin_consumer <libuvdb-kv.so> <libuvdb-postgres.so>\n";
        return 2;
    }
    const std::string kv_path = argv[1];
    const std::string pg_path = argv[2];

    // 1. From UVDB_DRIVER_PATH, into the global registry.
    auto scan = uvdb::driver_registry::global().load_plugins_from_env();
    for (const auto& e : scan.failed) std::cout << "      " << e.to_string() << '\n';
    check(scan.failed.empty(), "UVDB_DRIVER_PATH scan without errors");
    check(scan.loaded.size() == 1 && scan.loaded[0].name == "kv" &&
              scan.loaded[0].schemes == std::vector<std::string>{"kv"},
          "UVDB_DRIVER_PATH scan loaded the kv plugin");
    exercise_kv(uvdb::driver_registry::global(), "kv://global");

    // 2. By path, into a registry of the program's own.
    uvdb::driver_registry mine;
    auto info = mine.load_plugin(kv_path);
    check(info.ok(), "load by path" + (info.ok() ? "" : ": " + info.err().to_string()));
    exercise_kv(mine, "kv://mine");

    // The store names are separate stores: kv://mine saw its own two keys only.
    // A bad URL is refused by the driver with a clear error.
    {
        uvdb::event_loop loop;
        auto db = uvdb::pool::create(loop, kv_options("kv://no spaces allowed"), mine);
        if (db) {
            auto r = run(loop, *db, "COUNT");
            check(!r.ok() && r.err().to_string().find("store name") != std::string::npos,
                  "a bad kv:// URL fails with a message about the store name");
            db->close();
            loop.run();
        } else {
            check(false, "pool for a bad kv:// URL: " + db.err().to_string());
        }
    }

    // 3. The installed PostgreSQL plugin loads and claims its schemes.
    uvdb::driver_registry pg;
    auto pg_info = pg.load_plugin(pg_path);
    check(pg_info.ok() && pg.find("postgresql") != nullptr && pg.find("postgres") != nullptr,
          "the installed PostgreSQL plugin loads" +
              (pg_info.ok() ? "" : ": " + pg_info.err().to_string()));

    std::cout << (failures == 0 ? "all checks passed\n" : "some checks failed\n");
    return failures == 0 ? 0 : 1;
}
