// make_routing_pool: configuration → routing pool. Every replica's pool is
// the primary's options with the replica's URL (and size) in their place, so
// one [pool] table sizes and times them all.

#include <algorithm>
#include <utility>
#include <uvdb/routing_pool.hpp>

namespace uvdb {

result<routing_pool> make_routing_pool(event_loop& loop, const config& cfg,
                                       const driver_registry& registry) {
    if (cfg.origin("log.level").source != config_source::default_value) apply_log_level(cfg);
    routing_options ro;
    ro.primary = cfg.pool;
    ro.policy = cfg.replica;
    for (std::size_t i = 0; i < cfg.replicas.size(); ++i) {
        pool_options p = cfg.pool;
        p.connection.url = cfg.replicas[i].url;
        if (cfg.replicas[i].size) {
            p.size = *cfg.replicas[i].size;
            p.min_idle = std::min(p.min_idle, p.size);
        }
        p.name = cfg.pool.name + "-replica-" + std::to_string(i + 1);
        ro.replicas.push_back(std::move(p));
    }
    auto rp = routing_pool::create(loop, std::move(ro), registry);
    if (rp) log_sources(cfg);
    return rp;
}

result<routing_pool> make_routing_pool(event_loop& loop, const load_options& opts,
                                       const driver_registry& registry) {
    load_options with_registry = opts;
    if (with_registry.registry == nullptr) with_registry.registry = &registry;
    auto cfg = load_config(with_registry);
    if (!cfg) return std::move(cfg).err();
    return make_routing_pool(loop, *cfg, registry);
}

}  // namespace uvdb
