#pragma once
/// \file
/// The driver plugin ABI: what a shared library exports so that
/// `driver_registry::load_plugin()` can load it. A plugin author writes one line:
///
///     UVDB_DEFINE_DRIVER_PLUGIN("kv", [] { return std::make_shared<kv_driver>(); });
///
/// The library then exports one C symbol, `uvdb_driver_plugin_entry`, that
/// returns a pointer to a `uvdb_driver_plugin` descriptor. The loader reads
/// the descriptor's first two fields (they never move), and only when they
/// match reads the rest and calls `create`.
///
/// What must match between the program and a plugin (checked at load, each
/// with its own error):
///  - the plugin ABI version (UVDB_PLUGIN_ABI_VERSION): the layout of the
///    descriptor and the meaning of its fields, and the layout of the driver
///    interface's classes when they change within one uvdb major.minor
///    version (a new virtual function moves the vtable: see the history at
///    UVDB_PLUGIN_ABI_VERSION);
///  - uvdb's major.minor version: the driver interface is a set of C++
///    classes (vtables, std::string, std::function-like members), so a plugin
///    is built against the headers of the uvdb it runs in. Patch releases do
///    not change the interface;
///  - the C++ standard library and its ABI flavour (libstdc++ with the C++11
///    or the old std::string, libc++, libstdc++'s debug mode): std::string,
///    std::vector and std::shared_ptr cross the boundary;
///  - one copy of uvdb core in the process: the plugin must link the
///    program's libuvdb_core.so, not carry a static copy (two copies would
///    mean two error categories, two loggers, two driver registries).
///
/// Lifetime: a loaded plugin is never unloaded. Drivers and connections it
/// made may live anywhere in the program (shared_ptr), and their code must
/// stay mapped while any exists; a library is unloaded only when loading it
/// failed and nothing it made survived.

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <uvdb/driver.hpp>
#include <uvdb/error.hpp>
#include <uvdb/version.hpp>
#include <vector>

/// Version of the descriptor layout below and of the driver interface's
/// vtables. Bumped when a descriptor field changes or a virtual function is
/// added to uvdb::driver or uvdb::connection, so that a plugin built against
/// older headers is refused at load instead of calling past its vtable.
///   1: the first plugin ABI.
///   2: uvdb::driver::accepts() and uvdb::driver::check().
///   3: uvdb::params (what connection::query takes) changed layout: values
///      and their bytes are held inline up to a budget, read as param_view.
///   4: streams and COPY: uvdb::connection::open_stream(), open_copy_out(),
///      start_copy_in(); notifications: on_notification(), listen(),
///      unlisten(), notify(); uvdb::driver::quote_identifier().
///   5: uvdb::connection::reported_role() and role_lost() (failover).
///   6: pipelining: uvdb::connection::pending(), pipeline_depth(),
///      front_sent_at(); connect_options::pipeline_depth.
///   7: uvdb::connection::query_group() (one Sync group for a batch).
#define UVDB_PLUGIN_ABI_VERSION 7u

/// Name of the C symbol every plugin exports.
#define UVDB_PLUGIN_ENTRY_SYMBOL "uvdb_driver_plugin_entry"

#if defined(_WIN32)
#define UVDB_PLUGIN_EXPORT __declspec(dllexport)
#else
#define UVDB_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

// The standard-library identity that decides whether std:: types can cross
// the boundary (checked by the loader, see above).
#if defined(_LIBCPP_VERSION)
#define UVDB_DETAIL_STDLIB_TAG "libc++"
#elif defined(__GLIBCXX__)
#if _GLIBCXX_USE_CXX11_ABI
#define UVDB_DETAIL_STDLIB_BASE "libstdc++ (C++11 std::string ABI"
#else
#define UVDB_DETAIL_STDLIB_BASE "libstdc++ (old std::string ABI"
#endif
#if defined(_GLIBCXX_DEBUG)
#define UVDB_DETAIL_STDLIB_TAG UVDB_DETAIL_STDLIB_BASE ", debug mode)"
#else
#define UVDB_DETAIL_STDLIB_TAG UVDB_DETAIL_STDLIB_BASE ")"
#endif
#else
#define UVDB_DETAIL_STDLIB_TAG "unknown C++ standard library"
#endif

