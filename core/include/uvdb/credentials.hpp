#pragma once
/// \file
/// Passwords that change: a `password_provider` is asked for the password
/// before a connect (an RDS IAM token generator, an Azure Entra ID or GCP IAM
/// access token, a password file that is rotated, a command). Its answer is
/// cached until the expiry it gave, and one call in flight serves every
/// connect that waits for it.
///
/// ```cpp
/// opts.password_provider = uvdb::make_password_provider(
///     "rds-iam", [](uvdb::event_loop& loop, uvdb::password_callback done) {
///         sign_token_async(loop, [done = std::move(done)](std::string token) mutable {
///             done(uvdb::password_grant{std::move(token),
///                                       std::chrono::system_clock::now() + 15min});
///         });
///     });
/// ```
///
/// The pool and the PostgreSQL driver ask the provider of their
/// connect_options before each connect; a driver of its own may call
/// resolve_password() at the start of its connect.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <uvdb/driver.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/function.hpp>
#include <uvdb/result.hpp>
#include <uvdb/timer.hpp>
#include <vector>

namespace uvdb {

/// What a provider answers: the password and until when it may be reused.
struct password_grant {
    std::string password;
    /// When the password stops being valid. nullopt: it is not reused, the
    /// provider is asked again for the next connect (a password file that may
    /// have been rotated meanwhile).
    std::optional<std::chrono::system_clock::time_point> expires_at;
};

/// How a provider hands its answer back: called once, from any thread.
using password_callback = unique_function<void(result<password_grant>)>;

struct password_provider_options {
    /// How long one call may take before the connects waiting for it fail
    /// with errc::timeout naming the provider; 0 = no limit.
    std::chrono::milliseconds timeout{10'000};
    /// A cached password is not used within this margin of its expiry, so
    /// that a connect never authenticates with a token about to lapse.
    std::chrono::milliseconds refresh_margin{30'000};
    /// The wall clock the expiries are compared with; empty: system_clock::now.
    /// Tests put a manual clock here.
    std::function<std::chrono::system_clock::time_point()> clock;
};

/// A named source of passwords, shared (through std::shared_ptr) by every
/// connect that uses the same connect_options: a pool's connects share its
/// cache and its call in flight. Thread-safe; the function it wraps is
/// called on the loop thread of the connect that needs a password.
class password_provider : public std::enable_shared_from_this<password_provider> {
  public:
    /// Asked for a password: `loop` is the loop of the connect that needs it
    /// (to run work off it, or to post back to it); `done` must be called
    /// exactly once, from any thread, while that loop lives. A function that
    /// throws counts as a failed call.
    using fetch_function = std::function<void(event_loop& loop, password_callback done)>;
    using password_result_callback = unique_function<void(result<std::string>)>;
    using ticket = std::uint64_t;

    /// Use make_password_provider(). `name` appears in errors ("password
    /// provider \"rds-iam\" failed: …"); it must not be secret.
    password_provider(std::string name, fetch_function fetch, password_provider_options opts);
    ~password_provider();
    password_provider(const password_provider&) = delete;
    password_provider& operator=(const password_provider&) = delete;

    const std::string& name() const noexcept { return name_; }

    /// Gets a password for one connect on `loop` (call on its thread): the
    /// cached one while it is valid, else the answer of the call in flight,
    /// else of a new call. `cb` runs on the loop thread, never inline, with
    /// the password or an error that names the provider and never holds a
    /// password: errc::connect_failed with the provider's message when it
    /// failed or threw, errc::timeout when it did not answer in time.
    /// Returns a ticket for cancel().
    ticket get(event_loop& loop, password_result_callback cb);
    /// Forgets a waiting get(): its callback is destroyed unrun (from the
    /// caller's thread). Harmless for a ticket already completed.
    void cancel(ticket t) noexcept;
    /// Drops the cached password (the server refused it): the next get() asks.
    void forget() noexcept;
    /// How many times the provider's function was called (tests, diagnostics).
    std::uint64_t calls() const noexcept;

  private:
    struct waiter {
        ticket id;
        event_loop* loop;
        std::thread::id thread;
        password_result_callback cb;
    };
    using clock = std::chrono::system_clock;

    clock::time_point now() const;
    void start_fetch(event_loop& loop);
    // Runs on the loop thread of the call `fetch_id`: completes its waiters.
    void finish(std::uint64_t fetch_id, result<password_grant> r);
    static void deliver(waiter w, result<std::string> r);

    const std::string name_;
    const fetch_function fetch_;
    const password_provider_options opts_;

    mutable std::mutex mutex_;
    std::vector<waiter> waiters_;
    std::optional<std::string> cached_;
    clock::time_point cached_until_{};
    bool in_flight_ = false;
    std::uint64_t fetch_id_ = 0;  // the call in flight (or the last one)
    ticket next_ticket_ = 1;
    std::uint64_t calls_ = 0;
    // The deadline of the call in flight, on that call's loop, touched on
    // that loop's thread only.
    std::unique_ptr<timer> deadline_;
};

/// Makes a provider to put into connect_options::password_provider.
std::shared_ptr<password_provider> make_password_provider(std::string name,
                                                          password_provider::fetch_function fetch,
                                                          password_provider_options opts = {});

/// For a driver's connect: `cb` (on the loop thread, never inline) gets
/// `opts` with the provider's password in `password` and the provider
/// cleared, or the provider's error. Options without a provider come back
/// as they are.
void resolve_password(event_loop& loop, const connect_options& opts,
                      unique_function<void(result<connect_options>)> cb);

}  // namespace uvdb
