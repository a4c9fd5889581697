// uvdb::listener: one connection of its own, the channels it LISTENs on, and
// the reconnect loop (connect → LISTEN every channel → ready; lost → wait a
// jittered back-off → connect again).
//
// Every callback handed to the connection or the timer holds a weak
// reference and the connection's generation: after a loss the old
// connection's late answers (errc::closed, a LISTEN confirmed on it) are
// recognised by their generation and ignored.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <stdexcept>
#include <uvdb/listener.hpp>
#include <uvdb/log.hpp>
#include <uvdb/timer.hpp>
#include <vector>

namespace uvdb {

std::chrono::milliseconds listener_backoff(unsigned attempt, std::chrono::milliseconds base,
                                           std::chrono::milliseconds cap, double unit) noexcept {
    if (attempt == 0) return std::chrono::milliseconds{0};
    // Doubling stops at the cap, long before the shift could overflow.
    double full = static_cast<double>(base.count());
    for (unsigned i = 1; i < attempt && full < static_cast<double>(cap.count()); ++i) full *= 2;
    full = std::min(full, static_cast<double>(cap.count()));
    unit = std::clamp(unit, 0.0, 1.0);
    return std::chrono::milliseconds{
        static_cast<std::int64_t>(std::llround(full * (0.5 + unit / 2)))};
}

namespace detail {

namespace {

std::uint64_t listener_seed(std::uint64_t seed) {
    if (seed != 0) return seed;
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32U) ^ rd();
}

error pgbouncer_refused() {
    return error(errc::bad_config,
                 "a listener cannot use the pgbouncer preset (or transaction_pooler): behind "
                 "PgBouncer in transaction mode "
                 "each transaction may run on another server session, so LISTEN does not stay "
                 "with the client; connect the listener to the database server directly");
}

bool made_for_pgbouncer(const pool_options& opts) {
    if (opts.transaction_pooler) return true;
    return std::any_of(opts.log_fields.begin(), opts.log_fields.end(), [](const auto& f) {
        return f.first == "preset" && f.second == "pgbouncer";
    });
}

}  // namespace

/// One channel: its callbacks and the listen() calls waiting for confirmation.
struct listener_channel {
    std::string name;
    std::vector<std::shared_ptr<listener::notify_callback>> callbacks;
    std::vector<listener::done_callback> waiting;
    bool removed = false;  // unlisten() was called: late answers about it are ignored
};

class listener_state : public std::enable_shared_from_this<listener_state> {
  public:
    listener_state(event_loop& loop, std::shared_ptr<driver> drv, listener_options opts)
        : loop_(loop),
          drv_(std::move(drv)),
          opts_(std::move(opts)),
          retry_(loop),
          rng_(listener_seed(opts_.random_seed)) {}

    void start_connect() {
        if (closed_) return;
        const std::uint64_t gen = ++generation_;
        std::weak_ptr<listener_state> w = weak_from_this();
        conn_ = drv_->connect(loop_, opts_.connection, [w, gen](result<void> r) {
            if (auto s = w.lock()) s->on_connected(gen, std::move(r));
        });
    }

    void listen(std::string name, listener::notify_callback cb, listener::done_callback done) {
        if (closed_) return fail_later(std::move(done), closed_error());
        // Checked now, also while disconnected: a bad name is the caller's mistake.
        if (auto q = drv_->quote_identifier(name); !q) {
            error e = std::move(q).err();
            return fail_later(std::move(done), error(e.value(), "channel name: " + e.message()));
        }
        auto& slot = channels_[name];
        if (!slot) {
            slot = std::make_shared<listener_channel>();
            slot->name = name;
        }
        slot->callbacks.push_back(std::make_shared<listener::notify_callback>(std::move(cb)));
        slot->waiting.push_back(std::move(done));
        if (session_open_) send_listen(slot, false);
        // Otherwise the LISTEN goes out when the connection is (re)opened.
    }

    void unlisten(const std::string& name, listener::done_callback done) {
        if (closed_) return fail_later(std::move(done), closed_error());
        auto it = channels_.find(name);
        if (it == channels_.end()) return fail_later(std::move(done), result<void>());
        std::shared_ptr<listener_channel> ch = std::move(it->second);
        channels_.erase(it);
        ch->removed = true;
        ch->callbacks.clear();
        for (auto& d : ch->waiting) {
            fail_later(std::move(d),
                       error(errc::cancelled, "unlisten() was called before LISTEN was confirmed"));
        }
        ch->waiting.clear();
        if (!session_open_) return fail_later(std::move(done), result<void>());
        const std::uint64_t gen = generation_;
        std::weak_ptr<listener_state> w = weak_from_this();
        conn_->unlisten(name, [w, gen, done = std::move(done)](result<void> r) mutable {
            auto s = w.lock();
            // A lost connection ends its subscriptions: nothing left to undo.
            if (!r && (!s || gen != s->generation_ || r.err().is_fatal())) return done({});
            done(std::move(r));
        });
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        ++generation_;
        ready_ = false;
        session_open_ = false;
        retry_.close();
        drop_connection();
        for (auto& [name, ch] : channels_) {
            ch->removed = true;
            for (auto& d : ch->waiting) fail_later(std::move(d), closed_error());
        }
        channels_.clear();
        reconnect_cb = nullptr;
        lost_cb = nullptr;
    }

