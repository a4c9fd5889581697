#pragma once
/// \file
/// Configuration: one loader turns built-in defaults, a named preset, a TOML
/// file and environment variables (and code, last) into the plain option
/// structs of the connection and the pool, and remembers where each value
/// came from so that operators can see what was applied and why.
///
/// Precedence, lowest first: defaults < preset < file < environment < code.
///
/// ```cpp
/// auto cfg = uvdb::load_config();          // UVDB_CONFIG, DATABASE_URL, DB_POOL_SIZE, …
/// if (!cfg) { std::cerr << cfg.err().message() << '\n'; return 1; }
/// auto db = uvdb::make_pool(loop, *cfg);   // <uvdb/pool_from_config.hpp>
/// ```
///
/// The TOML file format, the environment variables and the presets are
/// described in docs/CONFIG.md; examples/uvdb.toml is a commented example.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <uvdb/driver_registry.hpp>
#include <uvdb/pool_options.hpp>
#include <uvdb/replica_options.hpp>
#include <uvdb/result.hpp>
#include <vector>

namespace uvdb {

/// Where a configuration value came from, lowest precedence first.
enum class config_source : std::uint8_t {
    default_value,  ///< uvdb's default, or load_options::base
    preset,         ///< the preset in effect
    file,           ///< the TOML file
    environment,    ///< an environment variable
    code,           ///< load_options::overrides
};

/// The origin of one value.
struct value_origin {
    config_source source = config_source::default_value;
    /// Details: "uvdb.toml:7:1" (file), "DB_POOL_SIZE" (environment), the
    /// preset's name (preset), "application" for a default the program chose
    /// through load_options::base; empty otherwise.
    std::string where;
};

/// "default", "preset aws-rds", "file uvdb.toml:7:1", "environment DB_POOL_SIZE", "code".
std::string to_string(const value_origin& origin);
/// "default", "preset", "file", "environment", "code".
std::string_view to_string(config_source source) noexcept;

/// The effective configuration: plain option structs plus where each value
/// came from. Copyable; holds no toml++ type.
struct config {
    /// The pool's options; `pool.connection` holds how each connection is
    /// opened (URL, password, application_name, timeouts, backend `extra`).
    pool_options pool;
    /// Read replicas ([[replica]] tables, or DB_REPLICA_URLS), in order:
    /// make_routing_pool routes reads to them. Each replica's pool takes
    /// the primary's options with its URL (and size, when given) instead.
    std::vector<replica_config> replicas;
    /// The lag budget and fallback of reads ([pool] max_replication_lag, …).
    replica_policy replica;
    /// The preset in effect ("medium" unless one was chosen).
    std::string preset = "medium";
    /// Level of uvdb's logger: trace, debug, info, warn, error, critical or off.
    std::string log_level = "info";
    /// The TOML file that was read; empty when none.
    std::string file;
    /// How the password was given, for people: `password_file /run/secrets/db`,
    /// `password_env APP_DB_PASSWORD`, `url`, `code` or empty (none). Never the
    /// password itself.
    std::string password_from;
    /// Where each value came from, by dotted key: "database.url", "pool.size",
    /// "database.extra.keepalives_idle", "log.level", "pool.preset", …
    std::map<std::string, value_origin, std::less<>> sources;
    /// Findings that did not stop loading (e.g. a password file that others
    /// can read). load_config has already logged each as a warning.
    std::vector<std::string> warnings;

    connect_options& connection() noexcept { return pool.connection; }
    const connect_options& connection() const noexcept { return pool.connection; }

    /// The origin of a key (a default origin when the key is unknown).
    value_origin origin(std::string_view key) const;
};

/// Looks an environment variable up; nullopt when it is not set.
using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;

/// The process environment (std::getenv).
env_lookup process_environment();
/// A fixed set of variables, for tests and tools (an empty map: no environment).
env_lookup environment_from(std::map<std::string, std::string, std::less<>> vars);

/// What load_config reads and what code contributes.
struct load_options {
    /// The TOML file. nullopt: the path in UVDB_CONFIG when that is set,
    /// else no file; an empty string: no file at all.
    std::optional<std::string> file;
    /// TOML text to use instead of reading a file; `file` (if given) then only
    /// names it in messages and is the base of a relative password_file.
    std::optional<std::string> text;
    /// The preset chosen by code. It beats UVDB_PRESET, which beats the
    /// file's `[pool] preset`; "medium" when nobody chose. Whoever chooses
    /// it, a preset's values sit just above the defaults.
    std::optional<std::string> preset;
    /// How environment variables are read; empty: the process environment.
    env_lookup env;
    /// Starting values instead of uvdb's defaults. Hooks (on_connect, …) and
    /// fields the loader does not know travel through unchanged.
    pool_options base;
    /// Runs last, after the environment: code has the final word. Every
    /// value it changes is recorded as coming from code.
    std::function<void(pool_options&)> overrides;
    /// Where the driver for the URL's scheme is found; its check() validates
    /// the URL (a scheme no driver serves is refused). nullptr:
    /// driver_registry::global(). make_pool passes its registry.
    const driver_registry* registry = nullptr;
};

/// Builds a configuration from defaults, preset, file, environment and code,
/// and validates it (the URL through its driver's check(), so register the
/// drivers first). On any problem it returns errc::bad_config and nothing
/// else: the message lists every problem found, one per line, each with
/// file:line:column, the key and the reason (or the environment variable's
/// name), e.g. `uvdb.toml:7:1: [pool] unknown key "sise"; did you mean "size"?`.
/// No password ever appears in a message.
///
/// Reads the file and a password_file with blocking I/O: call it at start-up,
/// not from a loop callback. Logs a warning for each entry of
/// config::warnings. Any thread.
result<config> load_config(const load_options& opts = {});

/// The effective configuration for people, in TOML form, each value followed
/// by where it came from; the password is never shown.
std::string describe(const config& cfg);

/// One debug-level log line per value saying where it came from
/// (`database_config_source key=pool.size value=20 source="environment DB_POOL_SIZE"`).
/// make_pool calls it after the pool's start-up line.
void log_sources(const config& cfg);

/// Sets uvdb's logger (its own, or the one the application handed over
/// with set_logger) to cfg.log_level.
void apply_log_level(const config& cfg);

/// A preset: a name and the values it sets (dotted keys as in config::sources,
/// values as they would be written in the environment).
struct preset_info {
    std::string_view name;
    std::string_view summary;
    std::vector<std::pair<std::string_view, std::string_view>> values;
};

/// Every preset, in the order docs/CONFIG.md describes them.
const std::vector<preset_info>& presets();

}  // namespace uvdb
