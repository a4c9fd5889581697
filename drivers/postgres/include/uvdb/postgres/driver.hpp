#pragma once
/// \file
/// The PostgreSQL driver: libpq's asynchronous API driven by the core's
/// io_watcher and timers. Never blocks the loop: host names are resolved on
/// the threadpool, connect and query deadlines are loop timers, and
/// cancellation (blocking in libpq 15) runs on the threadpool.

#include <cstddef>
#include <memory>

#include <uvdb/driver.hpp>
#include <uvdb/driver_registry.hpp>

namespace uvdb::postgres {

struct driver_options {
    /// At most this many cancel requests run on the threadpool at once; more
    /// wait their turn (libuv's pool has 4 threads by default and DNS needs them too).
    std::size_t max_concurrent_cancels = 2;
};

/// Makes the PostgreSQL driver (schemes "postgresql" and "postgres").
std::shared_ptr<uvdb::driver> make_driver(driver_options opts = {});

/// Registers the PostgreSQL driver in `registry` (default: the global one).
result<void> register_driver(driver_registry& registry = driver_registry::global());

/// Well-known type OIDs (pg_type.h), for result_set::column_type_id().
namespace oid {
inline constexpr std::uint32_t boolean = 16, bytea = 17, int8 = 20, int2 = 21, int4 = 23,
                               text = 25, oid_ = 26, float4 = 700, float8 = 701,
                               varchar = 1043, numeric = 1700, unknown = 705;
}

}  // namespace uvdb::postgres
