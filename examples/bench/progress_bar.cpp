#include "progress_bar.hpp"

#include <unistd.h>

#include <cstdio>

namespace uvdb::bench {

bool progress_bar::stderr_is_terminal() noexcept { return ::isatty(STDERR_FILENO) == 1; }

void progress_bar::start(std::string_view label, const std::size_t* done, std::size_t total) {
    if (!enabled_) return;
    label_.assign(label);
    done_ = done;
    total_ = total;
    started_ = std::chrono::steady_clock::now();
    running_ = true;
    draw();
    timer_.start(
        std::chrono::milliseconds{100}, [this] { draw(); }, std::chrono::milliseconds{100});
}

void progress_bar::stop() noexcept {
    if (!running_) return;
    running_ = false;
    timer_.stop();
    std::fputs("\r\033[K", stderr);  // leave no half line behind for the tables
    std::fflush(stderr);
}

void progress_bar::draw() {
    constexpr std::size_t width = 30;
    const std::size_t done = *done_ < total_ ? *done_ : total_;
    const std::size_t filled = total_ == 0 ? width : done * width / total_;
    char bar[width + 1];
    for (std::size_t i = 0; i < width; ++i) bar[i] = i < filled ? '#' : '-';
    bar[width] = '\0';
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    std::fprintf(stderr, "\r\033[K%-14s [%s] %zu/%zu  %.1f s", label_.c_str(), bar, done, total_,
                 secs);
    std::fflush(stderr);
}

}  // namespace uvdb::bench
