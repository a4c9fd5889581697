// The circuit breaker's state machine and its error message (see
// circuit_breaker.hpp; pool_core drives it from pool_connections.cpp).

#include "circuit_breaker.hpp"

#include <algorithm>
#include <string>

#include "pool_core.hpp"

namespace uvdb::detail {

bool circuit_breaker::counts(const error& e) noexcept {
    switch (e.value()) {
        case errc::connect_failed:        // refused, unreachable, name not resolved
        case errc::timeout:               // the connect timed out: unreachable
        case errc::connection_lost:       // the server hung up during start-up
        case errc::too_many_connections:  // 53300
        case errc::server_starting:       // 57P03
            return true;
        default:
            return false;
    }
}

bool circuit_breaker::on_failure(const error& e) noexcept {
    if (!counts(e)) {
        // A wrong password or a bad certificate is not an outage: the pool
        // already fails its waiters with that error, and the count of
        // failures that mean "the server is not there" starts over.
        in_a_row_ = 0;
        if (state_ == breaker_state::half_open) state_ = breaker_state::open;
        return false;
    }
    ++in_a_row_;
    if (state_ == breaker_state::half_open) {
        state_ = breaker_state::open;  // the probe failed: wait for the next one
        return false;
    }
    if (state_ == breaker_state::closed && threshold_ != 0 && in_a_row_ >= threshold_) {
        state_ = breaker_state::open;
        ++opened_;
        return true;
    }
    return false;
}

bool circuit_breaker::on_success() noexcept {
    in_a_row_ = 0;
    if (state_ == breaker_state::closed) return false;
    state_ = breaker_state::closed;
    return true;
}

error breaker_open_error(const error& last, std::size_t failures,
                         std::chrono::milliseconds retry_in) {
    std::string when = retry_in.count() < 0
                           ? std::string("a probe connect is running now")
                           : "the next connect attempt is in " + format_duration(retry_in);
    error out = last;
    out.with_message("the pool's circuit breaker is open after " + std::to_string(failures) +
                     " failed connects in a row, so acquires that find no idle connection fail "
                     "at once; " +
                     when + "; last connect error: " + last.message());
    return out;
}

}  // namespace uvdb::detail

namespace uvdb::detail {

error pool_core::breaker_error() const {
    std::chrono::milliseconds retry_in{-1};
    if (breaker_.state() == breaker_state::open) {
        retry_in = std::chrono::ceil<std::chrono::milliseconds>(
            std::max(backoff_at_ - timers_->now(), timer_source::clock::duration::zero()));
    }
    const error last = last_connect_error_.value_or(
        error(errc::connect_failed, "connecting to the server failed"));
    return breaker_open_error(last, breaker_.failures_in_a_row(), retry_in);
}

}  // namespace uvdb::detail
