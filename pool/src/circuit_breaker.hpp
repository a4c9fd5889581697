#pragma once
/// \file
/// The pool's circuit breaker: counts consecutive connect failures that
/// retrying may fix (refused, unreachable, too many clients, 57P03) and opens
/// after `threshold` of them. While open, acquires that find no idle
/// connection fail at once instead of waiting their timeout for a server that
/// is not there, and the pool runs one probe connect per back-off step; the
/// first successful connect closes it. The pool (pool_core) owns one and
/// tells it what happened; this class only keeps the state and its counters.
///
///   closed ──threshold retryable failures in a row──▶ open
///   open ──back-off timer──▶ half_open (one probe connect in flight)
///   half_open ──probe fails──▶ open;  any state ──a connect succeeds──▶ closed

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <uvdb/error.hpp>
#include <uvdb/pool_stats.hpp>

namespace uvdb::detail {

class circuit_breaker {
  public:
    /// threshold 0: never opens.
    explicit circuit_breaker(std::size_t threshold) noexcept : threshold_(threshold) {}

    /// Whether a failed connect's error counts towards opening: the kinds
    /// that say "the server is not there (yet)", which retrying may fix.
    static bool counts(const error& e) noexcept;
    /// A connect failed. True when this failure opened the breaker.
    bool on_failure(const error& e) noexcept;
    /// A connect succeeded. True when the breaker was not closed.
    bool on_success() noexcept;
    /// The back-off timer fired while open: the pool starts the probe now.
    void probe_started() noexcept { state_ = breaker_state::half_open; }

    breaker_state state() const noexcept { return state_; }
    bool is_closed() const noexcept { return state_ == breaker_state::closed; }
    std::size_t failures_in_a_row() const noexcept { return in_a_row_; }
    std::uint64_t times_opened() const noexcept { return opened_; }

  private:
    std::size_t threshold_;
    breaker_state state_ = breaker_state::closed;
    std::size_t in_a_row_ = 0;  // consecutive retryable connect failures
    std::uint64_t opened_ = 0;
};

/// The error an acquire gets while the breaker is open: the last connect
/// error's code, its message prefixed with what the breaker does and when
/// the next attempt is (`retry_in` from now; negative: a probe is running).
error breaker_open_error(const error& last, std::size_t failures,
                         std::chrono::milliseconds retry_in);

}  // namespace uvdb::detail
