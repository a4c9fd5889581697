// The driver plugin loader against real shared libraries (built from
// tests/plugins/test_plugin.cpp into UVDB_TEST_PLUGIN_DIR) and a real dlopen.
// Each test uses its own registry; a loaded plugin stays loaded for the rest
// of the process, so a second registry gets fresh drivers from the same library.
#ifdef UVDB_TEST_PLUGIN_DIR

#include <catch2/catch.hpp>
#include <cstdlib>
#include <optional>
#include <string>
#include <uvdb/driver_registry.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/plugin.hpp>
#include <vector>

namespace {

const std::string dir = UVDB_TEST_PLUGIN_DIR;

std::string plugin(const char* name) { return dir + "/libuvdb-" + name + ".so"; }

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// Sets an environment variable for one test and restores it after.
class scoped_env {
  public:
    scoped_env(const char* name, const std::string& value) : name_(name) {
        if (const char* old = std::getenv(name)) old_ = old;
        ::setenv(name, value.c_str(), 1);
    }
    ~scoped_env() {
        if (old_) {
            ::setenv(name_, old_->c_str(), 1);
        } else {
            ::unsetenv(name_);
        }
    }
    scoped_env(const scoped_env&) = delete;
    scoped_env& operator=(const scoped_env&) = delete;

  private:
    const char* name_;
    std::optional<std::string> old_;
};

// Loads `name` into a fresh registry that already holds "alpha" when asked,
// and returns the error the load must fail with.
uvdb::error load_error(const char* name) {
    uvdb::driver_registry reg;
    auto r = reg.load_plugin(plugin(name));
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code() == uvdb::errc::plugin_error);
    CHECK(reg.schemes().empty());  // nothing half registered
    CHECK(reg.plugins().empty());
    return r.err();
}

}  // namespace

TEST_CASE("a plugin's drivers are registered and its code runs on the program's loop",
          "[unit][plugin]") {
    uvdb::driver_registry reg;
    auto info = reg.load_plugin(plugin("alpha"));
    REQUIRE(info.ok());
    CHECK(info->name == "uvdb-alpha");
    CHECK(info->path == plugin("alpha"));
    CHECK(info->built_against == UVDB_VERSION_STRING);
    CHECK(info->drivers == std::vector<std::string>{"alpha", "beta"});
    CHECK(info->schemes == std::vector<std::string>{"alpha", "alpha2", "beta"});
    CHECK(reg.schemes() == std::vector<std::string>{"alpha", "alpha2", "beta"});
    REQUIRE(reg.plugins().size() == 1);

    auto drv = reg.for_url("alpha2://anything");
    REQUIRE(drv.ok());
    CHECK((*drv)->name() == "alpha");

    uvdb::event_loop loop;
    std::optional<uvdb::result<void>> connected;
    std::optional<uvdb::result<uvdb::result_set>> answered;
    auto conn = (*drv)->connect(loop, uvdb::connect_options{},
                                [&](uvdb::result<void> r) { connected.emplace(std::move(r)); });
    conn->query("hello from the test",
                [&](uvdb::result<uvdb::result_set> r) { answered.emplace(std::move(r)); });
    CHECK_FALSE(connected);  // never inline
    loop.run();
    REQUIRE(connected);
    CHECK(connected->ok());
    REQUIRE(answered);
    REQUIRE(answered->ok());
    CHECK((*answered)->column_name(0) == "echo");
    CHECK((*answered)->value<std::string>() == "hello from the test");
}

TEST_CASE("loading the same plugin twice into one registry registers it once", "[unit][plugin]") {
    uvdb::driver_registry reg;
    REQUIRE(reg.load_plugin(plugin("alpha")).ok());
    auto first = reg.find("alpha");
    auto again = reg.load_plugin(plugin("alpha"));
    REQUIRE(again.ok());
    CHECK(again->name == "uvdb-alpha");
    CHECK(reg.plugins().size() == 1);
    CHECK(reg.find("alpha") == first);

    // Another registry gets drivers of its own from the same library.
    uvdb::driver_registry other;
    REQUIRE(other.load_plugin(plugin("alpha")).ok());
    CHECK(other.find("alpha") != nullptr);
    CHECK(other.find("alpha") != first);
}

TEST_CASE("a missing plugin file is named with what to check", "[unit][plugin]") {
    auto e = load_error("does-not-exist");
    CHECK(contains(e.message(), plugin("does-not-exist")));
    CHECK(contains(e.message(), "No such file or directory"));
    CHECK(contains(e.message(), "check the path"));
}

TEST_CASE("a bare file name is looked up in UVDB_DRIVER_PATH", "[unit][plugin]") {
    {
        scoped_env env("UVDB_DRIVER_PATH", "/nonexistent-uvdb-dir:" + dir);
        uvdb::driver_registry reg;
        auto info = reg.load_plugin("libuvdb-alpha.so");
        REQUIRE(info.ok());
        CHECK(info->path == plugin("alpha"));
    }
    scoped_env env("UVDB_DRIVER_PATH", "/nonexistent-uvdb-dir");
    uvdb::driver_registry reg;
    auto r = reg.load_plugin("libuvdb-alpha.so");
    REQUIRE_FALSE(r.ok());
    CHECK(contains(r.err().message(), "no such file in the directories of UVDB_DRIVER_PATH"));
    CHECK(contains(r.err().message(), "/nonexistent-uvdb-dir"));
}

