#pragma once
/// \file
/// C++20 coroutines: a minimal lazy `uvdb::task<T>` and spawn. The pool's,
/// leases' and connections' calls are awaitable themselves (without a
/// callback they return an awaitable giving the same `result<T>` as the
/// callback form).
///
/// ```cpp
/// uvdb::task<int> count_users(uvdb::pool& db) {
///     auto r = co_await db.query("SELECT count(*) FROM users");
///     if (!r) co_return -1;               // r.err() says what went wrong
///     co_return r->value<int>();
/// }
/// uvdb::spawn(run(db));                    // start a task<void> from plain code
/// ```
///
/// Coroutines resume on the loop thread (from the operation's callback).
/// Errors arrive as values; exceptions thrown inside a task propagate to
/// whoever co_awaits it (or to spawn's on_done). Do not destroy a task
/// while it is suspended in one of these awaits.

#include <chrono>
#include <coroutine>
#include <exception>
#include <optional>
#include <source_location>
#include <string_view>
#include <utility>
#include <uvdb/driver.hpp>
#include <uvdb/function.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/result.hpp>

namespace uvdb {

template <class T = void>
class task;

namespace detail {

struct task_promise_base {
    struct final_awaiter {
        bool await_ready() const noexcept { return false; }
        template <class P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
            // Symmetric transfer: resume whoever awaited us without growing the stack.
            return h.promise().continuation;
        }
        void await_resume() const noexcept {}
    };

    std::suspend_always initial_suspend() const noexcept { return {}; }
    final_awaiter final_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept { exception = std::current_exception(); }

    std::coroutine_handle<> continuation = std::noop_coroutine();
    std::exception_ptr exception;
};

template <class T>
struct task_promise : task_promise_base {
    task<T> get_return_object() noexcept;
    template <class U>
    void return_value(U&& v) {
        value.emplace(std::forward<U>(v));
    }
    T take() {
        if (exception) std::rethrow_exception(exception);
        return std::move(*value);
    }
    std::optional<T> value;
};

template <>
struct task_promise<void> : task_promise_base {
    task<void> get_return_object() noexcept;
    void return_void() const noexcept {}
    void take() const {
        if (exception) std::rethrow_exception(exception);
    }
};

}  // namespace detail

/// A lazily started coroutine producing a T. Move-only; starts when awaited
/// (or handed to spawn). Owns its frame.
template <class T>
class [[nodiscard]] task {
  public:
    using promise_type = detail::task_promise<T>;
    using handle_type = std::coroutine_handle<promise_type>;

    task() noexcept = default;
    explicit task(handle_type h) noexcept : h_(h) {}
    task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    task& operator=(task&& o) noexcept {
        if (this != &o) {
            if (h_) h_.destroy();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task() {
        if (h_) h_.destroy();
    }

    bool done() const noexcept { return !h_ || h_.done(); }

    struct awaiter {
        handle_type h;
        bool await_ready() const noexcept { return !h || h.done(); }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
            h.promise().continuation = awaiting;
            return h;  // start (or continue) the task by symmetric transfer
        }
        T await_resume() { return h.promise().take(); }
    };
    awaiter operator co_await() const& noexcept { return awaiter{h_}; }
    awaiter operator co_await() && noexcept { return awaiter{h_}; }

  private:
    handle_type h_;
};

namespace detail {

template <class T>
task<T> task_promise<T>::get_return_object() noexcept {
    return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(*this));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>(std::coroutine_handle<task_promise<void>>::from_promise(*this));
}

/// An eagerly started coroutine that frees itself when it ends (for spawn).
struct detached_task {
    struct promise_type {
        detached_task get_return_object() const noexcept { return {}; }
        std::suspend_never initial_suspend() const noexcept { return {}; }
        std::suspend_never final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        void unhandled_exception() const noexcept { std::terminate(); }
    };
};

inline detached_task run_detached(task<void> t, unique_function<void(std::exception_ptr)> on_done) {
    std::exception_ptr failure;
    try {
        co_await std::move(t);
    } catch (...) {
        failure = std::current_exception();
    }
    if (on_done) {
        on_done(failure);
    } else if (failure) {
        std::rethrow_exception(failure);  // no one to tell: std::terminate
    }
}

}  // namespace detail

/// Starts `t` now (it runs until its first suspension). `on_done` runs when
/// it ends, with the exception it threw or null; without `on_done` an
/// escaping exception calls std::terminate.
inline void spawn(task<void> t, unique_function<void(std::exception_ptr)> on_done = nullptr) {
    detail::run_detached(std::move(t), std::move(on_done));
}

}  // namespace uvdb