namespace uvdb {
/// What a plugin's create function hands over: one or more drivers.
using plugin_drivers = std::vector<std::shared_ptr<driver>>;
}  // namespace uvdb

extern "C" {

/// Fills `out` with the plugin's drivers and returns true, or writes what went
/// wrong to `error_text` and returns false. Called once per registry that
/// loads the plugin, at start-up, on the thread that loads it.
typedef bool (*uvdb_plugin_create_fn)(uvdb::plugin_drivers* out, std::string* error_text);

/// The descriptor a plugin exports. Plain data with static storage in the
/// plugin; the loader never frees it. Only `abi_version` and `descriptor_size`
/// are read before the ABI version is known to match.
struct uvdb_driver_plugin {
    std::uint32_t abi_version;      ///< UVDB_PLUGIN_ABI_VERSION the plugin was built with
    std::uint32_t descriptor_size;  ///< sizeof(uvdb_driver_plugin) in the plugin
    const char* plugin_name;        ///< short name for messages ("kv", "postgresql")
    const char* uvdb_version;       ///< UVDB_VERSION_STRING of the headers it was built with
    std::uint32_t uvdb_version_major;
    std::uint32_t uvdb_version_minor;
    const char* cxx_stdlib;        ///< UVDB_DETAIL_STDLIB_TAG of the plugin's build
    const void* core_identity;     ///< &uvdb::uvdb_category() as the plugin sees it
    uvdb_plugin_create_fn create;  ///< makes the drivers
};

/// The signature of the exported entry point.
typedef const uvdb_driver_plugin* (*uvdb_plugin_entry_fn)(void);

}  // extern "C"

namespace uvdb::detail {

/// Calls the author's factory; turns what it returns (one driver or a list)
/// into plugin_drivers and an exception into error text, so that no exception
/// crosses the plugin boundary.
template <class Factory>
bool plugin_create_with(Factory factory, plugin_drivers* out, std::string* error_text) noexcept {
    try {
        auto made = factory();
        if constexpr (std::is_convertible_v<decltype(made), std::shared_ptr<driver>>) {
            out->clear();
            out->push_back(std::move(made));
        } else {
            *out = plugin_drivers(made.begin(), made.end());
        }
        return true;
    } catch (const std::exception& e) {
        *error_text = e.what();
    } catch (...) {
        *error_text = "an exception that is not a std::exception";
    }
    return false;
}

/// The descriptor for a plugin built against these headers.
inline uvdb_driver_plugin make_plugin_descriptor(const char* name,
                                                 uvdb_plugin_create_fn create) noexcept {
    return uvdb_driver_plugin{UVDB_PLUGIN_ABI_VERSION,
                              static_cast<std::uint32_t>(sizeof(uvdb_driver_plugin)),
                              name,
                              UVDB_VERSION_STRING,
                              UVDB_VERSION_MAJOR,
                              UVDB_VERSION_MINOR,
                              UVDB_DETAIL_STDLIB_TAG,
                              &uvdb_category(),
                              create};
}

}  // namespace uvdb::detail

/// Defines the plugin's entry point. `plugin_name` is a string literal; the
/// rest is a callable (a function name or a lambda without captures) that
/// returns a std::shared_ptr<uvdb::driver> or a uvdb::plugin_drivers list.
/// Use it once per shared library, at namespace scope, followed by a semicolon.
#define UVDB_DEFINE_DRIVER_PLUGIN(plugin_name, ...)                                          \
    extern "C" UVDB_PLUGIN_EXPORT const uvdb_driver_plugin* uvdb_driver_plugin_entry(void) { \
        static const uvdb_driver_plugin descriptor = ::uvdb::detail::make_plugin_descriptor( \
            plugin_name, [](::uvdb::plugin_drivers* out, std::string* error_text) noexcept { \
                return ::uvdb::detail::plugin_create_with(__VA_ARGS__, out, error_text);     \
            });                                                                              \
        return &descriptor;                                                                  \
    }                                                                                        \
    static_assert(true, "UVDB_DEFINE_DRIVER_PLUGIN is used as a statement: end it with ';'")
