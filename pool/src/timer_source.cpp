#include "timer_source.hpp"

#include <algorithm>
#include <cassert>
#include <ctime>
#include <utility>
#include <uvdb/timer.hpp>

namespace uvdb::detail {

// ---------------------------------------------------------------- deadline_heap

namespace {
constexpr std::uint64_t make_handle(std::uint32_t index, std::uint32_t gen) noexcept {
    return (static_cast<std::uint64_t>(gen) << 32) | (static_cast<std::uint64_t>(index) + 1);
}
}  // namespace

bool deadline_heap::less(std::uint32_t a, std::uint32_t b) const noexcept {
    const entry& x = entries_[a];
    const entry& y = entries_[b];
    return x.deadline < y.deadline || (x.deadline == y.deadline && x.seq < y.seq);
}

void deadline_heap::place(std::size_t pos, std::uint32_t idx) noexcept {
    heap_[pos] = idx;
    entries_[idx].heap_pos = static_cast<std::uint32_t>(pos);
}

void deadline_heap::sift_up(std::size_t pos) noexcept {
    const std::uint32_t idx = heap_[pos];
    while (pos > 0) {
        const std::size_t parent = (pos - 1) / 2;
        if (!less(idx, heap_[parent])) break;
        place(pos, heap_[parent]);
        pos = parent;
    }
    place(pos, idx);
}

void deadline_heap::sift_down(std::size_t pos) noexcept {
    const std::uint32_t idx = heap_[pos];
    const std::size_t n = heap_.size();
    for (;;) {
        std::size_t child = 2 * pos + 1;
        if (child >= n) break;
        if (child + 1 < n && less(heap_[child + 1], heap_[child])) ++child;
        if (!less(heap_[child], idx)) break;
        place(pos, heap_[child]);
        pos = child;
    }
    place(pos, idx);
}

deadline_heap::handle deadline_heap::push(time_point deadline, unique_function<void()> cb) {
    std::uint32_t idx;
    if (!free_.empty()) {
        idx = free_.back();
        free_.pop_back();
    } else {
        idx = static_cast<std::uint32_t>(entries_.size());
        entries_.emplace_back();
    }
    entry& e = entries_[idx];
    e.deadline = deadline;
    e.seq = seq_++;
    e.cb = std::move(cb);
    e.live = true;
    heap_.push_back(idx);
    sift_up(heap_.size() - 1);
    return make_handle(idx, e.gen);
}

void deadline_heap::remove_at(std::size_t pos) noexcept {
    const std::uint32_t idx = heap_[pos];
    const std::uint32_t last = heap_.back();
    heap_.pop_back();
    if (pos < heap_.size()) {
        place(pos, last);
        // The moved entry may belong above or below its new place.
        if (pos > 0 && less(last, heap_[(pos - 1) / 2])) {
            sift_up(pos);
        } else {
            sift_down(pos);
        }
    }
    entry& e = entries_[idx];
    e.live = false;
    ++e.gen;
    free_.push_back(idx);
}

bool deadline_heap::cancel(handle h) noexcept {
    if (h == 0) return false;
    const auto index = static_cast<std::uint32_t>((h & 0xffffffffu) - 1);
    const auto gen = static_cast<std::uint32_t>(h >> 32);
    if (index >= entries_.size()) return false;
    entry& e = entries_[index];
    if (!e.live || e.gen != gen) return false;
    unique_function<void()> doomed = std::move(e.cb);  // destroyed after the heap is consistent
    remove_at(e.heap_pos);
    return true;
}

unique_function<void()> deadline_heap::pop_due(time_point now) {
    if (heap_.empty()) return {};
    const std::uint32_t idx = heap_.front();
    if (entries_[idx].deadline > now) return {};
    unique_function<void()> cb = std::move(entries_[idx].cb);
    remove_at(0);
    return cb;
}

// ---------------------------------------------------------------- loop timers

namespace {

/// event_loop::now() and one uvdb::timer armed for the earliest deadline.
class loop_timer_source final : public timer_source {
  public:
    explicit loop_timer_source(event_loop& loop) : loop_(loop), timer_(loop) {}

    time_point now() const noexcept override { return loop_.now(); }
    time_point fresh_now() noexcept override {
#ifdef CLOCK_MONOTONIC_COARSE
        // The coarse clock (one tick, 1-4 ms, behind) is a plain read through
        // the vDSO; CLOCK_MONOTONIC, which uv_update_time reads, costs more
        // (on some virtual machines a system call), at every checkout.
        // A few ms do not matter to a ping threshold
        // or a recycle age. Same base as steady_clock (CLOCK_MONOTONIC), and
        // never behind the loop's time, which timers are measured against.
        timespec ts{};
        ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        const time_point coarse{std::chrono::duration_cast<clock::duration>(
            std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec))};
        return std::max(coarse, loop_.now());
#else
        return loop_.update_time();
#endif
    }

    time_point precise_now() noexcept override { return clock::now(); }

    handle schedule(time_point deadline, unique_function<void()> cb) override {
        handle h = heap_.push(deadline, std::move(cb));
        if (!firing_ && (!armed_ || deadline < armed_at_)) arm();
        return h;
    }

    void cancel(handle h) noexcept override {
        // While other deadlines remain the timer stays armed: waking once for
        // nothing is cheaper than re-arming on every cancel (most waiters are
        // served, not timed out). With none left it stops, so a pool with
        // nothing to time does not keep the loop alive.
        if (heap_.cancel(h) && heap_.empty() && armed_ && !firing_) {
            timer_.stop();
            armed_ = false;
        }
    }

  private:
    void arm() {
        if (heap_.empty()) {
            timer_.stop();
            armed_ = false;
            return;
        }
        armed_at_ = heap_.top();
        armed_ = true;
        const auto delay = std::chrono::ceil<std::chrono::milliseconds>(armed_at_ - loop_.now());
        timer_.start(std::max(delay, std::chrono::milliseconds{0}), [this] { on_timer(); });
    }

    void on_timer() {
        armed_ = false;
        firing_ = true;
        const time_point now = loop_.now();
        // One due entry at a time: a callback may schedule or cancel others.
        while (auto cb = heap_.pop_due(now)) cb();
        firing_ = false;
        arm();
    }

    event_loop& loop_;
    uvdb::timer timer_;
    deadline_heap heap_;
    time_point armed_at_{};
    bool armed_ = false;
    bool firing_ = false;
};

}  // namespace

std::shared_ptr<timer_source> make_loop_timer_source(event_loop& loop) {
    return std::make_shared<loop_timer_source>(loop);
}

}  // namespace uvdb::detail
