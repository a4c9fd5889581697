#include "target.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <optional>
#include <uvdb/param.hpp>
#include <uvdb/url.hpp>

#include "bench_config.hpp"

namespace uvdb::bench {

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::string();
}

std::string describe_pg_environment() {
    std::string host = env("PGHOST");
    std::string out = "libpq defaults (PGHOST=" + (host.empty() ? std::string("<unset>") : host);
    for (const char* var : {"PGPORT", "PGUSER", "PGDATABASE", "PGSSLMODE"}) {
        std::string v = env(var);
        if (!v.empty()) out += std::string(", ") + var + "=" + v;
    }
    return out + ")";
}

std::chrono::milliseconds to_ms(double seconds) {
    return std::chrono::milliseconds{static_cast<std::int64_t>(std::llround(seconds * 1000.0))};
}

}  // namespace

result<target> resolve_target(const bench_options& opts) {
    target t;
    if (opts.config_file) {
        auto base = load_config_file(*opts.config_file);
        if (!base) return std::move(base).err();
        t.pool = std::move(*base);
        t.source = "config " + *opts.config_file;
    } else {
        // pool_options' defaults are the benchmark's: 20, 40, 30 s, pre-ping, 3600 s.
        t.pool = pool_options{};
        if (std::string url = env("DATABASE_URL"); !url.empty()) {
            t.pool.connection.url = std::move(url);
            t.source = "DATABASE_URL";
        } else {
            // An empty conninfo string: libpq takes everything from PGHOST, PGPORT, …
            t.pool.connection.url.clear();
            t.source = "PG* variables";
        }
    }
    if (opts.url) {
        t.pool.connection.url = *opts.url;
        t.source = "--url";
    }
    t.pool.connection.application_name = "uvdb-bench";
    if (opts.pool_size) t.pool.size = *opts.pool_size;
    if (opts.max_overflow) t.pool.max_overflow = *opts.max_overflow;
    if (opts.pipeline_depth) t.pool.pipeline_depth = *opts.pipeline_depth;
    if (opts.min_idle) t.pool.min_idle = *opts.min_idle;
    if (opts.timeout_s) t.pool.timeout = to_ms(*opts.timeout_s);
    if (opts.recycle_s) t.pool.recycle = to_ms(*opts.recycle_s);
    if (opts.pre_ping) t.pool.pre_ping = *opts.pre_ping;
    if (opts.overflow_delay_s) {
        t.pool.overflow_delay.reset();
        if (*opts.overflow_delay_s) t.pool.overflow_delay = to_ms(**opts.overflow_delay_s);
    }
    // A configuration's min_idle follows a smaller --pool-size; an explicit
    // --min-idle above it is an error validate() explains.
    if (!opts.min_idle && t.pool.min_idle > t.pool.size) t.pool.min_idle = t.pool.size;

    if (auto ok = validate(t.pool); !ok) return std::move(ok).err();
    t.described = t.pool.connection.url.empty() ? describe_pg_environment()
                                                : mask_password(t.pool.connection.url);
    return t;
}

result<probe_result> probe_server(event_loop& loop, driver& drv, const connect_options& opts,
                                  std::string_view rag_sql) {
    std::optional<result<probe_result>> outcome;
    probe_result found;
    std::unique_ptr<connection> conn;
    auto finish = [&](result<probe_result> r) {
        outcome.emplace(std::move(r));
        conn.reset();
    };
    conn = drv.connect(loop, opts, [&](result<void> r) {
        if (!r) return finish(std::move(r).err());
        conn->describe_server([&](result<server_facts> f) {
            if (!f) return finish(std::move(f).err());
            found.server = std::move(*f);
            // Every scenario runs SELECT 1: a driver that cannot is refused
            // here rather than failing every op.
            conn->query("SELECT 1", [&](result<result_set> one) {
                if (!one) {
                    error e = std::move(one).err();
                    e.with_message("the driver cannot run SELECT 1: " + e.message());
                    return finish(std::move(e));
                }
                // A driver that speaks another dialect (a plugin) may not know the
                // rag query: then only rag is skipped, with the reason.
                conn->query(rag_sql, make_params(0), [&](result<result_set> q) {
                    if (!q) {
                        found.rag_problem = q.err().to_string();
                    } else if (q->size() != 1 || !(*q)[0].try_get<int>(0) ||
                               *(*q)[0].try_get<int>(0) != 1) {
                        found.rag_problem = "it did not answer 1";
                    }
                    finish(std::move(found));
                });
            });
        });
    });
    while (!outcome) {
        if (!loop.run_once()) break;
    }
    if (!outcome) return error(errc::internal, "the probe connection never finished");
    return std::move(*outcome);
}

std::string transport_note(const server_facts& f) {
    // A network server: the transport alone, as docs/BENCHMARKS.md's notes begin ("TLSv1.3").
    if (f.tls) return f.transport.empty() ? std::string(*f.tls ? "TLS" : "NO TLS") : f.transport;
    std::string out = f.product;
    for (const std::string* part : {&f.version, &f.transport}) {
        if (part->empty()) continue;
        if (!out.empty()) out += ' ';
        out += *part;
    }
    return out.empty() ? std::string("server unknown") : out;
}

std::string server_line(const server_facts& f) {
    std::string out = f.product.empty() ? std::string("unknown server") : f.product;
    if (!f.version.empty()) out += " " + f.version;
    if (!f.transport.empty()) out += ", " + f.transport;
    if (f.max_connections > 0) out += ", max_connections=" + std::to_string(f.max_connections);
    return out;
}

}  // namespace uvdb::bench
