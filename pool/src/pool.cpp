// uvdb::pool: the public handle on the shared pool state.

#include <spdlog/logger.h>

#include <memory>
#include <stdexcept>
#include <utility>
#include <uvdb/log.hpp>
#include <uvdb/pool.hpp>

#include "pool_core.hpp"

namespace uvdb {

namespace {
using std::chrono::milliseconds;
}  // namespace

pool::pool(event_loop& loop, std::shared_ptr<driver> drv, pool_options opts)
    : pool(loop, std::move(drv), std::move(opts), nullptr) {}

pool::pool(event_loop& loop, std::shared_ptr<driver> drv, pool_options opts,
           std::shared_ptr<detail::timer_source> timers) {
    if (!drv) throw std::invalid_argument("uvdb::pool: no driver given");
    if (auto ok = validate(opts); !ok) throw std::invalid_argument(ok.err().message());
    const std::string line = engine_configured_line(opts);
    core_ = new detail::pool_core(loop, std::move(drv), std::move(opts), std::move(timers));
    logger().info("{}", line);
    core_->start();
}

result<pool> pool::create(event_loop& loop, pool_options opts, const driver_registry& registry) {
    auto drv = registry.for_url(opts.connection.url);
    if (!drv) return std::move(drv).err();
    if (auto ok = validate(opts); !ok) return std::move(ok).err();
    return pool(loop, std::move(drv).value(), std::move(opts));
}

pool::~pool() {
    if (core_ != nullptr) {
        core_->close();
        core_->release();
    }
}

pool::pool(pool&& other) noexcept : core_(other.core_) { other.core_ = nullptr; }

pool& pool::operator=(pool&& other) noexcept {
    if (this != &other) {
        if (core_ != nullptr) {
            core_->close();
            core_->release();
        }
        core_ = other.core_;
        other.core_ = nullptr;
    }
    return *this;
}

void pool::acquire(acquire_callback cb, std::source_location where) {
    core_->acquire(std::move(cb), core_->options().timeout, where);
}

void pool::acquire(milliseconds timeout, acquire_callback cb, std::source_location where) {
    core_->acquire(std::move(cb), timeout, where);
}

std::optional<lease> pool::try_acquire(std::source_location where) {
    if (detail::conn_slot* s = core_->try_checkout(where)) return core_->make_lease(s);
    return std::nullopt;
}

void pool::acquire(const call_options& opts, acquire_callback cb, std::source_location where) {
    start_acquire(&opts, std::move(cb), where);
}

void pool::start_acquire(const call_options* opts, acquire_callback cb,
                         std::source_location where) {
    core_->acquire(std::move(cb), core_->acquire_timeout(opts), where,
                   opts != nullptr && opts->stop.stop_possible() ? &opts->stop : nullptr);
}

void pool::start_query(const call_options* opts, std::string_view sql, params p, query_callback cb,
                       std::source_location where) {
    core_->query(sql, std::move(p), std::move(cb), where, opts);
}

void pool::close() { core_->close(); }
bool pool::closed() const noexcept { return core_->closed(); }
pool_stats pool::stats() const { return core_->stats(); }
milliseconds pool::longest_held() const { return core_->longest_held(); }
std::optional<error> pool::last_connect_error() const { return core_->last_connect_error(); }
const pool_options& pool::options() const noexcept { return core_->options(); }
event_loop& pool::loop() const noexcept { return core_->loop(); }

}  // namespace uvdb
