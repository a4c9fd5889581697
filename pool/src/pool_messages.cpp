// Text for people: timeout and pool-full errors, leak warnings, and the
// duration and source-location formats they use. None of it runs on the hot
// path. (The start-up line is built with pool_options, in core/src/pool_options.cpp.)

#include <spdlog/logger.h>

#include <cstdio>
#include <string>
#include <uvdb/log.hpp>

#include "pool_core.hpp"

namespace uvdb {

namespace {
using std::chrono::milliseconds;
}  // namespace

namespace detail {

std::string format_duration(milliseconds d) {
    const auto ms = d.count();
    if (ms < 1000) return std::to_string(ms) + " ms";
    if (ms % 1000 == 0 || ms >= 10'000) return std::to_string((ms + 500) / 1000) + " s";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
    return buf;
}

std::string format_location(const std::source_location& where) {
    std::string_view file = where.file_name() != nullptr ? where.file_name() : "";
    if (auto slash = file.find_last_of('/'); slash != std::string_view::npos)
        file.remove_prefix(slash + 1);
    if (file.empty()) return "an unknown place";
    return std::string(file) + ':' + std::to_string(where.line());
}

error pool_core::timeout_error(const waiter& w, time_point now) const {
    using std::chrono::duration_cast;
    const auto waited = duration_cast<milliseconds>(w.deadline - w.enqueued_at);
    const std::string counts = "(checked out " + std::to_string(slots_.lent_count()) + ", idle " +
                               std::to_string(slots_.idle().size()) + ", waiting " +
                               std::to_string(waiters_.size()) + ", connecting " +
                               std::to_string(slots_.count(slot_state::connecting)) + ")";
    std::string msg;
    // Slots still connecting count towards the limit. When the latest
    // connects failed, those slots are retries that may fail again, so the
    // connect error is the cause to report, not the limit.
    const bool connects_failing = consecutive_failures_ != 0 && last_connect_error_.has_value();
    if (slots_.total() >= max_total_ &&
        !(connects_failing && slots_.count(slot_state::connecting) > 0)) {
        msg = "pool limit of size " + std::to_string(opts_.size) + " overflow " +
              std::to_string(opts_.max_overflow) + " reached, connection timed out after " +
              format_duration(waited) + " " + counts + "; raise size or max_overflow";
        const conn_slot* oldest = !slots_.leaked().empty()   ? &slots_.leaked().front()
                                  : !slots_.leased().empty() ? &slots_.leased().front()
                                                             : nullptr;
        if (oldest != nullptr) {
            msg += ", or look for leases held too long: longest held " +
                   format_duration(duration_cast<milliseconds>(now - oldest->checked_out_at)) +
                   ", acquired at " + format_location(oldest->acquired_at);
        }
    } else if (connects_failing) {
        msg = "no connection within " + format_duration(waited) +
              ": opening new connections keeps failing " + counts +
              "; last connect error: " + last_connect_error_->to_string();
    } else {
        msg = "no connection within " + format_duration(waited) +
              ": connections are slow to open or check " + counts +
              "; raise timeout, or check the database's latency";
    }
    error e(errc::pool_timeout, std::move(msg));
    return e;
}

error pool_core::full_error() const {
    return error(errc::pool_full,
                 "the pool's wait queue is full (max_waiters " + std::to_string(opts_.max_waiters) +
                     ", checked out " + std::to_string(slots_.lent_count()) + " of " +
                     std::to_string(max_total_) +
                     "); the database is overloaded or leases are held too long; "
                     "shed load, raise max_waiters, or raise size or max_overflow");
}

void pool_core::report_leak(conn_slot& s, time_point now) {
    using std::chrono::duration_cast;
    const auto held = duration_cast<milliseconds>(now - s.checked_out_at);
    const char* fn = s.acquired_at.function_name();
    std::string where = format_location(s.acquired_at);
    if (fn != nullptr && *fn != '\0') where += std::string(" in ") + fn;
    logger().warn(
        "pool: a lease has been held for {} (leak_threshold {}), acquired at {}; connection {}; "
        "drop the lease when done, or raise leak_threshold if this is expected",
        format_duration(held), format_duration(opts_.leak_threshold), where,
        s.conn ? s.conn->describe() : std::string("(none)"));
}

}  // namespace detail
}  // namespace uvdb
