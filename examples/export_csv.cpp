// export_csv: exports a query to a CSV file with db.stream, in chunks, in
// bounded memory whatever the number of rows.
//
//   export_csv [--rows N] [--copy] OUT.csv [postgresql://user:password@host:port/db]
//   DATABASE_URL=... export_csv out.csv
//
// The query is SELECT i, 'item ' || i, i * 0.5 FROM generate_series(1, N) i
// (N = 100000 unless --rows says). With --copy the server writes the CSV
// itself (COPY … TO STDOUT WITH (FORMAT csv)) and the program only copies the
// bytes: faster, and exactly PostgreSQL's CSV.
//
// Back-pressure: the stream reads from the server only while this program
// asks for the next chunk, so a slow disk slows the server instead of filling
// memory.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <uvdb/coro.hpp>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/uvdb.hpp>

using namespace std::chrono_literals;

namespace {

/// One CSV field: quoted when it holds a comma, a quote or a line break.
void put_field(std::string& out, std::string_view v) {
    if (v.find_first_of(",\"\r\n") == std::string_view::npos) {
        out += v;
        return;
    }
    out += '"';
    for (char c : v) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
}

struct export_job {
    std::FILE* out = nullptr;
    long long rows = 0;
    bool copy = false;
};

uvdb::task<uvdb::result<void>> run(uvdb::pool& db, export_job& job) {
    const long long n = job.rows;
    if (job.copy) {
        auto s = co_await db.copy_out(
            "COPY (SELECT i AS id, 'item ' || i AS name, i * 0.5 AS price "
            "FROM generate_series(1, " +
            std::to_string(n) + ") i) TO STDOUT WITH (FORMAT csv, HEADER)");
        while (auto chunk = co_await s.next()) {
            std::fwrite(chunk->data(), 1, chunk->size(), job.out);
        }
        std::printf("exported %llu rows with COPY\n", static_cast<unsigned long long>(s.rows()));
        co_return uvdb::ok();
    }
    uvdb::stream_options o;
    o.chunk_rows = 2000;
    auto s = co_await db.stream(o,
                                "SELECT i AS id, 'item ' || i AS name, i * 0.5 AS price "
                                "FROM generate_series(1, $1::int) i",
                                n);
    std::string buf;
    bool header = true;
    // An error mid-stream (or a lost connection) ends the task with it, after
    // the rows before it were written.
    while (auto chunk = co_await s.next()) {
        buf.clear();
        if (header) {
            for (std::size_t c = 0; c < chunk->columns(); ++c) {
                if (c != 0) buf += ',';
                put_field(buf, chunk->column_name(c));
            }
            buf += '\n';
            header = false;
        }
        for (const auto row : *chunk) {
            for (std::size_t c = 0; c < row.size(); ++c) {
                if (c != 0) buf += ',';
                if (!row.is_null(c)) put_field(buf, row.text(c));
            }
            buf += '\n';
        }
        std::fwrite(buf.data(), 1, buf.size(), job.out);
    }
    std::printf("exported %llu rows with stream\n", static_cast<unsigned long long>(s.rows()));
    co_return uvdb::ok();
}

}  // namespace

int main(int argc, char** argv) {
    export_job job;
    job.rows = 100000;
    const char* path = nullptr;
    const char* url = std::getenv("DATABASE_URL");
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (a == "--rows" && i + 1 < argc) {
            job.rows = std::atoll(argv[++i]);
        } else if (a == "--copy") {
            job.copy = true;
        } else if (path == nullptr) {
            path = argv[i];
        } else {
            url = argv[i];
        }
    }
    if (path == nullptr || url == nullptr || *url == '\0' || job.rows < 0) {
        std::fprintf(stderr,
                     "usage: %s [--rows N] [--copy] OUT.csv "
                     "postgresql://user:password@host:port/db  (or set DATABASE_URL)\n",
                     argv[0]);
        return 2;
    }
    job.out = std::fopen(path, "wb");
    if (job.out == nullptr) {
        std::perror(path);
        return 1;
    }

    uvdb::event_loop loop;
    uvdb::pool_options opts;
    opts.connection.url = url;
    opts.connection.application_name = "uvdb-export-csv";
    opts.size = 1;
    int exit_code = 1;
    try {
        uvdb::pool db(loop, uvdb::postgres::make_driver(), opts);
        uvdb::spawn(run(db, job), [&db, &exit_code](uvdb::task_outcome<uvdb::result<void>> done) {
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
    }
    if (std::fclose(job.out) != 0) exit_code = 1;
    return exit_code;
}
