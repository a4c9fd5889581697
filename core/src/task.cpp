// The one out-of-line piece of <uvdb/task.hpp>: logging an exception that
// left a spawned task nobody waits for. Kept here so that the header does not
// pull spdlog (and fmt) into every file that uses coroutines.

#include <spdlog/logger.h>

#include <exception>
#include <uvdb/log.hpp>
#include <uvdb/task.hpp>

namespace uvdb::detail {

void log_spawn_exception(std::exception_ptr e) noexcept {
    if (!e) return;
    try {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            logger().error("a spawned task ended with an exception: {}", ex.what());
        } catch (...) {
            logger().error(
                "a spawned task ended with an exception not derived from std::exception");
        }
    } catch (...) {
        // Logging failed (out of memory, a throwing sink): nothing more can be done.
    }
}

}  // namespace uvdb::detail
