#include "target.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <optional>

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

result<server_facts> probe_server(event_loop& loop, driver& drv, const connect_options& opts) {
    std::optional<result<server_facts>> outcome;
    std::unique_ptr<connection> conn;
    conn = drv.connect(loop, opts, [&](result<void> r) {
        if (!r) {
            outcome.emplace(std::move(r).err());
            conn.reset();
            return;
        }
        conn->query(
            "SELECT s.ssl, coalesce(s.version, ''), current_setting('server_version'), "
            "current_setting('max_connections')::int "
            "FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()",
            [&](result<result_set> q) {
                if (!q) {
                    outcome.emplace(std::move(q).err());
                } else if (q->size() != 1) {
                    outcome.emplace(error(errc::protocol_error, "pg_stat_ssl has no row for this session"));
                } else {
                    const row r0 = (*q)[0];
                    server_facts f;
                    f.ssl = r0.text(0) == "t";
                    f.tls_version = std::string(r0.text(1));
                    f.server_version = std::string(r0.text(2));
                    auto mc = r0.try_get<int>(3);
                    f.max_connections = mc ? *mc : 0;
                    outcome.emplace(std::move(f));
                }
                conn.reset();
            });
    });
    while (!outcome) {
        if (!loop.run_once()) break;
    }
    if (!outcome) return error(errc::internal, "the probe connection never finished");
    return std::move(*outcome);
}

}  // namespace uvdb::bench
