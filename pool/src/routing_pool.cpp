// routing_pool: which pool a call goes to, and the bookkeeping of reads in
// flight that "fewest outstanding" needs. The replicas' health comes from
// routing_pool_probe.cpp; the lag itself from a lag_source (replica_probe.cpp).

#include <stdexcept>
#include <string>
#include <utility>
#include <uvdb/routing_pool.hpp>

#include "routing_pool_state.hpp"

namespace uvdb {

std::string_view to_string(replica_state s) noexcept {
    switch (s) {
        case replica_state::unknown:
            return "unknown";
        case replica_state::healthy:
            return "healthy";
        case replica_state::lagging:
            return "lagging";
        case replica_state::down:
            return "down";
    }
    return "unknown";
}

namespace {

// A replica that shares the primary's pool name would share its metrics
// series; give it its own.
pool_options replica_pool_options(const pool_options& primary, pool_options replica,
                                  std::size_t index) {
    if (replica.name == primary.name) {
        replica.name = primary.name + "-replica-" + std::to_string(index + 1);
    }
    return replica;
}

}  // namespace

routing_pool::routing_pool(event_loop& loop, std::shared_ptr<driver> drv, routing_options opts) {
    std::vector<pool> replicas;
    std::vector<connect_options> probe_targets;
    replicas.reserve(opts.replicas.size());
    for (std::size_t i = 0; i < opts.replicas.size(); ++i) {
        pool_options ro = replica_pool_options(opts.primary, std::move(opts.replicas[i]), i);
        probe_targets.push_back(ro.connection);
        replicas.emplace_back(loop, drv, std::move(ro));
    }
    pool primary(loop, drv, opts.primary);
    // A probe statement that takes longer than an interval is a failed probe,
    // but never under a second: a loaded server is not a down one.
    const auto timeout = std::max(opts.policy.probe_interval, std::chrono::milliseconds{1'000});
    auto lag = make_probe_lag_source(loop, std::move(drv), opts.primary.connection,
                                     std::move(probe_targets), timeout);
    st_ = std::make_shared<state>(std::move(primary), std::move(replicas), opts.policy,
                                  std::move(lag));
    state::start(st_);
}

routing_pool::routing_pool(pool primary, std::vector<pool> replicas, replica_policy policy,
                           std::shared_ptr<lag_source> lag) {
    if (!lag) throw std::invalid_argument("routing_pool: a lag source is required");
    st_ = std::make_shared<state>(std::move(primary), std::move(replicas), policy, std::move(lag));
    state::start(st_);
}

result<routing_pool> routing_pool::create(event_loop& loop, routing_options opts,
                                          const driver_registry& registry) {
    auto drv = registry.for_url(opts.primary.connection.url);
    if (!drv) return std::move(drv).err();
    for (const auto& r : opts.replicas) {
        if (auto ok = validate(r); !ok) return std::move(ok).err();
    }
    if (auto ok = validate(opts.primary); !ok) return std::move(ok).err();
    if (opts.policy.max_replication_lag.count() <= 0) {
        return error(errc::bad_config, "max_replication_lag must be positive");
    }
    return routing_pool(loop, std::move(*drv), std::move(opts));
}

routing_pool::~routing_pool() { close(); }
routing_pool::routing_pool(routing_pool&& other) noexcept = default;
routing_pool& routing_pool::operator=(routing_pool&& other) noexcept {
    if (this != &other) {
        close();
        st_ = std::move(other.st_);
    }
    return *this;
}

pool& routing_pool::primary() noexcept { return st_->primary; }
std::span<pool> routing_pool::replicas() noexcept { return st_->replicas; }
const replica_policy& routing_pool::policy() const noexcept { return st_->policy; }
event_loop& routing_pool::loop() const noexcept { return st_->primary.loop(); }
bool routing_pool::closed() const noexcept { return !st_ || st_->closed; }

void routing_pool::close() {
    if (st_) st_->close();
}

pool* routing_pool::pick_replica() noexcept {
    const auto i = st_->pick();
    return i ? &st_->replicas[*i] : nullptr;
}

void routing_pool::probe_now(unique_function<void()> done) { state::probe(st_, std::move(done)); }

routing_stats routing_pool::stats() const { return st_->stats(); }

namespace {

// Wraps a completion so the target's count of reads in flight drops when it runs.
template <class Cb>
auto counted(std::shared_ptr<routing_pool::state> st, std::optional<std::size_t> target, Cb cb) {
    st->begin_read(target);
    return [st = std::move(st), target, cb = std::move(cb)](auto r) mutable {
        st->end_read(target);
        cb(std::move(r));
    };
}

}  // namespace

void routing_pool::start_read(const call_options* opts, sql_text sql, params p, query_callback cb) {
    auto target = st_->route_read();
    if (!target) {
        return st_->primary.loop().defer(
            [cb = std::move(cb), e = std::move(target).err()]() mutable { cb(std::move(e)); });
    }
    pool& db = *target == state::on_primary ? st_->primary : st_->replicas[*target];
    const std::optional<std::size_t> index =
        *target == state::on_primary ? std::nullopt : std::optional<std::size_t>(*target);
    query_callback done = counted(st_, index, std::move(cb));
    if (opts != nullptr) {
        db.query(*opts, sql, std::move(p), std::move(done));
    } else {
        db.query(sql, std::move(p), std::move(done));
    }
}

void routing_pool::begin(const tx_options& opts, const call_options& call, begin_callback cb,
                         std::source_location where) {
    if (!opts.read_only) return st_->primary.begin(opts, call, std::move(cb), where);
    auto target = st_->route_read();
    if (!target) {
        return st_->primary.loop().defer(
            [cb = std::move(cb), e = std::move(target).err()]() mutable { cb(std::move(e)); });
    }
    pool& db = *target == state::on_primary ? st_->primary : st_->replicas[*target];
    const std::optional<std::size_t> index =
        *target == state::on_primary ? std::nullopt : std::optional<std::size_t>(*target);
    // Counted until BEGIN answers: the transaction's later life is the
    // caller's, and the replica pool's own stats show its leases.
    db.begin(opts, call, begin_callback(counted(st_, index, std::move(cb))), where);
}

void routing_pool::transaction(const tx_options& opts, tx_body body, retry_policy retry,
                               done_callback cb, std::source_location where) {
    if (!opts.read_only) {
        return st_->primary.transaction(opts, std::move(body), retry, std::move(cb), where);
    }
    auto target = st_->route_read();
    if (!target) {
        return st_->primary.loop().defer(
            [cb = std::move(cb), e = std::move(target).err()]() mutable { cb(std::move(e)); });
    }
    pool& db = *target == state::on_primary ? st_->primary : st_->replicas[*target];
    const std::optional<std::size_t> index =
        *target == state::on_primary ? std::nullopt : std::optional<std::size_t>(*target);
    db.transaction(opts, std::move(body), retry, done_callback(counted(st_, index, std::move(cb))),
                   where);
}

}  // namespace uvdb
