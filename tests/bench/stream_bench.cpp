// uvdb-stream-bench: N rows of about 100 bytes (SELECT i, repeat('x', 92) FROM
// generate_series(1, N) i) streamed through uvdb, beside the same result
// fetched whole with plain libpq (PQexec), and COPY TO STDOUT through uvdb
// beside `psql -c "\copy (…) to '/dev/null'"`. Prints rows/s and the peak RSS
// growth (getrusage ru_maxrss) of each; asserts nothing.
//
//   uvdb-stream-bench [N]              every mode, each in its own process
//   uvdb-stream-bench MODE N           one mode: stream, libpq, copy, psql-copy
//
// The server is $DATABASE_URL, else $UVDB_TEST_URL. Exit status 0 when every
// mode ran and read all N rows.

#include <libpq-fe.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <uvdb/event_loop.hpp>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/stream.hpp>

namespace {

using clock_type = std::chrono::steady_clock;

long peak_rss_kib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

std::string server_url() {
    for (const char* name : {"DATABASE_URL", "UVDB_TEST_URL"}) {
        if (const char* v = std::getenv(name); v != nullptr && *v != '\0') return v;
    }
    return {};
}

std::string select_sql(std::int64_t n) {
    return "SELECT i, repeat('x', 92) FROM generate_series(1, " + std::to_string(n) + ") i";
}

void report(const char* mode, std::int64_t rows, double secs, long rss_growth_kib) {
    std::printf("%-10s rows=%lld  %.2f s  %.0f rows/s  peak RSS growth %.1f MiB\n", mode,
                static_cast<long long>(rows), secs,
                secs > 0 ? static_cast<double>(rows) / secs : 0.0,
                static_cast<double>(rss_growth_kib) / 1024.0);
    std::fflush(stdout);
}

/// Opens a uvdb connection and runs `body` with it once connected.
template <class Body>
int with_uvdb(const std::string& url, Body body) {
    uvdb::event_loop loop;
    auto drv = uvdb::postgres::make_driver();
    uvdb::connect_options o;
    o.url = url;
    o.application_name = "uvdb-stream-bench";
    std::optional<uvdb::result<void>> connected;
    auto conn =
        drv->connect(loop, o, [&](uvdb::result<void> r) { connected.emplace(std::move(r)); });
    while (!connected) loop.run_once();
    if (!*connected) {
        std::fprintf(stderr, "connect failed: %s\n", connected->error().to_string().c_str());
        return 1;
    }
    return body(loop, *conn);
}

int run_stream(const std::string& url, std::int64_t n) {
    return with_uvdb(url, [&](uvdb::event_loop& loop, uvdb::connection& conn) {
        const long rss0 = peak_rss_kib();
        const auto t0 = clock_type::now();
        std::int64_t rows = 0;
        std::size_t bytes = 0;
        bool done = false;
        std::optional<uvdb::error> failed;
        uvdb::stream_options so;
        so.timeout = std::chrono::milliseconds{0};
        uvdb::row_stream s = conn.stream(so, select_sql(n));
        // The callback form, asking for more from inside the callback.
        std::function<void(uvdb::result<std::optional<uvdb::result_set>>)> step =
            [&](uvdb::result<std::optional<uvdb::result_set>> r) {
                if (!r) {
                    failed = r.error();
                    done = true;
                    return;
                }
                if (!*r) {
                    done = true;
                    return;
                }
                for (const auto row : **r) bytes += row.text(1).size();  // touch every row
                rows += static_cast<std::int64_t>((*r)->size());
                s.next([&step](auto x) { step(std::move(x)); });
            };
        s.next([&step](auto x) { step(std::move(x)); });
        while (!done) loop.run_once();
        const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
        if (failed) {
            std::fprintf(stderr, "stream failed: %s\n", failed->to_string().c_str());
            return 1;
        }
        report("stream", rows, secs, peak_rss_kib() - rss0);
        return rows == n && bytes == static_cast<std::size_t>(n) * 92 ? 0 : 1;
    });
}

int run_copy(const std::string& url, std::int64_t n) {
    return with_uvdb(url, [&](uvdb::event_loop& loop, uvdb::connection& conn) {
        const long rss0 = peak_rss_kib();
        const auto t0 = clock_type::now();
        uvdb::stream_options so;
        so.timeout = std::chrono::milliseconds{0};
        so.chunk_bytes = 256 * 1024;
        uvdb::copy_stream s = conn.copy_out("COPY (" + select_sql(n) + ") TO STDOUT", so);
        std::size_t bytes = 0;
        bool done = false;
        std::optional<uvdb::error> failed;
        std::function<void(uvdb::result<std::optional<std::string>>)> step =
            [&](uvdb::result<std::optional<std::string>> r) {
                if (!r || !*r) {
                    if (!r) failed = r.error();
                    done = true;
                    return;
                }
                bytes += (*r)->size();
                s.next([&step](auto x) { step(std::move(x)); });
            };
        s.next([&step](auto x) { step(std::move(x)); });
        while (!done) loop.run_once();
        const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
        if (failed) {
            std::fprintf(stderr, "copy failed: %s\n", failed->to_string().c_str());
            return 1;
        }
        report("copy", static_cast<std::int64_t>(s.rows()), secs, peak_rss_kib() - rss0);
        std::printf("           %.1f MiB of COPY data\n", static_cast<double>(bytes) / 1048576.0);
        return static_cast<std::int64_t>(s.rows()) == n ? 0 : 1;
    });
}

int run_libpq(const std::string& url, std::int64_t n) {
    PGconn* c = PQconnectdb(url.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
        std::fprintf(stderr, "libpq connect failed: %s", PQerrorMessage(c));
        PQfinish(c);
        return 1;
    }
    const long rss0 = peak_rss_kib();
    const auto t0 = clock_type::now();
    PGresult* r = PQexec(c, select_sql(n).c_str());
    std::int64_t rows = 0;
    std::size_t bytes = 0;
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        rows = PQntuples(r);
        for (int i = 0; i < rows; ++i) bytes += static_cast<std::size_t>(PQgetlength(r, i, 1));
    } else {
        std::fprintf(stderr, "libpq query failed: %s", PQerrorMessage(c));
    }
    const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    report("libpq", rows, secs, peak_rss_kib() - rss0);
    PQclear(r);
    PQfinish(c);
    return rows == n && bytes == static_cast<std::size_t>(n) * 92 ? 0 : 1;
}

