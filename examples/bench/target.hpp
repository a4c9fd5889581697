#pragma once
/// \file
/// Which server to measure and with which pool settings (--url,
/// DATABASE_URL, libpq's PG* variables, --config), and the one check made
/// before timing: that the connection uses TLS, and which version.

#include <string>

#include <uvdb/driver.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/pool_options.hpp>
#include <uvdb/result.hpp>

#include "bench_options.hpp"

namespace uvdb::bench {

/// The server and the pool settings the scenarios use.
struct target {
    /// Pool settings; pool.connection is how every connection is opened.
    pool_options pool;
    /// Where the connection came from: "--url", "DATABASE_URL", "PG* variables", "config FILE".
    std::string source;
    /// The connection for people, password masked.
    std::string described;
};

/// Resolves the connection and the pool settings from the options and the
/// environment. Errors: errc::bad_config (e.g. a bad --config file).
result<target> resolve_target(const bench_options& opts);

/// What the probe connection saw.
struct server_facts {
    bool ssl = false;
    std::string tls_version;     ///< "TLSv1.3"; empty without TLS
    std::string server_version;  ///< "15.18"
    int max_connections = 0;
};

/// Opens one connection, asks pg_stat_ssl about it and closes it. Runs the loop.
result<server_facts> probe_server(event_loop& loop, driver& drv, const connect_options& opts);

}  // namespace uvdb::bench
