// make_pool: configuration → pool, with the configuration's log level and,
// at debug level, where each value came from.

#include <utility>
#include <uvdb/pool_from_config.hpp>

namespace uvdb {

result<pool> make_pool(event_loop& loop, const config& cfg, const driver_registry& registry) {
    // A level left at its default is not a choice: the application's own
    // logger keeps whatever level it was given.
    if (cfg.origin("log.level").source != config_source::default_value) apply_log_level(cfg);
    auto p = pool::create(loop, cfg.pool, registry);
    if (p) log_sources(cfg);
    return p;
}

result<pool> make_pool(event_loop& loop, const load_options& opts,
                       const driver_registry& registry) {
    // The URL is checked by the driver the pool will use.
    load_options with_registry = opts;
    if (with_registry.registry == nullptr) with_registry.registry = &registry;
    auto cfg = load_config(with_registry);
    if (!cfg) return std::move(cfg).err();
    return make_pool(loop, *cfg, registry);
}

}  // namespace uvdb