int run_psql_copy(const std::string& url, std::int64_t n) {
    // The URL goes through the environment, never the command line (ps would show it).
    if (setenv("UVDB_STREAM_BENCH_URL", url.c_str(), 1) != 0) return 1;
    const std::string cmd = "psql -X -q \"$UVDB_STREAM_BENCH_URL\" -c \"\\copy (" + select_sql(n) +
                            ") to '/dev/null'\"";
    const auto t0 = clock_type::now();
    const int rc = std::system(cmd.c_str());
    const double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    if (rc != 0) {
        std::fprintf(stderr, "psql failed (status %d)\n", rc);
        return 1;
    }
    report("psql-copy", n, secs, 0);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string url = server_url();
    if (url.empty()) {
        std::fprintf(stderr, "uvdb-stream-bench: set DATABASE_URL or UVDB_TEST_URL\n");
        return 2;
    }
    std::string mode = "all";
    std::int64_t n = 10'000'000;
    if (argc == 2) {
        n = std::atoll(argv[1]);
    } else if (argc >= 3) {
        mode = argv[1];
        n = std::atoll(argv[2]);
    }
    if (n <= 0) {
        std::fprintf(stderr,
                     "usage: uvdb-stream-bench [MODE] N (MODE: stream libpq copy psql-copy)\n");
        return 2;
    }
    if (mode == "stream") return run_stream(url, n);
    if (mode == "libpq") return run_libpq(url, n);
    if (mode == "copy") return run_copy(url, n);
    if (mode == "psql-copy") return run_psql_copy(url, n);
    if (mode != "all") {
        std::fprintf(stderr, "uvdb-stream-bench: unknown mode %s\n", mode.c_str());
        return 2;
    }
    // Each mode in its own process, so that each peak RSS is its own.
    int failures = 0;
    for (const char* m : {"stream", "libpq", "copy", "psql-copy"}) {
        const std::string cmd = std::string("'") + argv[0] + "' " + m + " " + std::to_string(n);
        if (std::system(cmd.c_str()) != 0) ++failures;
    }
    return failures == 0 ? 0 : 1;
}
