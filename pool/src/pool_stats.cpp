#include <algorithm>
#include <cmath>
#include <uvdb/pool_stats.hpp>

namespace uvdb {

void wait_histogram::record(std::chrono::microseconds wait) noexcept {
    const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(wait.count(), 0));
    const auto it = std::lower_bound(upper_bounds_us.begin(), upper_bounds_us.end(), us);
    ++counts_[static_cast<std::size_t>(it - upper_bounds_us.begin())];
    sum_us_ += us;
}

std::uint64_t wait_histogram::total() const noexcept {
    std::uint64_t n = 0;
    for (auto c : counts_) n += c;
    return n;
}

std::chrono::microseconds wait_histogram::percentile(double q) const noexcept {
    const std::uint64_t n = total();
    if (n == 0) return std::chrono::microseconds{0};
    q = std::clamp(q, 0.0, 1.0);
    const auto rank = std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(n))));
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < bucket_count; ++i) {
        seen += counts_[i];
        if (seen >= rank) {
            const std::size_t b = std::min(i, upper_bounds_us.size() - 1);
            return std::chrono::microseconds(static_cast<std::int64_t>(upper_bounds_us[b]));
        }
    }
    return std::chrono::microseconds(static_cast<std::int64_t>(upper_bounds_us.back()));
}

const char* to_string(breaker_state s) noexcept {
    switch (s) {
        case breaker_state::closed:
            return "closed";
        case breaker_state::open:
            return "open";
        case breaker_state::half_open:
            return "half_open";
    }
    return "closed";
}

}  // namespace uvdb
