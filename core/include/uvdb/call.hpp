#pragma once
/// \file
/// The vocabulary every call of the API shares: `uvdb::sql_text` (SQL text
/// that remembers where it was written) and `uvdb::call_options` (a deadline
/// and an abandon switch for one call).

#include <chrono>
#include <concepts>
#include <source_location>
#include <stop_token>
#include <string_view>
#include <utility>

namespace uvdb {

/// SQL text (or a script) as a call takes it, together with the place in the
/// caller's source that passed it. Implicitly built from anything that
/// converts to std::string_view; the defaulted source_location argument is
/// evaluated at the call site, so a variadic `db.query(sql, args...)` still
/// knows its caller for leak warnings and timeout messages.
///
/// Holds a view, not a copy: the text must live until the call that took it
/// returns (for an awaitable: until the `co_await` expression ends, which a
/// temporary std::string in that expression does).
class sql_text {
  public:
    template <class S>
    requires std::convertible_to<const S&, std::string_view> sql_text(
        const S& text,  // NOLINT: implicit by design
        std::source_location where = std::source_location::current())
    noexcept(std::is_nothrow_convertible_v<const S&, std::string_view>)
        : text_(text), where_(where) {}

    std::string_view text() const noexcept { return text_; }
    std::source_location where() const noexcept { return where_; }
    operator std::string_view() const noexcept { return text_; }  // NOLINT: implicit by design

  private:
    std::string_view text_;
    std::source_location where_;
};

/// Per-call options of a pool call (query, acquire):
/// `db.query(uvdb::call_options(2s), sql, …)`, `db.acquire(uvdb::call_options(stop.get_token()))`.
///
/// A class with constructors rather than an aggregate on purpose: GCC 12
/// destroys the members of an aggregate-initialized temporary twice when it
/// appears inside a co_await expression (`co_await db.query(call_options{.stop = …}, …)`
/// double-frees the stop token's state); constructed temporaries are fine.
class call_options {
  public:
    call_options() = default;
    explicit call_options(std::chrono::milliseconds deadline, std::stop_token token = {}) noexcept
        : timeout(deadline), stop(std::move(token)) {}
    explicit call_options(std::stop_token token) noexcept : stop(std::move(token)) {}

    /// A deadline for the whole call, counted from the call: the wait for a
    /// connection plus the statement, which gets what is left of it (at
    /// least 1 ms). Negative: the pool's defaults (pool_options::timeout for
    /// the wait, the connection's query_timeout for the statement). 0: no
    /// deadline at all.
    std::chrono::milliseconds timeout{-1};
    /// Abandons the call when stop is requested (from any thread): a pending
    /// acquire leaves the queue at once and completes with errc::cancelled;
    /// a statement already running is cancelled on the server (it then
    /// completes with errc::cancelled, or with its result when it finished
    /// first). Default: cannot be stopped.
    std::stop_token stop;
};

}  // namespace uvdb
