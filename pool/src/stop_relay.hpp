#pragma once
/// \file
/// `stop_relay`: carries a std::stop_token's stop request, which may come
/// from any thread, to the loop thread, for one reusable pool record (a
/// waiter, a query operation). Armed and disarmed on the loop thread.
///
/// Lifetimes: arming takes a reference on the pool core. When the request
/// comes, the relay posts to the loop and that posted function owns the
/// reference (it calls the handler, then releases it); otherwise disarm()
/// releases it. The record may have been reused by the time the posted
/// function runs, so the handler gets the ticket the relay had when it was
/// armed and compares it with the record's current one.

#include <atomic>
#include <cstdint>
#include <optional>
#include <stop_token>
#include <uvdb/event_loop.hpp>

namespace uvdb::detail {

class pool_core;

class stop_relay {
  public:
    /// Loop thread; `record` and `ticket` are handed back to it.
    using handler = void (*)(pool_core& core, void* record, std::uint32_t ticket);

    stop_relay() = default;
    stop_relay(const stop_relay&) = delete;
    stop_relay& operator=(const stop_relay&) = delete;
    ~stop_relay() { disarm(); }

    /// Calls `on_stop(core, record, ticket())` on the loop thread once stop
    /// is requested on `token` (posted, never inline: also when stop was
    /// requested already). Loop thread; not armed yet.
    void arm(const std::stop_token& token, pool_core& core, handler on_stop, void* record);
    /// Forgets the token; a request that already came is still delivered,
    /// with a ticket that no longer matches. Loop thread; idempotent. The
    /// caller holds a reference on the core (this may drop one).
    void disarm() noexcept;
    /// Changes with every disarm of an armed relay.
    std::uint32_t ticket() const noexcept { return ticket_; }

  private:
    struct fire {
        stop_relay* self;
        void operator()() const noexcept;  // the thread that requests stop
    };

    std::optional<std::stop_callback<fire>> callback_;
    std::atomic<bool> fired_{false};
    pool_core* core_ = nullptr;
    handler on_stop_ = nullptr;
    void* record_ = nullptr;
    std::uint32_t ticket_ = 0;
};

}  // namespace uvdb::detail
