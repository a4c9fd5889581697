#pragma once
/// \file
/// What every pool unit test needs: a real event_loop (for defer), a manual
/// clock shared by the pool and the fake driver, captured log lines, and
/// helpers that record what callbacks received so tests assert afterwards.

#include <chrono>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <uvdb/event_loop.hpp>
#include <uvdb/pool.hpp>
#include <vector>

#include "unit/support/fake_driver.hpp"
#include "unit/support/manual_timers.hpp"

namespace spdlog {
class logger;
}

namespace uvdb::test {

using namespace std::chrono_literals;

/// Routes uvdb's log into a string for the lifetime of the object.
class log_capture {
  public:
    log_capture();
    ~log_capture();
    log_capture(const log_capture&) = delete;
    log_capture& operator=(const log_capture&) = delete;
    std::string text() const;
    /// Number of captured lines containing `needle`.
    std::size_t count(std::string_view needle) const;
    void clear();

  private:
    std::shared_ptr<std::ostringstream> out_;
    std::shared_ptr<spdlog::logger> logger_;
};

/// Options fit for unit tests: a fake URL with a password, a fixed random
/// seed, small sizes; everything else at its default.
pool_options test_pool_options(std::size_t size = 2, std::size_t max_overflow = 1);

/// What one acquire callback received.
struct acquire_probe {
    int calls = 0;
    std::optional<result<lease>> got;
    bool ok() const { return got && got->ok(); }
    bool failed_with(errc e) const { return got && !got->ok() && got->err().value() == e; }
    const error& err() const { return got->err(); }
    lease take() { return std::move(*got).value(); }
};

struct query_probe {
    int calls = 0;
    std::optional<result<result_set>> got;
    bool ok() const { return got && got->ok(); }
};

class pool_harness {
  public:
    pool_harness();
    ~pool_harness();

    /// Creates the pool (with the manual clock).
    pool& make(pool_options opts);
    pool& make() { return make(test_pool_options()); }
    pool& get() { return *pool_; }
    void destroy_pool() { pool_.reset(); }

    /// Runs deferred work and timers due now until nothing is left.
    void settle();
    /// Moves the clock forward, firing timers in order and settling after each.
    void advance(std::chrono::milliseconds d);

    /// acquire (with the pool's timeout, or `timeout`), recording the outcome.
    std::shared_ptr<acquire_probe> acquire(
        std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    /// acquire + settle, expecting success.
    lease acquire_now();
    /// Runs one statement on a lease, settles, and returns what it got.
    result<result_set> run(lease& l, std::string_view sql);
    std::shared_ptr<query_probe> query(std::string_view sql);

    pool_stats stats() { return pool_->stats(); }
    fake_state& fake() { return driver->state(); }

    log_capture logs;
    event_loop loop;
    std::shared_ptr<manual_timers> clock = std::make_shared<manual_timers>();
    std::shared_ptr<fake_driver> driver = std::make_shared<fake_driver>(clock);

  private:
    std::optional<pool> pool_;
};

}  // namespace uvdb::test
