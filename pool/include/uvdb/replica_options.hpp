#pragma once
/// \file
/// The read-replica knobs as plain data: the lag budget, how often it is
/// measured, what reads do when no replica is within it, and one entry per
/// replica. Kept apart from <uvdb/routing_pool.hpp> so that the configuration
/// code (compiled by the clang fuzz build, which cannot include the pool)
/// can hold them.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace uvdb {

/// What a read does when no replica is healthy.
enum class replica_fallback : std::uint8_t {
    primary,  ///< it runs on the primary (default): reads keep working, the primary takes the load
    fail,     ///< it fails with errc::pool_timeout saying which replicas are out and why
};

/// "primary", "fail".
std::string_view to_string(replica_fallback f) noexcept;

/// The defaults of replica_policy, by name.
namespace replica_defaults {
inline constexpr std::chrono::milliseconds max_replication_lag{5'000};
inline constexpr std::chrono::milliseconds probe_interval{1'000};
}  // namespace replica_defaults

/// How a routing_pool judges its replicas.
struct replica_policy {
    /// A replica further behind the primary than this is excluded from reads
    /// until it is back under it.
    std::chrono::milliseconds max_replication_lag = replica_defaults::max_replication_lag;
    /// How often each replica's lag is measured. 0: never by itself (tests
    /// call routing_pool::probe_now()).
    std::chrono::milliseconds probe_interval = replica_defaults::probe_interval;
    replica_fallback fallback = replica_fallback::primary;
};

/// One replica as the configuration names it: its URL, and a pool size when
/// it differs from the primary's (every other pool knob is the primary's).
struct replica_config {
    std::string url;
    std::optional<std::size_t> size;
};

}  // namespace uvdb
