#pragma once
/// \file
/// Finds a driver by URL scheme. Drivers register explicitly (static
/// libraries drop self-registering objects), e.g. `uvdb::postgres::register_driver(reg)`,
/// or are loaded from a plugin (a shared library, see <uvdb/plugin.hpp>).

#include <memory>
#include <string>
#include <string_view>
#include <uvdb/driver.hpp>
#include <uvdb/result.hpp>
#include <vector>

namespace uvdb {

/// What a loaded plugin brought in.
struct plugin_info {
    std::string path;                  ///< the file that was opened
    std::string name;                  ///< the plugin's own name
    std::string built_against;         ///< uvdb version of the headers it was built with
    std::vector<std::string> drivers;  ///< names of the drivers it registered
    std::vector<std::string> schemes;  ///< URL schemes those drivers serve
};

/// The outcome of loading every plugin found on a search path. Plugins are
/// independent: one that fails does not stop the others, and each is either
/// fully registered or not at all.
struct plugin_scan {
    std::vector<plugin_info> loaded;
    std::vector<error> failed;  ///< errc::plugin_error, one per file or directory
};

class driver_registry {
  public:
    /// A process-wide registry for applications that want one. Not thread-safe:
    /// register drivers at start-up, before loops run.
    static driver_registry& global();

    /// Registers `d` under each of its schemes. Fails (nothing registered) when
    /// a scheme is already taken by another driver.
    result<void> add(std::shared_ptr<driver> d);

    /// The driver for a URL's scheme (see url_scheme(); compared
    /// case-insensitively), or errc::driver_not_found naming the scheme and
    /// the registered ones. A string with no scheme (libpq's `key=value`) goes
    /// to the one registered driver whose accepts() says yes; none or several
    /// is errc::driver_not_found. The URL itself is never put into the error.
    result<std::shared_ptr<driver>> for_url(std::string_view url) const;
    /// The driver for a scheme, or nullptr.
    std::shared_ptr<driver> find(std::string_view scheme) const;

    std::vector<std::string> schemes() const;

    /// Loads a driver plugin (dlopen with RTLD_NOW | RTLD_LOCAL) and registers
    /// every driver it makes, or none. `path` is a file path; a bare file name
    /// ("libuvdb-kv.so") is looked up in the directories of UVDB_DRIVER_PATH.
    /// Errors are errc::plugin_error saying what and what to do: no such file,
    /// not a loadable shared library (the loader's text), not a uvdb plugin
    /// (no `uvdb_driver_plugin_entry`), plugin ABI / uvdb version / C++
    /// library mismatch (both sides named), a second copy of uvdb core in the
    /// plugin, its create function failing, or a URL scheme already taken
    /// (naming the driver that has it). On any error nothing is registered and
    /// the library is closed again. Loading the same file into the same
    /// registry twice returns the first load's info.
    ///
    /// Reads the disk and runs the library's initialisers: call it at
    /// start-up, before loops run (the loop must never block on disk). Not
    /// thread-safe, like the rest of the registry. A loaded plugin is never
    /// unloaded (its drivers may outlive the registry).
    result<plugin_info> load_plugin(std::string_view path);

    /// Loads every plugin in the colon-separated directories of `search_path`:
    /// the files named `libuvdb-*.so`, in name order per directory. Other
    /// files are not opened (opening a library runs its code; only files that
    /// say by their name that they are uvdb plugins are trusted that far).
    /// A listed directory that does not exist is reported in `failed`.
    plugin_scan load_plugins_from(std::string_view search_path);

    /// load_plugins_from(getenv("UVDB_DRIVER_PATH")); nothing when it is unset or empty.
    plugin_scan load_plugins_from_env();

    /// The plugins loaded into this registry, in load order.
    std::vector<plugin_info> plugins() const;

  private:
    // Registers every driver of `ds` under its schemes, or none (first conflict wins).
    result<void> add_all(const std::vector<std::shared_ptr<driver>>& ds);

    struct loaded_plugin {
        void* handle = nullptr;  // dlopen handle; never closed once registered
        plugin_info info;
    };

    std::vector<std::pair<std::string, std::shared_ptr<driver>>> entries_;
    std::vector<loaded_plugin> plugins_;
};

}  // namespace uvdb
