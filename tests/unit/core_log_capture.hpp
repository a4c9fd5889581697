#pragma once
// Captures what uvdb logs while in scope, then gives uvdb its own logger back.

#include <spdlog/logger.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include <memory>
#include <string>
#include <uvdb/log.hpp>
#include <vector>

namespace uvdb_test {

class log_capture {
  public:
    log_capture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256)) {
        auto l = std::make_shared<spdlog::logger>("uvdb-test", sink_);
        l->set_level(spdlog::level::trace);
        l->set_pattern("%l %v");
        uvdb::set_logger(std::move(l));
    }
    log_capture(const log_capture&) = delete;
    log_capture& operator=(const log_capture&) = delete;
    ~log_capture() { uvdb::set_logger(nullptr); }

    std::vector<std::string> lines() const { return sink_->last_formatted(); }

    bool contains(const std::string& needle) const {
        for (const auto& l : lines()) {
            if (l.find(needle) != std::string::npos) return true;
        }
        return false;
    }

  private:
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

}  // namespace uvdb_test
