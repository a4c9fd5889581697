// bulk_load: loads a CSV into a table with COPY FROM STDIN through the pool,
// in pieces, the writer waiting whenever the server falls behind.
//
//   bulk_load [--rows N] [--file data.csv] postgresql://user:password@host:port/db
//   DATABASE_URL=... bulk_load
//
// Without --file it generates N rows (default 100000) of "id,name,score".
// The table bulk_load_demo (id int, name text, score float8) is recreated.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/uvdb.hpp>

using namespace std::chrono_literals;

namespace {

struct args {
    std::string url;
    std::string file;
    long rows = 100'000;
};

// Reads the file in 64 KiB pieces, or generates rows into pieces of that
// size: either way the program holds one piece at a time, whatever N is.
uvdb::task<uvdb::result<void>> load(uvdb::pool& db, const args& a) {
    auto made = co_await uvdb::as_result(db.query("DROP TABLE IF EXISTS bulk_load_demo"));
    if (!made) co_return made.error();
    made = co_await uvdb::as_result(
        db.query("CREATE TABLE bulk_load_demo (id int, name text, score float8)"));
    if (!made) co_return made.error();

    const auto started = std::chrono::steady_clock::now();
    auto w =
        co_await uvdb::as_result(db.copy_in("COPY bulk_load_demo FROM STDIN WITH (FORMAT csv)"));
    if (!w) co_return w.error();
    std::string piece;
    if (!a.file.empty()) {
        std::ifstream in(a.file, std::ios::binary);
        if (!in) co_return uvdb::error(uvdb::errc::bad_input, "cannot open " + a.file);
        piece.resize(64 * 1024);
        while (in.read(piece.data(), static_cast<std::streamsize>(piece.size())) ||
               in.gcount() > 0) {
            auto r =
                co_await uvdb::as_result(w->write(std::string_view(piece.data(), in.gcount())));
            if (!r) co_return r.error();  // the writer aborts the COPY when it goes
        }
    } else {
        for (long i = 1; i <= a.rows; ++i) {
            piece += std::to_string(i);
            piece += ",\"name ";
            piece += std::to_string(i);
            piece += "\",";
            piece += std::to_string(static_cast<double>(i % 1000) / 10.0);
            piece += '\n';
            if (piece.size() < 64 * 1024 && i != a.rows) continue;
            auto r = co_await uvdb::as_result(w->write(piece));
            if (!r) co_return r.error();
            piece.clear();
        }
    }
    auto rows = co_await uvdb::as_result(w->finish());  // the row count of the COPY's command tag
    if (!rows) co_return rows.error();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("loaded %llu rows in %.2f s (%llu bytes, the writer waited %llu times)\n",
                static_cast<unsigned long long>(*rows), secs,
                static_cast<unsigned long long>(w->bytes_written()),
                static_cast<unsigned long long>(w->waits()));
    auto check = co_await uvdb::as_result(db.query("SELECT count(*)::int8 FROM bulk_load_demo"));
    if (!check) co_return check.error();
    std::printf("table bulk_load_demo holds %lld rows\n",
                static_cast<long long>(check->value<std::int64_t>()));
    co_return uvdb::ok();
}

}  // namespace

int main(int argc, char** argv) {
    args a;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--rows") == 0 && i + 1 < argc) {
            a.rows = std::strtol(argv[++i], nullptr, 10);
        } else if (std::strcmp(argv[i], "--file") == 0 && i + 1 < argc) {
            a.file = argv[++i];
        } else {
            a.url = argv[i];
        }
    }
    if (a.url.empty()) {
        if (const char* env = std::getenv("DATABASE_URL")) a.url = env;
    }
    if (a.url.empty()) {
        std::fprintf(stderr,
                     "usage: %s [--rows N] [--file data.csv] postgresql://user:password@host/db  "
                     "(or set DATABASE_URL)\n",
                     argv[0]);
        return 2;
    }

    uvdb::event_loop loop;
    uvdb::pool_options opts;
    opts.connection.url = a.url;
    opts.connection.application_name = "uvdb-bulk-load";
    opts.size = 1;
    opts.max_overflow = 0;
    int exit_code = 1;
    try {
        uvdb::pool db(loop, uvdb::postgres::make_driver(), opts);
        uvdb::spawn(load(db, a), [&db, &exit_code](uvdb::task_outcome<uvdb::result<void>> done) {
            try {
                const uvdb::result<void> r = std::move(done).value();
                if (!r) std::fprintf(stderr, "error: %s\n", r.error().to_string().c_str());
                exit_code = r ? 0 : 1;
            } catch (const std::exception& e) {
                std::fprintf(stderr, "error: %s\n", e.what());
            }
            db.close();
        });
        loop.run();
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 2;
    }
    return exit_code;
}
