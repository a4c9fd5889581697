// driver_registry::load_plugin and friends: dlopen a driver plugin, check its
// descriptor (see <uvdb/plugin.hpp>), register all of its drivers or none.

#include <dlfcn.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <uvdb/driver_registry.hpp>
#include <uvdb/log.hpp>
#include <uvdb/plugin.hpp>
#include <vector>

namespace uvdb {

const char* runtime_version() noexcept { return UVDB_VERSION_STRING; }

namespace {

constexpr std::string_view plugin_prefix = "libuvdb-";
constexpr std::string_view plugin_suffix = ".so";

error plugin_failure(std::string_view path, std::string what) {
    return error(errc::plugin_error, "driver plugin \"" + std::string(path) + "\": " + what);
}

std::string join(const std::vector<std::string>& items, std::string_view sep = ", ") {
    std::string out;
    for (const auto& s : items) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

std::vector<std::string> split_path(std::string_view search_path) {
    std::vector<std::string> dirs;
    while (!search_path.empty()) {
        auto colon = search_path.find(':');
        auto item = search_path.substr(0, colon);
        if (!item.empty()) dirs.emplace_back(item);
        if (colon == std::string_view::npos) break;
        search_path.remove_prefix(colon + 1);
    }
    return dirs;
}

std::string env_search_path() {
    const char* v = std::getenv("UVDB_DRIVER_PATH");
    return v ? std::string(v) : std::string();
}

bool looks_like_plugin(std::string_view file_name) {
    return file_name.size() > plugin_prefix.size() + plugin_suffix.size() &&
           file_name.starts_with(plugin_prefix) && file_name.ends_with(plugin_suffix);
}

// Closes a dlopen handle unless released; used while a load can still fail.
class library_guard {
  public:
    explicit library_guard(void* h) noexcept : handle_(h) {}
    ~library_guard() {
        if (handle_) dlclose(handle_);
    }
    library_guard(const library_guard&) = delete;
    library_guard& operator=(const library_guard&) = delete;
    void* release() noexcept { return std::exchange(handle_, nullptr); }
    void* get() const noexcept { return handle_; }

  private:
    void* handle_;
};

// The extra advice for a dlopen failure whose text we recognise.
std::string dlopen_advice(std::string_view text) {
    if (text.find("undefined symbol") != std::string_view::npos) {
        if (text.find("uvdb") != std::string_view::npos) {
            return " (the plugin needs a uvdb symbol this program does not provide: it was built "
                   "against another uvdb version, or this program links uvdb core statically "
                   "(UVDB_SHARED_CORE=OFF); plugins need the program to use libuvdb_core.so)";
        }
        return " (a library the plugin depends on is missing or too old)";
    }
    if (text.find("invalid ELF header") != std::string_view::npos ||
        text.find("file too short") != std::string_view::npos) {
        return " (the file is not a shared library: build the plugin as a MODULE or SHARED "
               "library)";
    }
    if (text.find("cannot open shared object file") != std::string_view::npos) {
        return " (a library the plugin depends on was not found: check ldd on the plugin and "
               "LD_LIBRARY_PATH)";
    }
    return {};
}

// Checks the descriptor against this program; the error says both sides.
result<void> check_descriptor(std::string_view path, const uvdb_driver_plugin* d) {
    if (!d)
        return plugin_failure(path, "its entry point returned no descriptor (a bug in the plugin)");
    if (d->abi_version != UVDB_PLUGIN_ABI_VERSION) {
        return plugin_failure(path, "it uses plugin ABI version " + std::to_string(d->abi_version) +
                                        ", this program (uvdb " UVDB_VERSION_STRING
                                        ") loads plugin ABI version " +
                                        std::to_string(UVDB_PLUGIN_ABI_VERSION) +
                                        "; rebuild the plugin against this uvdb");
    }
    if (d->descriptor_size < sizeof(uvdb_driver_plugin)) {
        return plugin_failure(path, "its descriptor is " + std::to_string(d->descriptor_size) +
                                        " bytes, plugin ABI version " +
                                        std::to_string(UVDB_PLUGIN_ABI_VERSION) + " needs " +
                                        std::to_string(sizeof(uvdb_driver_plugin)) +
                                        "; rebuild the plugin against this uvdb");
    }
    std::string built = d->uvdb_version ? d->uvdb_version : "?";
    if (d->uvdb_version_major != UVDB_VERSION_MAJOR ||
        d->uvdb_version_minor != UVDB_VERSION_MINOR) {
        return plugin_failure(
            path, "it was built against uvdb " + built +
                      ", this program runs uvdb " UVDB_VERSION_STRING
                      "; a plugin must be built against the same uvdb major.minor version (" +
                      std::to_string(UVDB_VERSION_MAJOR) + "." +
                      std::to_string(UVDB_VERSION_MINOR) + "): rebuild it against this uvdb");
    }
    std::string_view stdlib = d->cxx_stdlib ? d->cxx_stdlib : "";
    if (stdlib != UVDB_DETAIL_STDLIB_TAG) {
        return plugin_failure(
            path, "it was built with the C++ standard library \"" + std::string(stdlib) +
                      "\", this program uses \"" UVDB_DETAIL_STDLIB_TAG
                      "\"; driver objects (std::string, std::vector, std::shared_ptr) would not "
                      "match: rebuild it with the same standard library and "
                      "_GLIBCXX_USE_CXX11_ABI setting");
    }
    if (d->core_identity != static_cast<const void*>(&uvdb_category())) {
        return plugin_failure(
            path,
            "it carries its own copy of uvdb core (linked statically) instead of using this "
            "program's; two copies mean two error categories, loggers and registries: link "
            "the plugin against uvdb::core built as a shared library (UVDB_SHARED_CORE=ON) "
            "and the program against the same libuvdb_core.so");
    }
    if (!d->create)
        return plugin_failure(path, "its descriptor has no create function (a bug in the plugin)");
    return {};
}

// A bare file name is looked up in UVDB_DRIVER_PATH; a path is taken as is.
result<std::string> resolve_plugin_path(std::string_view path) {
    if (path.empty()) {
        return error(errc::plugin_error,
                     "driver plugin: the path is empty; give the plugin's file "
                     "path (e.g. /usr/lib/uvdb/drivers/libuvdb-kv.so)");
    }
    if (path.find('/') != std::string_view::npos) return std::string(path);
    auto dirs = split_path(env_search_path());
    for (const auto& dir : dirs) {
        std::string candidate = dir + "/" + std::string(path);
        struct stat st {};
        if (::stat(candidate.c_str(), &st) == 0) return candidate;
    }
    return plugin_failure(path,
                          "no such file in the directories of UVDB_DRIVER_PATH (" +
                              (dirs.empty() ? std::string("unset or empty") : join(dirs, ":")) +
                              "); give a path, or add the plugin's directory to "
                              "UVDB_DRIVER_PATH");
}

}  // namespace

result<plugin_info> driver_registry::load_plugin(std::string_view requested) {
    auto resolved = resolve_plugin_path(requested);
    if (!resolved) return std::move(resolved).err();
    const std::string& path = *resolved;

    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        std::error_code ec(errno, std::generic_category());
        return plugin_failure(path, ec.message() +
                                        " (check the path; plugins are installed in "
                                        "<prefix>/lib/uvdb/drivers)");
    }
    if (!S_ISREG(st.st_mode)) {
        return plugin_failure(path, "not a regular file; give the path of the plugin's .so file");
    }

