// The routing pool's verdicts: probe rounds on a timer, a replica's state
// from its measured lag, the choice of replica for a read, and the stats.

#include "routing_pool_state.hpp"

#include <spdlog/logger.h>

#include <cstdio>
#include <string>
#include <utility>
#include <uvdb/log.hpp>

namespace uvdb {

namespace {

using std::chrono::milliseconds;

std::string ms_text(milliseconds d) {
    char buf[32];
    if (d.count() < 1'000) {
        std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(d.count()));
    } else {
        std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(d.count()) / 1000.0);
    }
    return buf;
}

}  // namespace

routing_pool::state::state(pool p, std::vector<pool> r, replica_policy pol,
                           std::shared_ptr<lag_source> l)
    : primary(std::move(p)),
      replicas(std::move(r)),
      policy(pol),
      lag(std::move(l)),
      nodes(replicas.size()),
      tick(primary.loop()) {}

routing_pool::state::~state() { close(); }

void routing_pool::state::start(const std::shared_ptr<state>& self) {
    if (self->policy.probe_interval.count() <= 0 || self->replicas.empty()) return;
    // The timer holds no strong reference: the state lives as long as the
    // routing pool, or a read still in flight. The first round runs at once,
    // so replicas take reads as soon as they are known to be current.
    std::weak_ptr<state> weak = self;
    self->tick.start(
        milliseconds{0},
        [weak] {
            if (auto st = weak.lock()) probe(st, {});
        },
        self->policy.probe_interval);
}

void routing_pool::state::close() {
    if (closed) return;
    closed = true;
    tick.close();
    if (lag) lag->close();
    primary.close();
    for (auto& r : replicas) r.close();
}

std::optional<std::size_t> routing_pool::state::pick() noexcept {
    const std::size_t n = nodes.size();
    std::optional<std::size_t> best;
    for (std::size_t k = 0; k < n; ++k) {
        const std::size_t i = (cursor + k) % n;
        if (nodes[i].state != replica_state::healthy) continue;
        if (!best || nodes[i].outstanding < nodes[*best].outstanding) best = i;
    }
    return best;
}

result<std::size_t> routing_pool::state::route_read() {
    ++reads;
    if (auto i = pick()) {
        cursor = (*i + 1) % nodes.size();
        ++nodes[*i].reads;
        return *i;
    }
    if (policy.fallback == replica_fallback::primary) {
        ++reads_on_primary;
        return on_primary;
    }
    ++reads_refused;
    return error(errc::pool_timeout,
                 "no read replica is within max_replication_lag " +
                     ms_text(policy.max_replication_lag) +
                     " and replica_fallback is \"fail\": " + describe_replicas() +
                     "; wait for the replicas to catch up, or set replica_fallback = \"primary\"");
}

void routing_pool::state::begin_read(std::optional<std::size_t> replica) noexcept {
    if (replica) {
        ++nodes[*replica].outstanding;
    } else {
        ++primary_outstanding;
    }
}

void routing_pool::state::end_read(std::optional<std::size_t> replica) noexcept {
    if (replica) {
        --nodes[*replica].outstanding;
    } else {
        --primary_outstanding;
    }
}

void routing_pool::state::probe(const std::shared_ptr<state>& self, unique_function<void()> done) {
    if (done) self->probe_waiters.push_back(std::move(done));
    if (self->probing || self->closed || !self->lag) {
        if (self->closed || !self->lag) {
            auto waiters = std::move(self->probe_waiters);
            self->probe_waiters.clear();
            self->primary.loop().defer([waiters = std::move(waiters)]() mutable {
                for (auto& w : waiters) w();
            });
        }
        return;
    }
    self->probing = true;
    std::weak_ptr<state> weak = self;
    self->lag->measure([weak](std::vector<result<milliseconds>> lags) {
        auto st = weak.lock();
        if (!st) return;
        st->probing = false;
        if (!st->closed) st->apply(std::move(lags));
        auto waiters = std::move(st->probe_waiters);
        st->probe_waiters.clear();
        for (auto& w : waiters) w();
    });
}

void routing_pool::state::apply(std::vector<result<milliseconds>> lags) {
    ++probe_rounds;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        node& n = nodes[i];
        const replica_state before = n.state;
        ++n.probes;
        if (i >= lags.size() || !lags[i]) {
            ++n.probe_failures;
            n.state = replica_state::down;
            n.lag.reset();
            n.last_error = i < lags.size() ? lags[i].err().message()
                                           : std::string("the lag source gave no answer for it");
        } else {
            n.lag = *lags[i];
            n.last_error.clear();
            n.state = *n.lag > policy.max_replication_lag ? replica_state::lagging
                                                          : replica_state::healthy;
        }
        if (before == n.state) continue;
        const std::string& name = replicas[i].options().name;
        if (n.state == replica_state::healthy) {
            logger().info("replica_healthy pool={} lag_ms={} was={}", name, n.lag->count(),
                          to_string(before));
            continue;
        }
        if (before == replica_state::healthy) ++n.exclusions;
        if (n.state == replica_state::lagging) {
            logger().warn(
                "replica_excluded pool={} state=lagging lag_ms={} max_replication_lag_ms={}", name,
                n.lag->count(), policy.max_replication_lag.count());
        } else {
            logger().warn("replica_excluded pool={} state=down reason=\"{}\"", name, n.last_error);
        }
    }
}

std::string routing_pool::state::describe_replicas() const {
    if (nodes.empty()) return "no replicas are configured";
    std::string out;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const node& n = nodes[i];
        if (!out.empty()) out += "; ";
        out += replicas[i].options().name;
        out += ' ';
        out += to_string(n.state);
        if (n.state == replica_state::lagging && n.lag) {
            out += " (lag " + ms_text(*n.lag) + ")";
        } else if (n.state == replica_state::down) {
            out += " (probe: " + n.last_error + ")";
        } else if (n.state == replica_state::unknown) {
            out += " (not probed yet)";
        }
    }
    return out;
}

routing_stats routing_pool::state::stats() const {
    routing_stats s;
    s.replicas.reserve(nodes.size());
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        const node& n = nodes[i];
        replica_stats r;
        r.name = replicas[i].options().name;
        r.state = n.state;
        r.lag = n.lag;
        r.outstanding = n.outstanding;
        r.reads = n.reads;
        r.probes = n.probes;
        r.probe_failures = n.probe_failures;
        r.exclusions = n.exclusions;
        r.last_error = n.last_error;
        if (n.state == replica_state::healthy) ++s.healthy;
        s.replicas.push_back(std::move(r));
    }
    s.reads = reads;
    s.reads_on_primary = reads_on_primary;
    s.reads_refused = reads_refused;
    s.probe_rounds = probe_rounds;
    s.primary_outstanding = primary_outstanding;
    return s;
}

}  // namespace uvdb
