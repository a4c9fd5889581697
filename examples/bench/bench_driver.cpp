#include "bench_driver.hpp"

#include <cstdio>
#include <uvdb/postgres/driver.hpp>
#if UVDB_BENCH_HAVE_SQLITE
#include <uvdb/sqlite/driver.hpp>
#endif

namespace uvdb::bench {

void register_bench_drivers(driver_registry& reg, bool quiet) {
    // Built-ins first: a plugin that claims the same scheme is refused by the
    // registry and reported below, so the linked driver is the one measured.
    auto report = [quiet](const error& e) {
        if (!quiet) std::fprintf(stderr, "uvdb-bench: warning: %s\n", e.to_string().c_str());
    };
    if (auto ok = postgres::register_driver(reg); !ok) report(ok.err());
#if UVDB_BENCH_HAVE_SQLITE
    if (auto ok = sqlite::register_driver(reg); !ok) report(ok.err());
#endif
    for (const auto& e : reg.load_plugins_from_env().failed) report(e);
}

result<std::shared_ptr<driver>> driver_for(const driver_registry& reg, const std::string& url) {
    if (url.empty()) {
        if (auto d = reg.find("postgresql")) return d;
        return error(errc::driver_not_found,
                     "no URL given and no PostgreSQL driver for libpq's PG* variables");
    }
    return reg.for_url(url);
}

}  // namespace uvdb::bench