    dlerror();  // clear any stale message
    library_guard lib(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL));
    if (!lib.get()) {
        const char* why = dlerror();
        std::string text = why ? why : "unknown dlopen error";
        return plugin_failure(path, "cannot be loaded: " + text + dlopen_advice(text));
    }

    // The same library opened twice into this registry: one load, one registration.
    for (const auto& p : plugins_) {
        if (p.handle == lib.get()) return p.info;  // the guard drops the extra reference
    }

    dlerror();
    void* sym = dlsym(lib.get(), UVDB_PLUGIN_ENTRY_SYMBOL);
    if (!sym) {
        return plugin_failure(
            path, "not a uvdb driver plugin: it does not export " UVDB_PLUGIN_ENTRY_SYMBOL
                  " (a plugin defines it with UVDB_DEFINE_DRIVER_PLUGIN from "
                  "<uvdb/plugin.hpp>)");
    }
    auto entry = reinterpret_cast<uvdb_plugin_entry_fn>(sym);
    const uvdb_driver_plugin* desc = entry();
    if (auto ok = check_descriptor(path, desc); !ok) return std::move(ok).err();

    std::string plugin_name = desc->plugin_name ? desc->plugin_name : "unnamed";
    {
        // The drivers live in this scope until registered: if anything fails
        // they are destroyed here, before the guard closes the library whose
        // code they run.
        plugin_drivers made;
        std::string why;
        if (!desc->create(&made, &why)) {
            return plugin_failure(path, "plugin \"" + plugin_name +
                                            "\" failed to create its drivers: " +
                                            (why.empty() ? std::string("no reason given") : why));
        }
        if (made.empty() ||
            std::any_of(made.begin(), made.end(), [](const auto& d) { return !d; })) {
            return plugin_failure(path,
                                  "plugin \"" + plugin_name +
                                      "\" made no driver (or a null one); nothing registered");
        }
        if (auto added = add_all(made); !added) {
            return plugin_failure(path, "plugin \"" + plugin_name +
                                            "\" not registered: " + added.err().message() +
                                            "; nothing from the plugin was registered");
        }

        plugin_info info;
        info.path = path;
        info.name = plugin_name;
        info.built_against = desc->uvdb_version;
        for (const auto& d : made) {
            info.drivers.emplace_back(d->name());
            for (const auto& s : d->schemes()) info.schemes.push_back(s);
        }
        plugins_.push_back(loaded_plugin{lib.release(), std::move(info)});
    }
    const plugin_info& info = plugins_.back().info;
    logger().info("driver plugin loaded: name={} drivers={} schemes={} built_against={} path={}",
                  info.name, join(info.drivers, ","), join(info.schemes, ","), info.built_against,
                  info.path);
    return info;
}

