// uvdb-copy-bench: loads N rows of about 100 bytes (CSV generated in memory,
// in 64 KiB pieces) through uvdb's COPY FROM STDIN, beside psql's \copy of the
// same data (written once to a file under /tmp). Prints rows/s of each, the
// ratio, and the process's peak RSS. Prints numbers, asserts nothing.
//
//   uvdb-copy-bench [--rows N] [--no-psql] postgresql://…   (or DATABASE_URL)

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/uvdb.hpp>

namespace {

constexpr std::size_t piece_bytes = 64 * 1024;

/// The CSV rows [first, …) appended to `out` until it holds a piece; returns the next row.
long fill_piece(std::string& out, long first, long last) {
    static const std::string pad(58, 'x');
    long i = first;
    for (; i <= last && out.size() < piece_bytes; ++i) {
        out += std::to_string(i);
        out += ",name-";
        out += std::to_string(i);
        out += ',';
        out += std::to_string(i % 1000);
        out += ",";
        out += pad;
        out += '\n';
    }
    return i;
}

long peak_rss_kib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

uvdb::task<uvdb::result<void>> run(uvdb::pool& db, long rows, const std::string& url,
                                   bool with_psql) {
    for (const char* sql : {"DROP TABLE IF EXISTS uvdb_copy_bench",
                            "CREATE UNLOGGED TABLE uvdb_copy_bench (id int8, name text, grp int, "
                            "pad text)"}) {
        auto r = co_await uvdb::as_result(db.query(sql));
        if (!r) co_return r.error();
    }
    const long rss_before = peak_rss_kib();
    const auto t0 = std::chrono::steady_clock::now();
    auto w =
        co_await uvdb::as_result(db.copy_in("COPY uvdb_copy_bench FROM STDIN WITH (FORMAT csv)"));
    if (!w) co_return w.error();
    std::string piece;
    piece.reserve(piece_bytes + 256);
    for (long next = 1; next <= rows;) {
        piece.clear();
        next = fill_piece(piece, next, rows);
        auto r = co_await uvdb::as_result(w->write(piece));
        if (!r) co_return r.error();
    }
    auto n = co_await uvdb::as_result(w->finish());
    if (!n) co_return n.error();
    const double uvdb_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double uvdb_rate = static_cast<double>(*n) / uvdb_s;
    std::printf(
        "uvdb copy_in: %llu rows, %.1f MB in %.2f s: %.0f rows/s (writer waited %llu "
        "times)\n",
        static_cast<unsigned long long>(*n), static_cast<double>(w->bytes_written()) / 1e6, uvdb_s,
        uvdb_rate, static_cast<unsigned long long>(w->waits()));
    std::printf("peak RSS: %ld KiB before the load, %ld KiB after (growth %ld KiB)\n", rss_before,
                peak_rss_kib(), peak_rss_kib() - rss_before);
    if (!with_psql) co_return uvdb::ok();

    // The same rows to a file, once, for psql.
    const std::string path = "/tmp/uvdb-copy-bench-" + std::to_string(rows) + ".csv";
    if (FILE* f = std::fopen(path.c_str(), "wb")) {
        for (long next = 1; next <= rows;) {
            piece.clear();
            next = fill_piece(piece, next, rows);
            std::fwrite(piece.data(), 1, piece.size(), f);
        }
        std::fclose(f);
    } else {
        co_return uvdb::error(uvdb::errc::bad_input, "cannot write " + path);
    }
    auto t = co_await uvdb::as_result(db.query("TRUNCATE uvdb_copy_bench"));
    if (!t) co_return t.error();
    // The URL goes to psql through its environment, never onto a command line.
    ::setenv("UVDB_COPY_BENCH_URL", url.c_str(), 1);
    const std::string cmd =
        "psql -X -q \"$UVDB_COPY_BENCH_URL\" -c \"\\copy uvdb_copy_bench from '" + path +
        "' with (format csv)\"";
    const auto p0 = std::chrono::steady_clock::now();
    const int rc = std::system(cmd.c_str());
    const double psql_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - p0).count();
    std::remove(path.c_str());
    if (rc != 0) co_return uvdb::error(uvdb::errc::internal, "psql \\copy failed");
    const double psql_rate = static_cast<double>(rows) / psql_s;
    std::printf("psql \\copy:   %ld rows in %.2f s: %.0f rows/s\n", rows, psql_s, psql_rate);
    std::printf("ratio uvdb/psql: %.2f\n", uvdb_rate / psql_rate);
    co_return uvdb::ok();
}

}  // namespace

int main(int argc, char** argv) {
    long rows = 10'000'000;
    bool with_psql = true;
    std::string url;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--rows") == 0 && i + 1 < argc) {
            rows = std::strtol(argv[++i], nullptr, 10);
        } else if (std::strcmp(argv[i], "--no-psql") == 0) {
            with_psql = false;
        } else {
            url = argv[i];
        }
    }
    if (url.empty()) {
        if (const char* env = std::getenv("DATABASE_URL")) url = env;
    }
    if (url.empty() || rows <= 0) {
        std::fprintf(stderr, "usage: %s [--rows N] [--no-psql] postgresql://…  (or DATABASE_URL)\n",
                     argv[0]);
        return 2;
    }
    uvdb::event_loop loop;
    uvdb::pool_options opts;
    opts.connection.url = url;
    opts.connection.application_name = "uvdb-copy-bench";
    opts.size = 1;
    opts.max_overflow = 0;
    int exit_code = 1;
    uvdb::pool db(loop, uvdb::postgres::make_driver(), opts);
    uvdb::spawn(run(db, rows, url, with_psql), [&](uvdb::task_outcome<uvdb::result<void>> done) {
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
    return exit_code;
}
