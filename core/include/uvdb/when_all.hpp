#pragma once
/// \file
/// `uvdb::when_all`: await several tasks started together, results in order.
/// Included by <uvdb/task.hpp>.
///
/// ```cpp
/// auto [users, orders] = co_await uvdb::when_all(count_users(db), count_orders(db));
/// std::vector<uvdb::task<int>> jobs = ...;
/// std::vector<int> sizes = co_await uvdb::when_all(std::move(jobs));
/// ```
///
/// All tasks start when the when_all is awaited, in order, each running until
/// its first suspension. The awaiter resumes once every task has ended (on the
/// thread that ended the last one). If some threw, the exception of the first
/// of them in argument order is rethrown, after all have ended. The tasks
/// share one continuation, so they must end on one thread (uvdb's awaitables
/// all resume on the loop thread). Tasks that return a `result` are values
/// like any other: an error in one does not stop the others.

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <iterator>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <uvdb/task.hpp>
#include <variant>
#include <vector>

namespace uvdb {

/// What a `task<void>` contributes to when_all's tuple.
using void_result = std::monostate;

namespace detail {

// Counts the tasks still running plus one for the awaiter itself, so that
// whoever brings it to zero (the last task, or the awaiter when every task
// finished synchronously while being started) resumes the parent exactly once.
// Every task's continuation is the one relay, whose step counts down.
class when_all_latch {
  public:
    when_all_latch() = default;
    // GCC 12 copies an awaitable that await_transform passes through as an
    // xvalue into the coroutine frame, so a when_all must be movable. It is
    // only ever moved before start(): a moved latch starts afresh.
    when_all_latch(when_all_latch&&) noexcept {}
    when_all_latch& operator=(when_all_latch&&) = delete;

    bool ready(std::size_t n) const noexcept { return n == 0; }

    template <class Awaiters>
    bool start(Awaiters& awaiters, std::size_t n, std::coroutine_handle<> parent) {
        parent_ = parent;
        pending_.store(n + 1, std::memory_order_relaxed);
        relay_ = make_relay();
        std::coroutine_handle<> via = relay_.arm(&step, this);
        for_each_awaiter(awaiters, [&](auto& aw) {
            if (aw.await_ready()) {
                count_down();  // nothing to run (already ended)
            } else {
                aw.await_suspend(via).resume();
            }
        });
        // Suspend unless every task ended while it was being started.
        return pending_.fetch_sub(1, std::memory_order_acq_rel) != 1;
    }

  private:
    template <class... Aw, class F>
    static void for_each_awaiter(std::tuple<Aw...>& aws, F&& f) {
        std::apply([&](auto&... aw) { (f(aw), ...); }, aws);
    }
    template <class Aw, class F>
    static void for_each_awaiter(std::vector<Aw>& aws, F&& f) {
        for (auto& aw : aws) f(aw);
    }

    void count_down() noexcept { pending_.fetch_sub(1, std::memory_order_acq_rel); }

    static std::coroutine_handle<> step(void* self) noexcept {
        auto* l = static_cast<when_all_latch*>(self);
        if (l->pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) return l->parent_;
        return std::noop_coroutine();
    }

    std::atomic<std::size_t> pending_{0};
    std::coroutine_handle<> parent_;
    relay relay_;
};

template <class T>
using when_all_value_t = std::conditional_t<std::is_void_v<T>, void_result, T>;

template <class T>
when_all_value_t<T> take_for_when_all(typename task<T>::awaiter& aw) {
    if constexpr (std::is_void_v<T>) {
        aw.await_resume();
        return {};
    } else {
        return aw.await_resume();
    }
}

/// co_await when_all(a, b, ...): std::tuple of the results.
template <class... Ts>
class [[nodiscard]] when_all_fixed {
  public:
    explicit when_all_fixed(task<Ts>... tasks) : tasks_(std::move(tasks)...) {}

    bool await_ready() const noexcept { return sizeof...(Ts) == 0; }
    bool await_suspend(std::coroutine_handle<> parent) {
        awaiters_.emplace(std::apply(
            [](task<Ts>&... t) {
                return std::tuple<typename task<Ts>::awaiter...>{
                    std::move(t).operator co_await()...};
            },
            tasks_));
        return latch_.start(*awaiters_, sizeof...(Ts), parent);
    }
    std::tuple<when_all_value_t<Ts>...> await_resume() {
        if constexpr (sizeof...(Ts) == 0) {
            return {};
        } else {
            // Braced initialisation takes the results left to right, so the
            // first failed task (in argument order) is the one rethrown.
            return std::apply(
                [](auto&... aw) {
                    return std::tuple<when_all_value_t<Ts>...>{take_for_when_all<Ts>(aw)...};
                },
                *awaiters_);
        }
    }

  private:
    std::tuple<task<Ts>...> tasks_;  // own the frames until the when_all is destroyed
    std::optional<std::tuple<typename task<Ts>::awaiter...>> awaiters_;
    when_all_latch latch_;
};

/// co_await when_all(range of task<T>): std::vector<T> in order (void for task<void>).
template <class T>
class [[nodiscard]] when_all_range {
  public:
    explicit when_all_range(std::vector<task<T>> tasks) : tasks_(std::move(tasks)) {}

    bool await_ready() const noexcept { return tasks_.empty(); }
    bool await_suspend(std::coroutine_handle<> parent) {
        awaiters_.reserve(tasks_.size());
        for (auto& t : tasks_) awaiters_.push_back(std::move(t).operator co_await());
        return latch_.start(awaiters_, awaiters_.size(), parent);
    }
    auto await_resume() {
        if constexpr (std::is_void_v<T>) {
            for (auto& aw : awaiters_) aw.await_resume();  // the first exception, in order
        } else {
            std::vector<T> out;
            out.reserve(awaiters_.size());
            for (auto& aw : awaiters_) out.push_back(aw.await_resume());
            return out;
        }
    }

  private:
    std::vector<task<T>> tasks_;
    std::vector<typename task<T>::awaiter> awaiters_;
    when_all_latch latch_;
};

template <class R>
using range_task_t = std::remove_cvref_t<std::ranges::range_reference_t<R>>;

}  // namespace detail

/// Awaits every task (started together), giving `std::tuple` of their results
/// in argument order; a `task<void>` gives `uvdb::void_result`.
template <class... Ts>
detail::when_all_fixed<Ts...> when_all(task<Ts>... tasks) {
    return detail::when_all_fixed<Ts...>(std::move(tasks)...);
}

/// Awaits every task of a range (the tasks are moved out of it), giving
/// `std::vector<T>` in the range's order (nothing for `task<void>`).
template <std::ranges::input_range R>
requires detail::is_task<detail::range_task_t<R>>::value
    detail::when_all_range<typename detail::range_task_t<R>::value_type>
    when_all(R&& tasks) {
    using T = typename detail::range_task_t<R>::value_type;
    std::vector<task<T>> owned;
    if constexpr (std::is_same_v<std::remove_cvref_t<R>, std::vector<task<T>>> &&
                  !std::is_lvalue_reference_v<R>) {
        owned = std::move(tasks);
    } else {
        if constexpr (std::ranges::sized_range<R>) owned.reserve(std::ranges::size(tasks));
        for (auto&& t : tasks) owned.push_back(std::move(t));
    }
    return detail::when_all_range<T>(std::move(owned));
}

}  // namespace uvdb