    bool connected() const noexcept { return ready_; }
    std::int64_t server_pid() const noexcept {
        return session_open_ && conn_ ? conn_->server_pid() : 0;
    }

    listener::reconnect_callback reconnect_cb;
    listener::lost_callback lost_cb;
    std::uint64_t reconnect_count = 0;

  private:
    static error closed_error() { return error(errc::closed, "the listener was closed"); }

    /// Completes `done` from the loop, never inline from the caller's call.
    void fail_later(listener::done_callback done, result<void> r) {
        if (!done) return;
        loop_.defer([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
    }

    void on_connected(std::uint64_t gen, result<void> r) {
        if (closed_ || gen != generation_) return;
        if (!r) return lost(gen, std::move(r).err());
        std::weak_ptr<listener_state> w = weak_from_this();
        auto hooked = conn_->on_notification([w, gen](result<notification> n) {
            auto s = w.lock();
            if (!s || s->closed_ || gen != s->generation_) return;
            if (!n) return s->lost(gen, std::move(n).err());
            s->deliver(*n);
        });
        if (!hooked) {
            // A driver without notifications will not grow them by retrying.
            error e = std::move(hooked).err();
            logger().error("uvdb listener: {}", e.to_string());
            for (auto& [name, ch] : channels_) {
                for (auto& d : ch->waiting) fail_later(std::move(d), e);
                ch->waiting.clear();
            }
            if (lost_cb) lost_cb(e);
            close();
            return;
        }
        session_open_ = true;
        relisten_left_ = channels_.size();
        if (relisten_left_ == 0) return became_ready();
        // A copy: a confirmation may arrive only later, but unlisten() may
        // erase from the map in between.
        std::vector<std::shared_ptr<listener_channel>> all;
        all.reserve(channels_.size());
        for (auto& [name, ch] : channels_) all.push_back(ch);
        for (auto& ch : all) send_listen(ch, true);
    }

    void send_listen(const std::shared_ptr<listener_channel>& ch, bool counts) {
        const std::uint64_t gen = generation_;
        std::weak_ptr<listener_state> w = weak_from_this();
        conn_->listen(ch->name, [w, gen, ch, counts](result<void> r) {
            auto s = w.lock();
            if (!s || s->closed_ || gen != s->generation_) return;
            s->on_listened(gen, ch, counts, std::move(r));
        });
    }

    void on_listened(std::uint64_t gen, const std::shared_ptr<listener_channel>& ch, bool counts,
                     result<void> r) {
        if (!r && r.err().is_fatal()) return lost(gen, std::move(r).err());
        if (!ch->removed) {
            if (!r) {
                // The server refused this channel for good: its callbacks go.
                ch->removed = true;
                channels_.erase(ch->name);
            }
            auto waiting = std::move(ch->waiting);
            ch->waiting.clear();
            for (auto& d : waiting) fail_later(std::move(d), r);
        }
        if (counts && --relisten_left_ == 0) became_ready();
    }

    void became_ready() {
        ready_ = true;
        failures_ = 0;
        const bool again = had_session_;
        had_session_ = true;
        if (!again) return;
        ++reconnect_count;
        logger().info("uvdb listener: reconnected, LISTEN re-issued on {} channel(s)",
                      channels_.size());
        if (reconnect_cb) reconnect_cb();
    }

    void deliver(const notification& n) {
        auto it = channels_.find(n.channel);
        if (it == channels_.end()) return;  // an UNLISTEN still on its way
        const std::shared_ptr<listener_channel> ch = it->second;
        // By index with a held reference: a callback may add callbacks,
        // unlisten or close; nothing is called once the channel was removed.
        for (std::size_t i = 0; i < ch->callbacks.size() && !ch->removed && !closed_; ++i) {
            const auto cb = ch->callbacks[i];
            (*cb)(n);
        }
    }

    void lost(std::uint64_t gen, error e) {
        if (closed_ || gen != generation_) return;
        ++generation_;  // late answers of the old connection are ignored from now on
        ready_ = false;
        session_open_ = false;
        drop_connection();
        ++failures_;
        const auto wait = listener_backoff(failures_, opts_.backoff_base, opts_.backoff_cap,
                                           std::uniform_real_distribution<double>(0, 1)(rng_));
        logger().warn("uvdb listener: {} ({}); reconnecting in {} ms",
                      had_session_ && failures_ == 1 ? "connection lost" : "cannot connect",
                      e.to_string(), wait.count());
        if (lost_cb) {
            lost_cb(e);
            if (closed_) return;
        }
        std::weak_ptr<listener_state> w = weak_from_this();
        retry_.start(wait, [w] {
            if (auto s = w.lock()) s->start_connect();
        });
    }

    /// The connection goes after the current callback returns: we may be
    /// inside one of its own callbacks.
    void drop_connection() {
        if (!conn_) return;
        conn_->close();
        loop_.defer([c = std::move(conn_)]() mutable { c.reset(); });
        conn_ = nullptr;
    }

    event_loop& loop_;
    std::shared_ptr<driver> drv_;
    listener_options opts_;
    std::unique_ptr<connection> conn_;
    timer retry_;
    std::mt19937_64 rng_;
    std::map<std::string, std::shared_ptr<listener_channel>, std::less<>> channels_;
    std::uint64_t generation_ = 0;
    unsigned failures_ = 0;
    std::size_t relisten_left_ = 0;
    bool closed_ = false;
    bool session_open_ = false;  // connected: statements may be sent
    bool ready_ = false;         // and every channel LISTENed again
    bool had_session_ = false;   // a connection was ready before: the next is a reconnect
};

}  // namespace detail

listener::listener(event_loop& loop, std::shared_ptr<driver> drv, listener_options opts) {
    if (opts.backoff_base.count() <= 0 || opts.backoff_cap < opts.backoff_base)
        throw std::invalid_argument(
            "listener_options: backoff_base must be positive and backoff_cap at least "
            "backoff_base");
    state_ = std::make_shared<detail::listener_state>(loop, std::move(drv), std::move(opts));
    state_->start_connect();
}

result<listener> listener::create(event_loop& loop, listener_options opts,
                                  const driver_registry& registry) {
    auto drv = registry.for_url(opts.connection.url);
    if (!drv) return std::move(drv).err();
    if (opts.backoff_base.count() <= 0 || opts.backoff_cap < opts.backoff_base) {
        return error(errc::bad_config,
                     "listener_options: backoff_base must be positive and backoff_cap at least "
                     "backoff_base");
    }
    if (auto ok = (*drv)->check(opts.connection.url); !ok) return std::move(ok).err();
    return listener(loop, std::move(*drv), std::move(opts));
}

result<listener> listener::create(event_loop& loop, std::string url,
                                  const driver_registry& registry) {
    listener_options opts;
    opts.connection.url = std::move(url);
    return create(loop, std::move(opts), registry);
}

result<listener> listener::create(event_loop& loop, const pool_options& opts,
                                  const driver_registry& registry) {
    if (detail::made_for_pgbouncer(opts)) return detail::pgbouncer_refused();
    listener_options lo;
    lo.connection = opts.connection;
    lo.backoff_base = opts.connect_backoff_base;
    lo.backoff_cap = opts.connect_backoff_cap;
    lo.random_seed = opts.random_seed;
    return create(loop, std::move(lo), registry);
}

result<listener> listener::create(event_loop& loop, const config& cfg,
                                  const driver_registry& registry) {
    if (cfg.preset == "pgbouncer") return detail::pgbouncer_refused();
    return create(loop, cfg.pool, registry);
}

listener::~listener() { close(); }
listener::listener(listener&& other) noexcept = default;
listener& listener::operator=(listener&& other) noexcept {
    if (this != &other) {
        close();
        state_ = std::move(other.state_);
    }
    return *this;
}

void listener::listen(std::string channel, notify_callback cb, done_callback done) {
    state_->listen(std::move(channel), std::move(cb), std::move(done));
}
void listener::unlisten(std::string channel, done_callback done) {
    state_->unlisten(channel, std::move(done));
}
void listener::on_reconnect(reconnect_callback cb) { state_->reconnect_cb = std::move(cb); }
void listener::on_lost(lost_callback cb) { state_->lost_cb = std::move(cb); }
void listener::close() {
    if (state_) state_->close();
}
bool listener::connected() const noexcept { return state_ && state_->connected(); }
std::int64_t listener::server_pid() const noexcept { return state_ ? state_->server_pid() : 0; }
std::uint64_t listener::reconnects() const noexcept { return state_ ? state_->reconnect_count : 0; }

}  // namespace uvdb
