// The life of one pooled connection: connect (with on_connect and back-off),
// pre-ping, reset on return, and discarding.

#include <spdlog/logger.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <exception>
#include <utility>
#include <uvdb/credentials.hpp>
#include <uvdb/log.hpp>

#include "pool_core.hpp"

namespace uvdb::detail {

namespace {
using std::chrono::duration_cast;
using std::chrono::milliseconds;
}  // namespace

// ---------------------------------------------------------------- connect

void pool_core::start_connect() {
    conn_slot* s = &slots_.open();
    s->created_at = timers_->now();
    ++connects_;
    if (const auto& provider = opts_.connection.password_provider) {
        // The password is asked for here, before the driver, so that every
        // driver gets it; the slot is connecting (and counted so) meanwhile.
        // get() never answers inline, so the ticket is known by then.
        auto ticket = std::make_shared<std::uint64_t>(0);
        *ticket = provider->get(loop_, [ref = core_ref(this), s, epoch = s->epoch,
                                        ticket](result<std::string> r) mutable {
            ref->on_password(s, epoch, *ticket, std::move(r));
        });
        password_tickets_.push_back(*ticket);
        return;
    }
    open_connection(*s, opts_.connection);
}

void pool_core::on_password(conn_slot* s, std::uint32_t epoch, std::uint64_t ticket,
                            result<std::string> r) {
    std::erase(password_tickets_, ticket);
    if (s->epoch != epoch || s->state != slot_state::connecting || closed_) return;
    if (!r) {
        connect_failed(*s, std::move(r).err());
        return;
    }
    connect_options opts = opts_.connection;
    opts.password = std::move(*r);
    opts.password_provider.reset();
    open_connection(*s, opts);
}

void pool_core::open_connection(conn_slot& slot, const connect_options& opts) {
    conn_slot* s = &slot;
    try {
        s->conn = driver_->connect(loop_, opts,
                                   [ref = core_ref(this), s, epoch = s->epoch](result<void> r) {
                                       ref->on_connected(s, epoch, std::move(r));
                                   });
    } catch (const std::exception& ex) {
        // A driver should report failures through the callback; treat a
        // throwing one as a failed connect rather than corrupt the counts.
        connect_failed(*s, error(errc::internal,
                                 std::string("the driver threw from connect(): ") + ex.what()));
    }
}

void pool_core::on_connected(conn_slot* s, std::uint32_t epoch, result<void> r) {
    if (s->epoch != epoch || s->state != slot_state::connecting) return;  // discarded meanwhile
    if (!r) {
        // A cached password the server refuses (revoked early, rotated by
        // hand) must not be offered again: the next connect asks the provider.
        if (r.err().value() == errc::auth_failed && opts_.connection.password_provider) {
            opts_.connection.password_provider->forget();
        }
        connect_failed(*s, std::move(r).err());
        return;
    }
    if (opts_.on_connect) {
        opts_.on_connect(*s->conn, [ref = core_ref(this), s, epoch](result<void> hr) {
            ref->on_initialized(s, epoch, std::move(hr));
        });
        return;
    }
    connected(*s);
}

void pool_core::on_initialized(conn_slot* s, std::uint32_t epoch, result<void> r) {
    if (s->epoch != epoch || s->state != slot_state::connecting) return;
    if (!r) {
        error e = std::move(r).err();
        e.with_message("the pool's on_connect hook failed: " + e.message());
        connect_failed(*s, std::move(e));
        return;
    }
    connected(*s);
}

void pool_core::connected(conn_slot& s) {
    slots_.set_state(s, slot_state::detached);
    if (consecutive_failures_ != 0) {
        logger().info("pool: connecting works again after {} failed attempt(s)",
                      consecutive_failures_);
    }
    consecutive_failures_ = 0;
    if (breaker_.on_success()) {
        logger().info("pool: circuit breaker closed: a connect succeeded, acquires wait as usual");
    }
    if (in_backoff_) {
        timers_->cancel(backoff_timer_);
        backoff_timer_ = 0;
        in_backoff_ = false;
    }
    const time_point now = timers_->now();
    record_connect_time(now - s.created_at);
    create_time_.record(duration_cast<std::chrono::microseconds>(now - s.created_at));
    s.generation = generation_;
    s.created_at = now;
    s.idle_since = now;
    if (opts_.recycle.count() > 0) {
        const double cut =
            opts_.recycle_jitter * std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
        const auto life = duration_cast<timer_source::clock::duration>(opts_.recycle * (1.0 - cut));
        s.expires_at = now + life;
    } else {
        s.expires_at = time_point::max();
    }
    make_available(s, now);
    dispatch();
}

void pool_core::connect_failed(conn_slot& s, error e) {
    ++connect_failures_;
    ++consecutive_failures_;
    if (consecutive_failures_ == 1) {
        logger().warn("pool: opening a connection failed: {}", e.to_string());
    } else {
        logger().debug("pool: opening a connection failed ({} in a row): {}", consecutive_failures_,
                       e.to_string());
    }
    discard(s);
    start_backoff(timers_->now());
    // With a provider, a refused password may be one rotated a moment ago
    // (the server changed first, the secret store a little later): the next
    // attempt asks the provider again, so waiters keep waiting for it.
    const bool retryable = e.retryable() || (e.value() == errc::auth_failed &&
                                             opts_.connection.password_provider != nullptr);
    last_connect_error_ = e;
    const bool opened = breaker_.on_failure(e);
    if (opened) {
        logger().warn(
            "pool: circuit breaker open after {} failed connects in a row: acquires that find no "
            "idle connection fail at once until a probe connect succeeds (next in {})",
            breaker_.failures_in_a_row(),
            format_duration(std::chrono::ceil<milliseconds>(backoff_at_ - timers_->now())));
        // Callers already waiting would otherwise wait out their timeout for
        // a server that is not there: they get what a new caller gets.
        fail_all_waiters(breaker_error());
    } else if (!retryable) {
        // Retrying cannot fix a wrong password, a bad certificate or a bad
        // option: tell the waiters now instead of hammering the server.
        error out = e;
        out.with_message("the pool could not open a connection: " + e.message());
        fail_all_waiters(out);
    }
    dispatch();
}

void pool_core::start_backoff(time_point now) {
    const auto n = std::min<std::size_t>(consecutive_failures_, 30);
    const double base = static_cast<double>(opts_.connect_backoff_base.count());
    const double cap = static_cast<double>(opts_.connect_backoff_cap.count());
    const double full = std::min(cap, base * std::ldexp(1.0, static_cast<int>(n) - 1));
    // "Equal jitter": between half and all of the exponential delay, so
    // clients that failed together do not retry together.
    const double ms = full / 2 + std::uniform_real_distribution<double>(0.0, full / 2)(rng_);
    const auto delay = milliseconds(static_cast<milliseconds::rep>(std::ceil(ms)));
    timers_->cancel(backoff_timer_);
    in_backoff_ = true;
    backoff_at_ = now + delay;
    backoff_timer_ = timers_->schedule(backoff_at_, [this] {
        backoff_timer_ = 0;
        in_backoff_ = false;
        if (breaker_.state() == breaker_state::open && !closed_) {
            // The breaker's probe: one connect per back-off step, whether or
            // not anyone waits (acquires fail fast, so nobody does).
            if (slots_.total() < max_total_) {
                breaker_.probe_started();
                start_connect();
            } else {
                start_backoff(timers_->now());  // every slot is in use: probe later
            }
        }
        dispatch();
    });
}

// ---------------------------------------------------------------- pre-ping

void pool_core::start_ping(conn_slot& s, time_point now) {
    slots_.set_state(s, slot_state::pinging);
    ++pings_;
    milliseconds deadline = opts_.ping_timeout;
    if (!waiters_.empty()) {
        // A ping never outlasts the caller it is for.
        const auto left = std::chrono::ceil<milliseconds>(waiters_.front().deadline - now);
        deadline = std::max(milliseconds{1}, std::min(deadline, left));
    }
    s.conn->ping(deadline, [ref = core_ref(this), p = &s, epoch = s.epoch](result<void> r) {
        ref->on_ping_done(p, epoch, std::move(r));
    });
}

void pool_core::on_ping_done(conn_slot* s, std::uint32_t epoch, result<void> r) {
    if (s->epoch != epoch || s->state != slot_state::pinging) return;
    if (!r) {
        ++ping_failures_;
        logger().debug("pool: pre-ping failed, replacing the connection: {}", r.err().to_string());
        if (r.err().server_gone()) invalidate_all(r.err());
        discard(*s);
        dispatch();
        return;
    }
    if (s->conn->role_lost()) {
        // What the ping's answer carried: the server changed roles.
        discard_for(*s, reuse_verdict::role_lost);
        dispatch();
        return;
    }
    slots_.set_state(*s, slot_state::detached);
    const time_point now = timers_->now();
    s->idle_since = now;
    make_available(*s, now);
    dispatch();
}

// ---------------------------------------------------------------- reset

void pool_core::start_reset(conn_slot& s) {
    slots_.set_state(s, slot_state::resetting);
    reset_step(s);
}

// One step of making a returned connection fit for its next user, each
// started when the one before succeeded: wait for what on_checkin started,
// roll back, run the reset query. Then the connection is available.
void pool_core::reset_step(conn_slot& s) {
    connection& c = *s.conn;
    auto next = [ref = core_ref(this), p = &s, epoch = s.epoch](result<void> r) {
        ref->on_reset_step(p, epoch, std::move(r));
    };
    if (!c.is_idle()) {
        // Statements run in order: a ping queued behind the hook's statement
        // completes once that has.
        c.ping(opts_.ping_timeout, std::move(next));
    } else if (c.transaction_status() != tx_status::idle) {
        c.reset(std::move(next));
    } else if (s.reset_query_due) {
        s.reset_query_due = false;
        query_options qo;
        qo.timeout = opts_.ping_timeout;
        c.execute(opts_.reset_query, qo,
                  [next = std::move(next)](result<std::vector<result_set>> r) mutable {
                      next(r ? result<void>() : result<void>(std::move(r).err()));
                  });
    } else {
        slots_.set_state(s, slot_state::detached);
        const time_point now = timers_->now();
        s.idle_since = now;
        make_available(s, now);
        dispatch();
    }
}

void pool_core::on_reset_step(conn_slot* s, std::uint32_t epoch, result<void> r) {
    if (s->epoch != epoch || s->state != slot_state::resetting) return;
    if (!r || s->conn->is_broken()) {
        ++closed_broken_;
        if (!r) {
            // A reset query that cannot succeed (misspelt, not permitted, too
            // slow) closes every returned connection: say so once, loudly.
            if (!r.err().is_fatal() && !reset_failure_warned_) {
                reset_failure_warned_ = true;
                logger().warn(
                    "pool: making a returned connection fit for reuse failed, so it is closed "
                    "instead: {}"
                    "{}",
                    r.err().to_string(),
                    opts_.reset_query.empty() ? "" : "; check pool_options::reset_query");
            } else {
                logger().debug("pool: resetting a returned connection failed, closing it: {}",
                               r.err().to_string());
            }
            if (r.err().server_gone()) invalidate_all(r.err());
        }
        discard(*s);
        dispatch();
        return;
    }
    reset_step(*s);
}

// ---------------------------------------------------------------- discard

void pool_core::discard(conn_slot& s) noexcept {
    assert(s.state != slot_state::free);
    if (s.conn) {
        s.conn->close();
        graveyard_.push_back(std::move(s.conn));
        if (!flush_scheduled_) {
            flush_scheduled_ = true;
            loop_.defer([ref = core_ref(this)] { ref->flush_graveyard(); });
        }
    }
    slots_.set_state(s, slot_state::free);
}

void pool_core::flush_graveyard() noexcept {
    flush_scheduled_ = false;
    std::vector<std::unique_ptr<connection>> doomed;
    doomed.swap(graveyard_);
    doomed.clear();
}

void pool_core::invalidate_for_role(const connection& c) noexcept {
    ++generation_;
    logger().info(
        "pool: {} no longer has the role the pool's connection string asks for (now {}); every "
        "connection opened before now will be replaced",
        c.describe(), to_string(c.reported_role()));
}

void pool_core::invalidate_all(const error& cause) {
    ++generation_;
    logger().info(
        "pool: the server went away ({}); every connection opened before now will be replaced",
        to_string(cause.value()));
}

}  // namespace uvdb::detail
