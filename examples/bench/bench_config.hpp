#pragma once
/// \file
/// --config FILE through uvdb's configuration loader (<uvdb/config.hpp>):
/// the file, then the environment on top (DATABASE_URL, DB_POOL_SIZE, …), as
/// every uvdb program reads it.

#include <string>
#include <uvdb/pool_options.hpp>
#include <uvdb/result.hpp>

namespace uvdb::bench {

/// The pool options (and connection) the file and the environment give.
/// Errors: errc::bad_config with file:line, key and reason.
result<pool_options> load_config_file(const std::string& path);

}  // namespace uvdb::bench