TEST_CASE("a file that is not a shared library gives the loader's reason", "[unit][plugin]") {
    auto e = load_error("notelf");
    CHECK(contains(e.message(), "cannot be loaded"));
    CHECK(contains(e.message(), "not a shared library"));
}

TEST_CASE("a shared library without the entry point is not taken for a plugin", "[unit][plugin]") {
    auto e = load_error("nosym");
    CHECK(contains(e.message(), "not a uvdb driver plugin"));
    CHECK(contains(e.message(), "uvdb_driver_plugin_entry"));
    CHECK(contains(e.message(), "UVDB_DEFINE_DRIVER_PLUGIN"));
}

TEST_CASE("a plugin ABI mismatch names both versions", "[unit][plugin]") {
    auto e = load_error("abi1");
    CHECK(contains(e.message(), "plugin ABI version 1"));
    CHECK(contains(e.message(),
                   "loads plugin ABI version " + std::to_string(UVDB_PLUGIN_ABI_VERSION)));
    CHECK(contains(e.message(), "rebuild the plugin"));
}

TEST_CASE("a plugin built against another uvdb major.minor is refused", "[unit][plugin]") {
    auto e = load_error("oldversion");
    CHECK(contains(e.message(), "built against uvdb 0.99.0"));
    CHECK(contains(e.message(), "this program runs uvdb " UVDB_VERSION_STRING));
}

TEST_CASE("a plugin built with another C++ standard library is refused", "[unit][plugin]") {
    auto e = load_error("stdlib");
    CHECK(contains(e.message(), "\"libc++\""));
    CHECK(contains(e.message(), UVDB_DETAIL_STDLIB_TAG));
}

#ifdef UVDB_TEST_STATICCORE_PLUGIN  // not built with sanitizers (see tests/CMakeLists.txt)
TEST_CASE("a plugin with its own copy of uvdb core is refused", "[unit][plugin]") {
    auto e = load_error("staticcore");
    CHECK(contains(e.message(), "its own copy of uvdb core"));
    CHECK(contains(e.message(), "shared library"));
}
constexpr std::size_t broken_plugins = 8;
#else
constexpr std::size_t broken_plugins = 7;
#endif

TEST_CASE("a plugin whose create function throws registers nothing", "[unit][plugin]") {
    auto e = load_error("throws");
    CHECK(contains(e.message(), "failed to create its drivers"));
    CHECK(contains(e.message(), "could not be initialised"));
}

TEST_CASE("a scheme already taken fails the whole plugin and names the holder", "[unit][plugin]") {
    uvdb::driver_registry reg;
    REQUIRE(reg.load_plugin(plugin("alpha")).ok());
    auto before = reg.schemes();
    auto r = reg.load_plugin(plugin("clash"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code() == uvdb::errc::plugin_error);
    CHECK(contains(r.err().message(), "\"alpha\" is already registered by driver \"alpha\""));
    CHECK(contains(r.err().message(), "nothing from the plugin was registered"));
    // "gamma", the clashing plugin's other driver, was not registered either.
    CHECK(reg.find("gamma") == nullptr);
    CHECK(reg.schemes() == before);
    CHECK(reg.plugins().size() == 1);
}

TEST_CASE("a directory scan loads every plugin it can and reports the others", "[unit][plugin]") {
    scoped_env env("UVDB_DRIVER_PATH", dir + "::/nonexistent-uvdb-dir");
    uvdb::driver_registry reg;
    auto scan = reg.load_plugins_from_env();
    // Sorted by name: abi1 fails, alpha loads, clash then finds "alpha" taken.
    REQUIRE(scan.loaded.size() == 1);
    CHECK(scan.loaded[0].name == "uvdb-alpha");
    std::string all;
    for (const auto& e : scan.failed) all += e.message() + "\n";
    INFO(all);
    CHECK(scan.failed.size() == broken_plugins + 1);  // + the missing directory
    for (const char* broken :
         {"abi1", "clash", "nosym", "notelf", "oldversion", "stdlib", "throws"}) {
        CHECK(contains(all, plugin(broken)));
    }
    CHECK(contains(all, "\"/nonexistent-uvdb-dir\""));
    CHECK_FALSE(contains(all, "not-uvdb"));  // not named like a plugin: never opened
    CHECK(reg.schemes() == std::vector<std::string>{"alpha", "alpha2", "beta"});
}

TEST_CASE("no UVDB_DRIVER_PATH means no plugins and no errors", "[unit][plugin]") {
    scoped_env env("UVDB_DRIVER_PATH", "");
    uvdb::driver_registry reg;
    auto scan = reg.load_plugins_from_env();
    CHECK(scan.loaded.empty());
    CHECK(scan.failed.empty());
}

#endif  // UVDB_TEST_PLUGIN_DIR