plugin_scan driver_registry::load_plugins_from(std::string_view search_path) {
    plugin_scan scan;
    for (const auto& dir : split_path(search_path)) {
        std::error_code ec;
        std::vector<std::string> files;
        std::filesystem::directory_iterator it(dir, ec);
        if (ec) {
            scan.failed.push_back(error(errc::plugin_error, "driver plugin directory \"" + dir +
                                                                "\" (from the search path) "
                                                                "cannot be read: " +
                                                                ec.message() +
                                                                "; fix UVDB_DRIVER_PATH"));
            continue;
        }
        for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
            std::string file_name = it->path().filename().string();
            if (looks_like_plugin(file_name)) files.push_back(it->path().string());
        }
        if (ec) {
            scan.failed.push_back(error(
                errc::plugin_error,
                "driver plugin directory \"" + dir + "\" could not be listed: " + ec.message()));
        }
        std::sort(files.begin(), files.end());
        for (const auto& f : files) {
            auto r = load_plugin(f);
            if (r) {
                scan.loaded.push_back(std::move(*r));
            } else {
                scan.failed.push_back(std::move(r).err());
            }
        }
    }
    return scan;
}

plugin_scan driver_registry::load_plugins_from_env() {
    return load_plugins_from(env_search_path());
}

std::vector<plugin_info> driver_registry::plugins() const {
    std::vector<plugin_info> out;
    out.reserve(plugins_.size());
    for (const auto& p : plugins_) out.push_back(p.info);
    return out;
}

}  // namespace uvdb
