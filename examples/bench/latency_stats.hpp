#pragma once
/// \file
/// Latency recording without allocation on the measured path, nearest-rank
/// percentiles, and failures counted by error category.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <uvdb/error.hpp>
#include <vector>

namespace uvdb::bench {

/// Exact latencies of every successful op, in nanoseconds. The storage is
/// sized up front, so record() never allocates; ops beyond the capacity
/// (impossible when it is the number of ops planned) are dropped.
class latency_recorder {
  public:
    explicit latency_recorder(std::size_t capacity) : ns_(capacity) {}

    void record(std::int64_t ns) noexcept {
        if (n_ < ns_.size()) ns_[n_++] = ns;
    }
    std::size_t count() const noexcept { return n_; }
    /// Moves the recorded values out (the recorder is empty afterwards).
    std::vector<std::int64_t> take() {
        ns_.resize(n_);
        n_ = 0;
        return std::move(ns_);
    }

  private:
    std::vector<std::int64_t> ns_;
    std::size_t n_ = 0;
};

/// Nearest-rank percentile of a sorted, non-empty list: x[ceil(q/100 · n) − 1].
/// `per_mille` is q · 10 (500 is p50, 990 is p99) so that the rank is
/// computed in integers, without floating-point rounding at exact ranks.
std::int64_t nearest_rank(const std::vector<std::int64_t>& sorted, unsigned per_mille) noexcept;

/// The numbers the reports show, in milliseconds. count == 0: nothing measured.
struct latency_summary {
    std::size_t count = 0;
    double mean_ms = 0;
    double min_ms = 0;
    double p50_ms = 0;
    double p95_ms = 0;
    double p99_ms = 0;
    double max_ms = 0;
};

/// Sorts `ns` in place and summarises it.
latency_summary summarize(std::vector<std::int64_t>& ns);

/// Failures by category: uvdb's error codes plus "wrong_result" for a query
/// that answered something other than what was asked. The first message of
/// each category is kept to show people what went wrong.
class failure_counter {
  public:
    void add(const uvdb::error& e);
    void add_wrong_result(std::string message);
    /// Adds another counter's counts (and first messages it has that this lacks).
    void merge(const failure_counter& other);

    std::uint64_t total() const noexcept { return total_; }
    /// (category, count) for each category seen, by name.
    std::vector<std::pair<std::string, std::uint64_t>> by_category() const;
    /// (category, first message) for each category seen, by name.
    std::vector<std::pair<std::string, std::string>> first_messages() const;

  private:
    static constexpr std::size_t slots = 32;  // errc values are small; 0 is wrong_result
    static std::string category_name(std::size_t slot);

    std::array<std::uint64_t, slots> counts_{};
    std::array<std::string, slots> first_{};
    std::uint64_t total_ = 0;
};

}  // namespace uvdb::bench
