#pragma once
/// \file
/// Which driver measures: chosen by the URL's scheme in a driver registry
/// holding the built-in PostgreSQL and SQLite drivers and the plugins found
/// in UVDB_DRIVER_PATH, so any backend uvdb can reach can be benchmarked.

#include <memory>
#include <string>
#include <uvdb/driver.hpp>
#include <uvdb/driver_registry.hpp>
#include <uvdb/result.hpp>

namespace uvdb::bench {

/// Registers the built-in drivers into `reg` and loads the plugins of
/// UVDB_DRIVER_PATH. A plugin that does not load is reported on stderr
/// (unless `quiet`) and left out; it is an error only if its scheme is then used.
void register_bench_drivers(driver_registry& reg, bool quiet);

/// The driver for `url`. An empty URL means libpq's PG* variables, so PostgreSQL.
/// Errors: errc::driver_not_found naming the registered schemes.
result<std::shared_ptr<driver>> driver_for(const driver_registry& reg, const std::string& url);

}  // namespace uvdb::bench
