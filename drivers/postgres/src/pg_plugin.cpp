// The PostgreSQL driver as a plugin (libuvdb-postgres.so): the same driver
// that uvdb::postgres links in, behind the plugin entry point. Built by
// drivers/postgres/CMakeLists.txt as a MODULE that links the static driver
// with its symbols hidden, so only the entry point is visible to the program.
#include <uvdb/plugin.hpp>
#include <uvdb/postgres/driver.hpp>

UVDB_DEFINE_DRIVER_PLUGIN("postgresql", [] { return uvdb::postgres::make_driver(); });
