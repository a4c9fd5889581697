#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string_view>
#include <utility>
#include <uvdb/log.hpp>
#include <vector>

namespace uvdb {
namespace {

spdlog::level::level_enum level_from_env() {
    const char* v = std::getenv("UVDB_LOG_LEVEL");
    if (v == nullptr) return spdlog::level::info;
    std::string_view s(v);
    if (s == "trace") return spdlog::level::trace;
    if (s == "debug") return spdlog::level::debug;
    if (s == "info") return spdlog::level::info;
    if (s == "warn" || s == "warning") return spdlog::level::warn;
    if (s == "error") return spdlog::level::err;
    if (s == "critical") return spdlog::level::critical;
    if (s == "off") return spdlog::level::off;
    return spdlog::level::info;
}

std::shared_ptr<spdlog::logger> make_default() {
    // Deliberately not registered with spdlog: the application's registry and
    // default logger stay exactly as it set them up.
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto l = std::make_shared<spdlog::logger>("uvdb", std::move(sink));
    l->set_level(level_from_env());
    return l;
}

struct logger_slot {
    std::mutex mutex;
    std::shared_ptr<spdlog::logger> current;  // guarded by mutex
    // Loggers replaced by set_logger stay alive: another thread may still be
    // writing through a reference obtained from logger().
    std::vector<std::shared_ptr<spdlog::logger>> retired;  // guarded by mutex
    std::atomic<spdlog::logger*> fast{nullptr};
};

logger_slot& slot() {
    static logger_slot s;
    return s;
}

}  // namespace

void set_logger(std::shared_ptr<spdlog::logger> l) {
    auto& s = slot();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (!l) l = make_default();
    if (s.current) s.retired.push_back(s.current);
    s.current = std::move(l);
    s.fast.store(s.current.get(), std::memory_order_release);
}

std::shared_ptr<spdlog::logger> logger_ptr() {
    auto& s = slot();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (!s.current) {
        s.current = make_default();
        s.fast.store(s.current.get(), std::memory_order_release);
    }
    return s.current;
}

spdlog::logger& logger() {
    if (auto* l = slot().fast.load(std::memory_order_acquire)) return *l;
    return *logger_ptr();
}

}  // namespace uvdb
