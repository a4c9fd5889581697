#pragma once
// uvdb-config --check and --advise (uvdb_config_check.cpp).

#include <cstddef>
#include <string>
#include <uvdb/config.hpp>
#include <uvdb/driver_registry.hpp>

namespace uvdb_config {

/// Opens one connection with cfg's settings and prints what a new user
/// needs: reached or not and why, server version, TLS, whether
/// max_connections holds (size + max_overflow) × instances, the round trip.
/// Exit status: 0 reached and the limit holds, 1 not reached, 3 reached but
/// the server's max_connections cannot hold the pools.
int run_check(const uvdb::config& cfg, const uvdb::driver_registry& drivers, std::size_t instances);

/// Reads an advisor snapshot (uvdb/advisor.hpp's text; "-" = stdin) and
/// prints the advice. instances / server_max_connections, when non-zero,
/// replace the snapshot's. Exit status 0, or 1 when the file is unreadable
/// or malformed.
int run_advise(const std::string& path, std::size_t instances, int server_max_connections);

}  // namespace uvdb_config
