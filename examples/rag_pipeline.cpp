// rag_pipeline: the request handler of a retrieval-augmented generation (RAG)
// service, which makes ten database calls per request (document, prompt,
// chunks, embedding metadata, token budget, related documents, request log…),
// served many times concurrently; prints requests/s and latency percentiles.
//
//   rag_pipeline [--requests 200] [--concurrency 20] 'postgresql://user:password@host:5432/db?...'
//   DATABASE_URL=... rag_pipeline
//
// It creates a schema of its own (uvdb_rag_<pid>) with a few hundred rows and
// drops it at the end.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <uvdb/coro.hpp>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/uvdb.hpp>
#include <vector>

using clock_type = std::chrono::steady_clock;

struct load_state {
    std::string schema;
    int requests = 200, concurrency = 20, next = 0, failures = 0;
    std::string first_error;
    std::vector<double> latencies_ms;
    clock_type::time_point started;
    int exit_code = 1;
};

// One request. It takes one lease and keeps it for all ten statements, as
// application code does: ten separate db.query() calls would queue for the
// pool ten times and could not share a transaction or session state.
uvdb::task<uvdb::result<int>> handle_request(uvdb::pool& db, int doc) {
    auto l = co_await db.acquire();  // every error below ends the request with it

    auto document = co_await l.query("SELECT topic FROM documents WHERE id = $1", doc);
    const int topic = co_await document.one<int>();  // no such document: errc::no_rows
    co_await l.query("SELECT value FROM settings WHERE key = 'prompt_template'");
    auto chunks = co_await l.query(
        "SELECT id, content, tokens FROM chunks WHERE doc_id = $1 ORDER BY ord LIMIT 8", doc);
    co_await l.query(
        "SELECT e.chunk_id, e.model, e.dims FROM embeddings e JOIN chunks c ON c.id = e.chunk_id "
        "WHERE c.doc_id = $1",
        doc);
    auto budget = co_await l.query("SELECT sum(tokens) FROM chunks WHERE doc_id = $1", doc);
    co_await l.query(
        "SELECT id, title FROM documents WHERE topic = $1 AND id <> $2 ORDER BY hits DESC LIMIT 3",
        topic, doc);
    auto logged = co_await l.query(
        "INSERT INTO request_log (doc_id, started_at) VALUES ($1, now()) RETURNING id", doc);
    co_await l.query("UPDATE documents SET hits = hits + 1 WHERE id = $1", doc);
    co_await l.query("SELECT count(*) FROM request_log WHERE doc_id = $1", doc);
    co_await l.query(
        "UPDATE request_log SET chunks_used = $2, tokens = $3, finished_at = now() WHERE id = $1",
        logged.value<std::int64_t>(), chunks.size(), budget.value<std::int64_t>());
    co_return static_cast<int>(chunks.size());
}  // the lease goes back to the pool here, on every path

// The schema and its rows. on_connect (see main) points every connection's
// search_path at the schema, so the handler's SQL names plain tables.
uvdb::task<uvdb::result<void>> create_schema(uvdb::pool& db, const std::string& schema) {
    const std::vector<std::string> setup = {
        "CREATE SCHEMA " + schema,
        "CREATE TABLE documents (id int PRIMARY KEY, title text NOT NULL, topic int NOT NULL, hits "
        "int NOT NULL)",
        "CREATE TABLE chunks (id serial PRIMARY KEY, doc_id int NOT NULL REFERENCES documents, ord "
        "int NOT NULL, "
        "content text NOT NULL, tokens int NOT NULL)",
        "CREATE INDEX ON chunks (doc_id, ord)",
        "CREATE TABLE embeddings (chunk_id int PRIMARY KEY REFERENCES chunks, model text NOT NULL, "
        "dims int NOT NULL)",
        "CREATE TABLE settings (key text PRIMARY KEY, value text NOT NULL)",
        "CREATE TABLE request_log (id bigserial PRIMARY KEY, doc_id int NOT NULL, started_at "
        "timestamptz NOT NULL, "
        "finished_at timestamptz, chunks_used int, tokens int)",
        "CREATE INDEX ON request_log (doc_id)",
        "INSERT INTO documents SELECT g, 'document ' || g, g % 5, 0 FROM generate_series(1, 50) g",
        "INSERT INTO chunks (doc_id, ord, content, tokens) SELECT d, o, repeat('lorem ipsum ', "
        "20), 60 + o "
        "FROM generate_series(1, 50) d, generate_series(1, 12) o",
        "INSERT INTO embeddings SELECT id, 'text-embedding-3-small', 1536 FROM chunks",
        "INSERT INTO settings VALUES ('prompt_template', 'Answer from these passages only: "
        "{chunks}')",
    };
    for (const std::string& sql : setup) {
        co_await db.query(sql);  // an error ends the task with it
    }
    co_return uvdb::ok();
}

