// The driver conformance suite (uvdb::conformance) run against the example
// plugin (examples/plugin_driver, libuvdb-kv.so) loaded at run time from
// UVDB_DRIVER_PATH: what a plugin author does with their own driver.
// ctest conformance_kv_plugin builds it in uvdb's tree (tests/CMakeLists.txt,
// with uvdb's prebuilt Catch2 main); a plugin author builds it against the
// installed package, where this file supplies main().
#ifndef UVDB_HAVE_CATCH_MAIN
#define CATCH_CONFIG_MAIN
#endif
#include <atomic>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <uvdb/conformance/target.hpp>
#include <uvdb/driver_registry.hpp>

namespace {

const uvdb::conformance::registration reg([] {
    static uvdb::driver_registry registry;
    auto scan = registry.load_plugins_from_env();
    if (!scan.failed.empty()) throw std::runtime_error(scan.failed.front().to_string());
    uvdb::conformance::target t;
    t.name = "kv (plugin)";
    t.driver = registry.find("kv");
    if (!t.driver)
        throw std::runtime_error("no kv driver: set UVDB_DRIVER_PATH to the plugin's directory");
    // Each connection gets a store of its own, so counts start at zero.
    t.options = [] {
        static std::atomic<int> n{0};
        uvdb::connect_options o;
        o.url = "kv://conformance-" + std::to_string(++n);
        return o;
    };
    t.bad_options = [] {
        uvdb::connect_options o;
        o.url = "kv://not a store name";
        return o;
    };
    // The kv dialect (see examples/plugin_driver/kv_store.hpp).
    t.trivial_sql = "ECHO 1";
    t.echo_sql = "ECHO $1 $2 $3 $4 $5";
    t.syntax_error_sql = "SELEC 1 FROM";
    t.long_running_sql = "SLEEP 30000";
    t.script_sql = "ECHO 1; ECHO 2";
    t.create_table_sql = "COUNT";  // a store needs no schema; any harmless statement
    t.begin_sql = "BEGIN";
    t.insert_sql = "PUT conformance_t 1";
    t.count_sql = "COUNT";
    // No kill hook: an in-process store has nothing outside to kill.
    return t;
});

}  // namespace
