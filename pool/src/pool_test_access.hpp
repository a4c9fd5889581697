#pragma once
// Test-only, not installed: a pool on a substitute clock (the unit tests'
// manual_timers), so timeouts are deterministic without sleeping. The
// constructor that takes a timer_source is private to uvdb::pool.

#include <memory>
#include <utility>
#include <uvdb/driver.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/pool_options.hpp>

#include "timer_source.hpp"

namespace uvdb::detail {

struct pool_test_access {
    static pool make(event_loop& loop, std::shared_ptr<driver> drv, pool_options opts,
                     std::shared_ptr<timer_source> timers) {
        return pool(loop, std::move(drv), std::move(opts), std::move(timers));
    }
};

}  // namespace uvdb::detail
