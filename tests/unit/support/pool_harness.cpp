#include "unit/support/pool_harness.hpp"

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>

#include <catch2/catch.hpp>
#include <uvdb/log.hpp>

#include "pool_test_access.hpp"  // pool/src: a pool on the manual clock

namespace uvdb::test {

log_capture::log_capture() : out_(std::make_shared<std::ostringstream>()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(*out_);
    sink->set_pattern("[%l] %v");
    logger_ = std::make_shared<spdlog::logger>("uvdb-test", sink);
    logger_->set_level(spdlog::level::debug);
    set_logger(logger_);
}

log_capture::~log_capture() { set_logger(nullptr); }

std::string log_capture::text() const {
    logger_->flush();
    return out_->str();
}

std::size_t log_capture::count(std::string_view needle) const {
    const std::string all = text();
    std::size_t n = 0;
    std::istringstream lines(all);
    for (std::string line; std::getline(lines, line);) {
        if (line.find(needle) != std::string::npos) ++n;
    }
    return n;
}

void log_capture::clear() { out_->str(""); }

pool_options test_pool_options(std::size_t size, std::size_t max_overflow) {
    pool_options o;
    o.connection.url = "fake://app:s3cret@db.internal:5432/app";
    o.size = size;
    o.max_overflow = max_overflow;
    o.overflow_linger = std::chrono::milliseconds{0};  // QueuePool's behaviour; linger tests set it
    o.overflow_delay =
        std::chrono::milliseconds{0};  // QueuePool's behaviour; overflow-delay tests set it
    o.random_seed = 42;
    return o;
}

pool_harness::pool_harness() = default;

pool_harness::~pool_harness() {
    pool_.reset();
    settle();
}

pool& pool_harness::make(pool_options opts) {
    pool_.emplace(detail::pool_test_access::make(loop, driver, std::move(opts), clock));
    return *pool_;
}

void pool_harness::settle() {
    for (int i = 0; i < 10'000; ++i) {
        loop.run();
        if (clock->fire_due() == 0) return;
    }
    FAIL("the pool never settled: work keeps deferring more work");
}

void pool_harness::advance(std::chrono::milliseconds d) {
    settle();
    clock->advance(d, [this] { loop.run(); });
    settle();
}

std::shared_ptr<acquire_probe> pool_harness::acquire(
    std::optional<std::chrono::milliseconds> timeout) {
    auto probe = std::make_shared<acquire_probe>();
    auto cb = [probe](result<lease> r) {
        ++probe->calls;
        probe->got.emplace(std::move(r));
    };
    if (timeout) {
        pool_->acquire(*timeout, cb);
    } else {
        pool_->acquire(cb);
    }
    return probe;
}

lease pool_harness::acquire_now() {
    auto p = acquire();
    settle();
    REQUIRE(p->calls == 1);
    if (!p->ok()) FAIL("acquire failed: " << p->err().to_string());
    return p->take();
}

result<result_set> pool_harness::run(lease& l, std::string_view sql) {
    std::optional<result<result_set>> got;
    l->query(sql, [&](result<result_set> r) { got.emplace(std::move(r)); });
    settle();
    REQUIRE(got.has_value());
    return std::move(*got);
}

std::shared_ptr<query_probe> pool_harness::query(std::string_view sql) {
    auto probe = std::make_shared<query_probe>();
    pool_->query(sql, [probe](result<result_set> r) {
        ++probe->calls;
        probe->got.emplace(std::move(r));
    });
    return probe;
}

}  // namespace uvdb::test
