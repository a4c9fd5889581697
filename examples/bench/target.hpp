#pragma once
/// \file
/// Which server to measure and with which pool settings (--url,
/// DATABASE_URL, libpq's PG* variables, --config), and the one check made
/// before timing: what the server is (for PostgreSQL: that the connection
/// uses TLS, and which version), as its driver describes it.

#include <string>
#include <string_view>
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
struct probe_result {
    server_facts server;  ///< as the driver describes it (connection::describe_server)
    /// Empty, or why the rag query cannot run on this driver (rag is then skipped).
    std::string rag_problem;
};

/// Opens one connection, asks the driver to describe its server, checks that
/// SELECT 1 runs (an error otherwise) and that the rag query `rag_sql` answers (with parameter 0:
/// 1) and closes it. Runs the loop.
result<probe_result> probe_server(event_loop& loop, driver& drv, const connect_options& opts,
                                  std::string_view rag_sql);

/// "TLSv1.3" for a server with TLS (or "NO TLS"), else "SQLite 3.40.1 in-process":
/// the start of every scenario's notes.
std::string transport_note(const server_facts& f);

/// "PostgreSQL 15.8, TLSv1.3, max_connections=120" for the report's header.
std::string server_line(const server_facts& f);

}  // namespace uvdb::bench
