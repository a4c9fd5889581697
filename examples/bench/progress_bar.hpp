#pragma once
/// \file
/// A one-line progress bar on stderr, redrawn by a loop timer (so the
/// measured ops pay nothing for it). Drawn only when stderr is a terminal.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <uvdb/event_loop.hpp>
#include <uvdb/timer.hpp>

namespace uvdb::bench {

class progress_bar {
  public:
    /// `enabled` false: every call does nothing.
    progress_bar(event_loop& loop, bool enabled) : timer_(loop), enabled_(enabled) {}
    progress_bar(const progress_bar&) = delete;
    progress_bar& operator=(const progress_bar&) = delete;
    ~progress_bar() { stop(); }

    /// Starts drawing "label [####----] done/total". `*done` is read on each
    /// redraw and must outlive the bar's run (until stop()).
    void start(std::string_view label, const std::size_t* done, std::size_t total);
    /// Stops and clears the line. Idempotent.
    void stop() noexcept;

    /// Whether stderr is a terminal (the bar is drawn only then).
    static bool stderr_is_terminal() noexcept;

  private:
    void draw();

    timer timer_;
    bool enabled_;
    bool running_ = false;
    std::string label_;
    const std::size_t* done_ = nullptr;
    std::size_t total_ = 0;
    std::chrono::steady_clock::time_point started_{};
};

}  // namespace uvdb::bench
