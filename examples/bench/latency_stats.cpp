#include "latency_stats.hpp"

#include <algorithm>

namespace uvdb::bench {

std::int64_t nearest_rank(const std::vector<std::int64_t>& sorted, unsigned per_mille) noexcept {
    const std::size_t n = sorted.size();
    // ceil(per_mille · n / 1000), at least 1, at most n.
    std::size_t rank = (static_cast<std::size_t>(per_mille) * n + 999) / 1000;
    rank = std::clamp<std::size_t>(rank, 1, n);
    return sorted[rank - 1];
}

latency_summary summarize(std::vector<std::int64_t>& ns) {
    latency_summary s;
    s.count = ns.size();
    if (ns.empty()) return s;
    std::sort(ns.begin(), ns.end());
    long double sum = 0;
    for (std::int64_t v : ns) sum += static_cast<long double>(v);
    constexpr double ms = 1e6;
    s.mean_ms = static_cast<double>(sum / static_cast<long double>(ns.size())) / ms;
    s.min_ms = static_cast<double>(ns.front()) / ms;
    s.p50_ms = static_cast<double>(nearest_rank(ns, 500)) / ms;
    s.p95_ms = static_cast<double>(nearest_rank(ns, 950)) / ms;
    s.p99_ms = static_cast<double>(nearest_rank(ns, 990)) / ms;
    s.max_ms = static_cast<double>(ns.back()) / ms;
    return s;
}

void failure_counter::add(const uvdb::error& e) {
    auto slot = static_cast<std::size_t>(e.value());
    if (slot == 0 || slot >= slots) slot = static_cast<std::size_t>(uvdb::errc::internal);
    if (counts_[slot]++ == 0) first_[slot] = e.to_string();
    ++total_;
}

void failure_counter::add_wrong_result(std::string message) {
    if (counts_[0]++ == 0) first_[0] = std::move(message);
    ++total_;
}

void failure_counter::merge(const failure_counter& other) {
    for (std::size_t i = 0; i < slots; ++i) {
        if (counts_[i] == 0 && other.counts_[i] != 0) first_[i] = other.first_[i];
        counts_[i] += other.counts_[i];
    }
    total_ += other.total_;
}

std::string failure_counter::category_name(std::size_t slot) {
    if (slot == 0) return "wrong_result";
    return std::string(uvdb::to_string(static_cast<uvdb::errc>(slot)));
}

std::vector<std::pair<std::string, std::uint64_t>> failure_counter::by_category() const {
    std::vector<std::pair<std::string, std::uint64_t>> out;
    for (std::size_t i = 0; i < slots; ++i) {
        if (counts_[i] != 0) out.emplace_back(category_name(i), counts_[i]);
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::pair<std::string, std::string>> failure_counter::first_messages() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (std::size_t i = 0; i < slots; ++i) {
        if (counts_[i] != 0) out.emplace_back(category_name(i), first_[i]);
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace uvdb::bench
