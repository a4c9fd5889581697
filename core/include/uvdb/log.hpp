#pragma once
/// \file
/// uvdb logs through spdlog. The application may hand uvdb its own logger;
/// otherwise uvdb makes one named "uvdb" and never touches spdlog's default.

#include <memory>

namespace spdlog {
class logger;
}

namespace uvdb {

/// Makes uvdb log through `logger` (nullptr: back to uvdb's own). Call at
/// start-up, before loops run.
void set_logger(std::shared_ptr<spdlog::logger> logger);

/// The logger uvdb uses.
spdlog::logger& logger();
std::shared_ptr<spdlog::logger> logger_ptr();

}  // namespace uvdb
