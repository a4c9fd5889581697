// uvdb::pool: the public handle on the shared pool state.

#include <uvdb/pool.hpp>

#include <memory>
#include <stdexcept>
#include <utility>

#include <spdlog/logger.h>

#include <uvdb/log.hpp>

#include "pool_core.hpp"

namespace uvdb {

namespace {
using std::chrono::milliseconds;

error bad_option(std::string what) { return error(errc::bad_config, "invalid pool option: " + std::move(what)); }
}  // namespace

result<void> validate(const pool_options& o) {
    if (o.size + o.max_overflow == 0) return bad_option("size + max_overflow must be at least 1 (both are 0)");
    if (o.min_idle > o.size) {
        return bad_option("min_idle " + std::to_string(o.min_idle) + " is larger than size " +
                          std::to_string(o.size));
    }
    if (o.max_connecting == 0) return bad_option("max_connecting must be at least 1");
    if (!(o.recycle_jitter >= 0.0 && o.recycle_jitter < 1.0)) {
        return bad_option("recycle_jitter must be in [0, 1), e.g. 0.1 for up to 10 %");
    }
    const std::pair<const char*, milliseconds> durations[] = {
        {"timeout", o.timeout},
        {"pre_ping_idle_threshold", o.pre_ping_idle_threshold},
        {"ping_timeout", o.ping_timeout},
        {"idle_timeout", o.idle_timeout},
        {"connect_backoff_base", o.connect_backoff_base},
        {"connect_backoff_cap", o.connect_backoff_cap},
        {"leak_threshold", o.leak_threshold},
    };
    for (const auto& [name, value] : durations) {
        if (value.count() < 0) {
            return bad_option(std::string(name) + " must not be negative (it is " +
                              std::to_string(value.count()) + " ms)");
        }
    }
    if (o.ping_timeout.count() == 0 && o.pre_ping) {
        return bad_option("ping_timeout must be positive when pre_ping is on");
    }
    return {};
}

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
        core_->release_ref();
    }
}

pool::pool(pool&& other) noexcept : core_(other.core_) { other.core_ = nullptr; }

pool& pool::operator=(pool&& other) noexcept {
    if (this != &other) {
        if (core_ != nullptr) {
            core_->close();
            core_->release_ref();
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

void pool::query(std::string_view sql, params p, query_callback cb, std::source_location where) {
    core_->query(sql, std::move(p), std::move(cb), where);
}

void pool::query(std::string_view sql, query_callback cb, std::source_location where) {
    core_->query(sql, params{}, std::move(cb), where);
}

void pool::close() { core_->close(); }
bool pool::closed() const noexcept { return core_->closed(); }
pool_stats pool::stats() const { return core_->stats(); }
milliseconds pool::longest_held() const { return core_->longest_held(); }
std::optional<error> pool::last_connect_error() const { return core_->last_connect_error(); }
const pool_options& pool::options() const noexcept { return core_->options(); }
event_loop& pool::loop() const noexcept { return core_->loop(); }

}  // namespace uvdb
