#include "bench_config.hpp"

#include <optional>
#include <uvdb/config.hpp>
#include <uvdb/driver_registry.hpp>
#include <uvdb/postgres/driver.hpp>

namespace uvdb::bench {

result<pool_options> load_config_file(const std::string& path) {
    load_options lo;
    std::optional<std::string> file(path);
    lo.file.swap(file);  // (plain assignment trips GCC 12's -Wmaybe-uninitialized)
    // The file's URL is checked by the driver uvdb-bench connects with.
    driver_registry drivers;
    if (auto r = postgres::register_driver(drivers); !r) return std::move(r).err();
    lo.registry = &drivers;
    auto cfg = load_config(lo);
    if (!cfg) return std::move(cfg).err();
    // A log level the file or the environment chose is the user's wish;
    // otherwise uvdb-bench keeps uvdb's logger at warn (set by main).
    if (cfg->origin("log.level").source != config_source::default_value) apply_log_level(*cfg);
    return std::move(cfg->pool);
}

}  // namespace uvdb::bench
