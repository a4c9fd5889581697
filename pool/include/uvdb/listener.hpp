#pragma once
/// \file
/// `uvdb::listener`: server notifications (PostgreSQL LISTEN/NOTIFY) on a
/// connection of its own, kept open across server restarts and lost
/// connections.
///
/// ```cpp
/// auto l = uvdb::listener::create(loop, "postgresql://app@db/app");
/// if (!l) return fail(l.err());
/// l->on_reconnect([&] { cache.clear(); });   // notifications of the gap are lost
/// auto ok = co_await l->listen("prices", [&](const uvdb::notification& n) {
///     cache.erase(n.payload);
/// });
/// ```
///
/// Contract:
///  - The listener opens one connection through the driver (never a pooled
///    lease: a pool hands its connections to others, and a subscription
///    belongs to a session). Notifications are delivered on the loop thread,
///    in the order the server sent them, with channel, payload and sender pid.
///  - listen() completes once the server confirmed the LISTEN; while the
///    listener is reconnecting it completes after the reconnection did. Any
///    string names a channel: the driver quotes it (a name the backend
///    cannot hold is errc::bad_input at once). Several callbacks per channel
///    are allowed; each notification goes to each of them, in the order they
///    were added.
///  - unlisten() removes every callback of the channel at once: none of them
///    is called after unlisten() returns, even for notifications already
///    on their way.
///  - When the connection is lost (server restart, pg_terminate_backend, a
///    network cut that TCP keepalives detect), the listener reconnects after
///    a jittered exponential back-off (between half and all of
///    base·2^(n−1), at most the cap), issues LISTEN again for every channel,
///    then calls the on_reconnect callback. Notifications sent while it was
///    disconnected are LOST: the server queues notifications only for
///    sessions listening when they are sent. Resynchronise in on_reconnect
///    (reload what the notifications would have told you).
///  - A listener refuses a configuration made with the `pgbouncer` preset:
///    behind PgBouncer in transaction mode each transaction may run on
///    another server session, so a LISTEN does not stay with the client.
///  - Loop thread only. Destroying the listener closes it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <uvdb/config.hpp>
#include <uvdb/detail/callback_awaitable.hpp>
#include <uvdb/driver.hpp>
#include <uvdb/driver_registry.hpp>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/function.hpp>
#include <uvdb/notification.hpp>
#include <uvdb/pool_options.hpp>
#include <uvdb/result.hpp>

namespace uvdb {

namespace listener_defaults {
inline constexpr std::chrono::milliseconds backoff_base{100};
inline constexpr std::chrono::milliseconds backoff_cap{3'000};
}  // namespace listener_defaults

/// How a listener connects and reconnects.
struct listener_options {
    /// How its connection is opened (URL, password, timeouts, `extra`).
    connect_options connection;
    /// The wait before reconnect attempt n (n = 1 after a loss) is between
    /// half and all of min(backoff_cap, backoff_base·2^(n−1)).
    std::chrono::milliseconds backoff_base = listener_defaults::backoff_base;
    std::chrono::milliseconds backoff_cap = listener_defaults::backoff_cap;
    /// Seed of the back-off jitter; 0 = from std::random_device.
    std::uint64_t random_seed = 0;
};

/// The wait before reconnect attempt `attempt` (1, 2, …): `unit` in [0, 1)
/// picks a point between half and all of min(cap, base·2^(attempt−1)).
std::chrono::milliseconds listener_backoff(unsigned attempt, std::chrono::milliseconds base,
                                           std::chrono::milliseconds cap, double unit) noexcept;

namespace detail {
class listener_state;
}

class listener {
  public:
    using notify_callback = unique_function<void(const notification&)>;
    using done_callback = unique_function<void(result<void>)>;
    using reconnect_callback = unique_function<void()>;
    using lost_callback = unique_function<void(const error&)>;

    /// A listener connecting with `drv`; starts connecting at once.
    /// Throws std::invalid_argument for a back-off that is not positive.
    listener(event_loop& loop, std::shared_ptr<driver> drv, listener_options opts);

    /// The driver looked up in `registry` by the URL's scheme.
    /// Errors: errc::driver_not_found, errc::bad_config.
    static result<listener> create(event_loop& loop, listener_options opts,
                                   const driver_registry& registry = driver_registry::global());
    static result<listener> create(event_loop& loop, std::string url,
                                   const driver_registry& registry = driver_registry::global());
    /// From a pool's options: the connection and the connect back-off
    /// (connect_backoff_base/cap). errc::bad_config when they were made with
    /// the pgbouncer preset (see the contract above).
    static result<listener> create(event_loop& loop, const pool_options& opts,
                                   const driver_registry& registry = driver_registry::global());
    /// From a loaded configuration (load_config); the same refusal.
    static result<listener> create(event_loop& loop, const config& cfg,
                                   const driver_registry& registry = driver_registry::global());

    ~listener();
    listener(listener&& other) noexcept;
    listener& operator=(listener&& other) noexcept;
    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;

    /// Subscribes `cb` to `channel`; `done` runs once the server confirmed
    /// (errc::bad_input for a name the backend cannot hold, errc::cancelled
    /// when unlisten() came first, errc::closed when the listener closed).
    void listen(std::string channel, notify_callback cb, done_callback done);
    /// `co_await l.listen("jobs", cb)` gives result<void>.
    [[nodiscard]] auto listen(std::string channel, notify_callback cb) {
        return detail::make_callback_awaitable<void>(
            listen_start{this, std::move(channel), std::move(cb)});
    }
    /// Removes every callback of `channel` now, then UNLISTENs; `done` runs
    /// once the server confirmed (at once, deferred, when disconnected).
    void unlisten(std::string channel, done_callback done);
    [[nodiscard]] auto unlisten(std::string channel) {
        return detail::make_callback_awaitable<void>(unlisten_start{this, std::move(channel)});
    }

    /// Called after a lost connection was re-established and every channel
    /// LISTENed again (not after the first connect). Replaces an earlier one.
    void on_reconnect(reconnect_callback cb);
    /// Called with the reason each time the connection is lost or a
    /// reconnect attempt fails. Replaces an earlier one.
    void on_lost(lost_callback cb);

    /// Closes the connection and stops reconnecting; pending listen()s fail
    /// with errc::closed. Idempotent.
    void close();

    /// Connected, with every channel LISTENed.
    bool connected() const noexcept;
    /// The server's process id of the current connection (0 when none).
    std::int64_t server_pid() const noexcept;
    /// How many times a lost connection was re-established.
    std::uint64_t reconnects() const noexcept;

  private:
    struct listen_start {
        listener* self;
        std::string channel;
        notify_callback cb;
        template <class Done>
        void operator()(Done done) && {
            self->listen(std::move(channel), std::move(cb), done_callback(std::move(done)));
        }
    };
    struct unlisten_start {
        listener* self;
        std::string channel;
        template <class Done>
        void operator()(Done done) && {
            self->unlisten(std::move(channel), done_callback(std::move(done)));
        }
    };

    std::shared_ptr<detail::listener_state> state_;
};

}  // namespace uvdb
