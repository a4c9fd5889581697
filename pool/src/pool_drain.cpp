// pool::drain: a graceful shutdown. From the call on the pool hands out
// nothing (acquires and queries fail at once with errc::pool_closed, "the
// pool is draining"), idle connections close, leases out may finish until
// the deadline; then every connection closes and the callbacks get a report.

#include <spdlog/logger.h>

#include <utility>
#include <uvdb/log.hpp>
#include <uvdb/pool.hpp>

#include "pool_core.hpp"

namespace uvdb {

void pool::drain(std::chrono::milliseconds deadline, drain_callback cb) {
    core_->drain(deadline, std::move(cb));
}

}  // namespace uvdb

namespace uvdb::detail {

void pool_core::drain(std::chrono::milliseconds deadline, unique_function<void(drain_report)> cb) {
    if (draining_) {  // a second caller learns the same outcome
        drain_->callbacks.push_back(std::move(cb));
        return;
    }
    if (closed_) {
        // Nothing left to wait for; reported like every completion, later.
        loop_.defer([cb = std::move(cb)]() mutable { cb(drain_report{}); });
        return;
    }
    loop_.update_time();
    drain_ = std::make_unique<drain_state>();
    drain_->started = timers_->now();
    drain_->leases_at_start = slots_.lent_count();
    drain_->callbacks.push_back(std::move(cb));
    drain_->keep = core_ref(this);
    draining_ = true;
    logger().info("pool: draining: {} leases out, deadline {} ms", drain_->leases_at_start,
                  deadline.count());
    // Waiting acquires would only wait for connections that now close.
    fail_all_waiters(error(errc::pool_closed,
                           "the pool is draining (pool.drain() was called) while this acquire "
                           "waited for a connection"));
    close();  // refuses new acquires, closes idle and connecting connections
    if (slots_.lent_count() == 0) {
        finish_drain(false, false);
        return;
    }
    drain_->timer = timers_->schedule(drain_->started + deadline, [this] {
        drain_->timer = 0;
        finish_drain(true, true);
    });
}

void pool_core::drain_returned() noexcept {
    ++drain_->finished;
    if (slots_.lent_count() == 0) finish_drain(false, false);
}

void pool_core::finish_drain(bool deadline_reached, bool deliver_now) noexcept {
    draining_ = false;
    std::unique_ptr<drain_state> d = std::move(drain_);
    timers_->cancel(d->timer);
    drain_report rep;
    rep.leases_at_start = d->leases_at_start;
    rep.finished = d->finished;
    rep.still_out = slots_.lent_count();
    rep.deadline_reached = deadline_reached;
    rep.took = std::chrono::duration_cast<std::chrono::milliseconds>(timers_->now() - d->started);
    if (rep.still_out > 0) {
        // Everything closes: statements still running on those leases fail
        // with errc::closed; the leases discard their connection when dropped.
        std::vector<connection*> open;
        slots_.for_each([&](conn_slot& s) {
            if (lent(s.state) && s.conn) open.push_back(s.conn.get());
        });
        for (connection* c : open) c->close();
    }
    try {
        logger().info(
            "pool: drained in {} ms: {} leases out at the start, {} finished, {} still out{}",
            rep.took.count(), rep.leases_at_start, rep.finished, rep.still_out,
            deadline_reached ? " at the deadline (their connections were closed)" : "");
    } catch (...) {  // the report matters more than the log line
    }
    auto callbacks = std::move(d->callbacks);
    core_ref keep = std::move(d->keep);  // released last: it may hold the last reference
    d.reset();
    if (deliver_now) {
        for (auto& cb : callbacks) cb(rep);
        return;
    }
    // From a lease's release (or the drain call itself): never inline.
    loop_.defer([callbacks = std::make_shared<decltype(callbacks)>(std::move(callbacks)), rep,
                 keep = std::move(keep)]() mutable {
        for (auto& cb : *callbacks) cb(rep);
    });
}

}  // namespace uvdb::detail