// Prints the numbers, drops the schema (also after a failure) and closes the pool.
uvdb::task<void> report_and_drop(uvdb::pool& db, load_state& s) {
    if (!s.latencies_ms.empty()) {
        const double seconds = std::chrono::duration<double>(clock_type::now() - s.started).count();
        std::sort(s.latencies_ms.begin(), s.latencies_ms.end());
        auto pct = [&s](double q) {
            return s.latencies_ms[static_cast<std::size_t>(q * double(s.latencies_ms.size() - 1))];
        };
        std::printf(
            "%zu requests (10 statements each) in %.2f s: %.0f requests/s, %.0f statements/s\n",
            s.latencies_ms.size(), seconds, double(s.latencies_ms.size()) / seconds,
            10.0 * double(s.latencies_ms.size()) / seconds);
        std::printf("latency p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", pct(0.50), pct(0.99),
                    s.latencies_ms.back());
        const uvdb::pool_stats st = db.stats();
        std::printf("pool: %llu connections opened, acquire wait p99 <= %lld us\n",
                    static_cast<unsigned long long>(st.connects),
                    static_cast<long long>(st.wait_time.percentile(0.99).count()));
    }
    if (s.failures > 0)
        std::fprintf(stderr, "error: %d requests failed, first: %s\n", s.failures,
                     s.first_error.c_str());
    auto dropped = co_await db.query("DROP SCHEMA IF EXISTS " + s.schema + " CASCADE");
    if (!dropped)
        std::fprintf(stderr, "warning: could not drop schema: %s\n",
                     dropped.err().to_string().c_str());
    s.exit_code = s.failures == 0 && !s.latencies_ms.empty() ? 0 : 1;
    db.close();
}

// One of `concurrency` workers: takes the next request number until none is left.
uvdb::task<void> worker(uvdb::pool& db, load_state& s) {
    while (s.next < s.requests) {
        const int request = s.next++;
        const auto t0 = clock_type::now();
        auto r = co_await handle_request(db, 1 + request % 50);
        if (r) {
            s.latencies_ms.push_back(
                std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
        } else if (s.failures++ == 0) {
            s.first_error = r.err().to_string();
        }
    }
}

uvdb::task<void> run(uvdb::pool& db, load_state& s) {
    if (auto made = co_await create_schema(db, s.schema); !made) {
        s.failures = 1;
        s.first_error = made.error().to_string();
    } else {
        std::printf("serving %d requests, %d at a time\n", s.requests, s.concurrency);
        s.started = clock_type::now();
        std::vector<uvdb::task<void>> workers;
        for (int i = 0; i < s.concurrency; ++i) workers.push_back(worker(db, s));
        try {
            co_await uvdb::when_all(std::move(workers));  // resumes once every worker ended
        } catch (const std::exception& e) {
            if (s.failures++ == 0) s.first_error = std::string("a worker threw: ") + e.what();
        }
    }
    co_await report_and_drop(db, s);
}

int main(int argc, char** argv) {
    load_state s;
    const char* url = std::getenv("DATABASE_URL");
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--requests") == 0 && i + 1 < argc) {
            s.requests = std::atoi(argv[++i]);
        } else if (std::strcmp(argv[i], "--concurrency") == 0 && i + 1 < argc) {
            s.concurrency = std::atoi(argv[++i]);
        } else {
            url = argv[i];
        }
    }
    if (url == nullptr || *url == '\0' || s.requests < 1 || s.concurrency < 1) {
        std::fprintf(
            stderr,
            "usage: %s [--requests N] [--concurrency C] postgresql://user:password@host:port/db"
            "  (or set DATABASE_URL)\n",
            argv[0]);
        return 2;
    }
    std::printf("connecting to %s\n", uvdb::mask_password(url).c_str());
    s.schema = "uvdb_rag_" + std::to_string(::getpid());

    uvdb::event_loop loop;
    uvdb::pool_options opts;
    opts.connection.url = url;
    opts.connection.application_name = "uvdb-rag-pipeline";
    opts.size = static_cast<std::size_t>(s.concurrency);  // one connection per request in flight
    // Runs once per new connection, before anyone uses it.
    opts.on_connect = [schema = s.schema](uvdb::connection& c,
                                          uvdb::connection::done_callback done) {
        c.query("SET search_path TO " + schema,
                [done = std::move(done)](uvdb::result<uvdb::result_set> r) mutable {
                    done(uvdb::result<void>(std::move(r)));  // keeps the error, drops the rows
                });
    };
    try {
        uvdb::pool db(loop, uvdb::postgres::make_driver(), opts);
        uvdb::spawn(run(db, s));
        loop.run();
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return s.exit_code;
}
