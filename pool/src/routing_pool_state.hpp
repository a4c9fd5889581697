#pragma once
// The routing pool's shared state: its pools, each replica's verdict and
// counters, and the probe timer. Shared with the completions of reads in
// flight (which keep it alive) and weakly with the timer and the lag source.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <uvdb/routing_pool.hpp>
#include <uvdb/timer.hpp>
#include <vector>

namespace uvdb {

struct routing_pool::state {
    /// What route_read() answers for "the primary".
    static constexpr std::size_t on_primary = static_cast<std::size_t>(-1);

    struct node {
        replica_state state = replica_state::unknown;
        std::optional<std::chrono::milliseconds> lag;
        std::size_t outstanding = 0;
        std::uint64_t reads = 0;
        std::uint64_t probes = 0;
        std::uint64_t probe_failures = 0;
        std::uint64_t exclusions = 0;
        std::string last_error;
    };

    state(pool p, std::vector<pool> r, replica_policy pol, std::shared_ptr<lag_source> l);
    ~state();
    state(const state&) = delete;
    state& operator=(const state&) = delete;

    /// Starts the probe timer (the first round at once) unless the interval is 0.
    static void start(const std::shared_ptr<state>& self);
    void close();

    /// The healthy replica with the fewest reads in flight (ties: the next
    /// after the last one chosen, so equal replicas share the load).
    std::optional<std::size_t> pick() noexcept;
    /// pick(), else on_primary (fallback primary), else the error that says why.
    result<std::size_t> route_read();
    void begin_read(std::optional<std::size_t> replica) noexcept;
    void end_read(std::optional<std::size_t> replica) noexcept;

    /// One probe round, unless one is in flight (then `done` waits for it).
    static void probe(const std::shared_ptr<state>& self, unique_function<void()> done);
    void apply(std::vector<result<std::chrono::milliseconds>> lags);

    routing_stats stats() const;
    /// "replica-1 lagging (lag 7.2s, max_replication_lag 5s); replica-2 down (…)".
    std::string describe_replicas() const;

    pool primary;
    std::vector<pool> replicas;
    replica_policy policy;
    std::shared_ptr<lag_source> lag;
    std::vector<node> nodes;
    timer tick;
    bool probing = false;
    bool closed = false;
    std::vector<unique_function<void()>> probe_waiters;
    std::size_t cursor = 0;
    std::size_t primary_outstanding = 0;
    std::uint64_t reads = 0;
    std::uint64_t reads_on_primary = 0;
    std::uint64_t reads_refused = 0;
    std::uint64_t probe_rounds = 0;
};

}  // namespace uvdb
