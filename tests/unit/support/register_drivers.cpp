// The configuration loader checks a URL through the driver registered for
// its scheme (driver_registry::global() unless told otherwise). The unit
// tests load configurations with postgresql:// URLs, so the PostgreSQL
// driver is linked in and registered before any test runs. No server is
// needed: its check() parses with libpq and does no I/O.

#include <cstdio>
#include <cstdlib>
#include <uvdb/driver_registry.hpp>
#include <uvdb/postgres/driver.hpp>

namespace {

[[maybe_unused]] const bool pg_registered = [] {
    if (auto r = uvdb::postgres::register_driver(uvdb::driver_registry::global()); !r) {
        std::fprintf(stderr, "unit tests: cannot register the PostgreSQL driver: %s\n",
                     r.err().message().c_str());
        std::abort();
    }
    return true;
}();

}  // namespace
