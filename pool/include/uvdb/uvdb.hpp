#pragma once
/// \file
/// Umbrella header: everything in uvdb's core and its pool (with the pool's
/// options and configuration loader). It belongs to uvdb::pool, the top of
/// the dependency graph; drivers' headers are included separately.

#include <uvdb/config.hpp>
#include <uvdb/credentials.hpp>
#include <uvdb/driver.hpp>
#include <uvdb/driver_registry.hpp>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/function.hpp>
#include <uvdb/intrusive_ref.hpp>
#include <uvdb/io_watcher.hpp>
#include <uvdb/log.hpp>
#include <uvdb/notification.hpp>
#include <uvdb/offload.hpp>
#include <uvdb/param.hpp>
#include <uvdb/percent.hpp>
#include <uvdb/pool_options.hpp>
#include <uvdb/result.hpp>
#include <uvdb/result_set.hpp>
#include <uvdb/timer.hpp>
#include <uvdb/url.hpp>

// The pool library.
#include <uvdb/batch.hpp>
#include <uvdb/coro.hpp>
#include <uvdb/lease.hpp>
#include <uvdb/listener.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/pool_from_config.hpp>
#include <uvdb/pool_stats.hpp>
#include <uvdb/replica_options.hpp>
#include <uvdb/routing_pool.hpp>
#include <uvdb/transaction.hpp>
