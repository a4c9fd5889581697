#pragma once
// Internals of the configuration loader, shared by its source files. Nothing
// here names toml++: config_toml.cpp turns a document into file_entry values
// and the rest of the loader works on those.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <uvdb/config.hpp>
#include <uvdb/credentials.hpp>
#include <vector>

namespace uvdb::detail::cfg {

/// A value as a layer supplied it, before conversion to its setting's type.
struct raw_value {
    enum class type : std::uint8_t { string, integer, floating, boolean, other };
    type t = type::string;
    std::string text;  ///< the string (type string), or the TOML type's name (type other)
    std::int64_t integer = 0;
    double floating = 0.0;
    bool boolean = false;
    /// From the environment or a preset: everything arrives as text, so a
    /// string stands for a number, a duration or a boolean too.
    bool textual = false;

    static raw_value from_text(std::string s) {
        raw_value v;
        v.text = std::move(s);
        v.textual = true;
        return v;
    }
};

/// "a string", "an integer (20)", … for "got …" in messages; never the
/// text of a string (it might be secret).
std::string describe_type(const raw_value& v);

/// A position in the TOML text, 1-based; 0 when unknown.
struct text_pos {
    std::uint32_t line = 0;
    std::uint32_t column = 0;
};

/// One `key = value` of the file, flattened: section "pool", key "size".
/// Keys of [database.extra] have section "database.extra".
struct file_entry {
    std::string section;
    std::string key;
    raw_value value;
    text_pos key_pos;
    text_pos value_pos;
};

/// A refusal with the position it points at, so that a file's problems
/// can be listed in the order of the file.
struct problem {
    text_pos pos;
    std::string message;  ///< complete, with "name:line:column: " in front
};

/// "uvdb.toml:3:8: " (or "uvdb.toml: " when the position is unknown).
std::string at(const std::string& name, text_pos pos);

/// What the TOML layer produced: the entries in the order of the file, and
/// the problems (syntax errors, unknown tables, keys outside any table).
struct file_doc {
    std::vector<file_entry> entries;
    std::vector<problem> problems;
};

/// Parses TOML text. `name` prefixes messages ("uvdb.toml:3:1: …").
file_doc parse_toml(std::string_view text, const std::string& name);

/// The first non-ASCII character toml++ 3.3 must not see (config_scan.cpp
/// says which and why), as a problem; nullopt when there is none.
std::optional<problem> unsupported_character(std::string_view text, const std::string& name);

// ---- values (config_values.cpp) -------------------------------------------

/// Converted value or the reason it was refused. Reasons complete the
/// sentence "<key>: …" and never quote a string value.
template <class T>
struct converted {
    std::optional<T> value;
    std::string reason;
};

inline constexpr std::int64_t max_count = 1'000'000;
inline constexpr std::chrono::milliseconds max_duration{315'360'000'000};  // 10 years

converted<std::size_t> to_count(const raw_value& v, std::size_t min);
/// `min` = 0: zero allowed; `min` = 1 ms: must be positive.
converted<std::chrono::milliseconds> to_duration(const raw_value& v, std::chrono::milliseconds min);
converted<bool> to_bool(const raw_value& v);
converted<double> to_fraction(const raw_value& v);
converted<std::string> to_string_value(const raw_value& v);

/// Parses "500ms", "30s", "10m", "1h", "1.5s", "600" (seconds).
converted<std::chrono::milliseconds> parse_duration(std::string_view text);
/// The shortest exact form: "500ms", "30s", "10m", "1h", "90s".
std::string format_duration(std::chrono::milliseconds d);
/// What an errno value means ("No such file or directory"), for messages.
inline std::string errno_text(int e) {
    return std::error_code(e, std::generic_category()).message();
}

/// A TOML string literal with escapes.
std::string quote(std::string_view s);
/// Text safe to put in one log line: control bytes escaped, at most `max` bytes.
std::string printable(std::string_view s, std::size_t max = 60);

// ---- suggestions (config_suggest.cpp) ---------------------------------------

std::size_t edit_distance(std::string_view a, std::string_view b);
/// The candidate closest to `word` when it is close enough to be a typo.
std::optional<std::string> closest(std::string_view word,
                                   const std::vector<std::string_view>& candidates);
/// "; did you mean \"size\"?" or "".
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

// ---- settings (config_settings.cpp) ---------------------------------------

/// What the layers write into: the configuration, plus how the password is
/// to be fetched once every layer has spoken.
struct draft {
    /// Finds the driver that checks the URL; never null once loading starts.
    const driver_registry* registry = nullptr;
    config cfg;
    std::string password_file;
    std::string password_env;
    std::string password_command;
    std::chrono::milliseconds password_command_timeout{10'000};
};

/// Why the driver for `url`'s scheme refuses it (no such driver, or its
/// check() failed); empty when it is fine. Never contains the URL.
std::string check_url(const driver_registry& registry, std::string_view url);
/// The parameter names a connection string sets itself: a URL's query keys,
/// or the keys of a key=value string (structural; no validation).
std::vector<std::string> url_param_keys(std::string_view url);

/// One key the file (and maybe the environment) can set.
struct setting {
    std::string_view section;  ///< "database", "pool", "log"
    std::string_view key;      ///< "size"
    std::string_view env;      ///< the environment variable, or empty
    /// Converts and stores; returns the reason on refusal.
    std::string (*set)(draft& d, const raw_value& v);
    /// The current value as a TOML literal (for describe and for spotting
    /// what code changed). Never the password.
    std::string (*get)(const config& c);
};

const std::vector<setting>& settings();
const setting* find_setting(std::string_view section, std::string_view key);
/// "pool.size".
std::string dotted(const setting& s);
/// The section names a file may hold, for suggestions.
const std::vector<std::string_view>& section_names();
std::vector<std::string_view> keys_of(std::string_view section);

/// Stores an [database.extra] value; returns the reason on refusal.
std::string set_extra(config& c, std::string_view key, const raw_value& v);
/// Whether an extra key's value must be hidden (its name says password).
bool secret_extra(std::string_view key);

// ---- presets (config_presets.cpp) -------------------------------------------

const preset_info* find_preset(std::string_view name);
std::vector<std::string_view> preset_names();

// ---- environment (config_env.cpp) -----------------------------------------

/// Applies every variable that maps to a setting; problems appended.
void apply_environment(draft& d, const env_lookup& env, std::vector<std::string>& problems);
/// "environment DB_POOL_SIZE=\"abc\"" with the value made printable (never
/// for DATABASE_URL, whose value may hold a password).
std::string env_label(std::string_view name, const std::string& value);

// ---- secrets (config_secrets.cpp) -----------------------------------------

/// Reads a password file: one line, trailing newline dropped. Adds a warning
/// when group or others may read it. `shown` is how messages name it.
converted<std::string> read_password_file(const std::string& path, const std::string& shown,
                                          std::vector<std::string>& warnings);

/// Runs `command` with /bin/sh and returns what it printed on stdout, one
/// line, trailing newline dropped. Blocking (threadpool only). A non-zero
/// exit, a signal, no output or the deadline passing (it is killed) is the
/// reason, naming the command, never its output; its stderr is discarded.
converted<std::string> run_password_command(const std::string& command,
                                            std::chrono::milliseconds timeout);

/// Providers that read the file / run the command before every connect
/// (config_password_providers.cpp). `shown` names the file in messages.
std::shared_ptr<password_provider> password_file_provider(std::string path, std::string shown);
std::shared_ptr<password_provider> password_command_provider(std::string command,
                                                             std::chrono::milliseconds timeout);

}  // namespace uvdb::detail::cfg

// ---- read replicas (config_replicas.cpp) ------------------------------------

namespace uvdb::detail::cfg {

/// The [pool] keys of the replica policy.
std::string set_max_replication_lag(draft& d, const raw_value& v);
std::string get_max_replication_lag(const config& c);
std::string set_replica_probe_interval(draft& d, const raw_value& v);
std::string get_replica_probe_interval(const config& c);
std::string set_replica_fallback(draft& d, const raw_value& v);
std::string get_replica_fallback(const config& c);

/// Stores `key` of the index-th [[replica]] table (url, size); the reason on refusal.
std::string set_replica_key(draft& d, std::size_t index, std::string_view key, const raw_value& v);
/// The keys a [[replica]] table may hold.
std::vector<std::string_view> replica_keys();
/// DB_REPLICA_URLS: whitespace-separated URLs replace the file's [[replica]] tables.
void apply_replica_environment(draft& d, const env_lookup& env, std::vector<std::string>& problems);

}  // namespace uvdb::detail::cfg
