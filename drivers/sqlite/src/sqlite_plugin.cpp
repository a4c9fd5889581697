// The SQLite driver as a plugin (libuvdb-sqlite.so): the same driver that
// uvdb::sqlite links in, behind the plugin entry point. Built by
// drivers/sqlite/CMakeLists.txt as a MODULE that links the static driver with
// its symbols hidden, so only the entry point is visible to the program.
#include <uvdb/plugin.hpp>
#include <uvdb/sqlite/driver.hpp>

UVDB_DEFINE_DRIVER_PLUGIN("sqlite", [] { return uvdb::sqlite::make_driver(); });
