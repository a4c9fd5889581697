#pragma once
/// \file
/// A pool from a configuration in one call.
///
/// ```cpp
/// uvdb::postgres::register_driver();
/// auto db = uvdb::make_pool(loop, uvdb::load_options{});   // file, environment, defaults
/// if (!db) { std::cerr << db.err().message() << '\n'; return 1; }
/// ```

#include <uvdb/config.hpp>
#include <uvdb/driver_registry.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/result.hpp>

namespace uvdb {

/// A pool on `loop` configured by `cfg`, its driver found in `registry` by
/// the URL's scheme. Sets uvdb's log level to cfg.log_level when the
/// configuration chose one (file, environment or code), then creates the
/// pool, which logs `database_engine_configured …` once, then logs at debug
/// level where each value came from. Errors: errc::driver_not_found,
/// errc::bad_config. Loop thread.
result<pool> make_pool(event_loop& loop, const config& cfg,
                       const driver_registry& registry = driver_registry::global());

/// load_config(opts) then make_pool: the errors of either. Reads files with
/// blocking I/O (see load_config): call it at start-up.
result<pool> make_pool(event_loop& loop, const load_options& opts,
                       const driver_registry& registry = driver_registry::global());

}  // namespace uvdb
