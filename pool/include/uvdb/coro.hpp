#pragma once
/// \file
/// C++20 coroutine forms of the pool and connection calls: a minimal lazy
/// `uvdb::task<T>` and awaitables that return the same `result<T>` as the
/// callback forms.
///
/// ```cpp
/// uvdb::task<int> count_users(uvdb::pool& db) {
///     auto r = co_await db.query_async("SELECT count(*) FROM users");
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

/// co_await pool.acquire_async(): result<lease>.
class acquire_awaitable {
  public:
    acquire_awaitable(pool& p, std::optional<std::chrono::milliseconds> timeout,
                      std::source_location where) noexcept
        : pool_(&p), timeout_(timeout), where_(where) {}

    bool await_ready() {
        // A ready connection needs no suspension at all.
        if (auto l = pool_->try_acquire(where_)) {
            result_.emplace(std::move(*l));
            return true;
        }
        return false;
    }
    void await_suspend(std::coroutine_handle<> h) {
        pool::acquire_callback cb = [this, h](result<lease> r) {
            result_.emplace(std::move(r));
            h.resume();
        };
        if (timeout_) {
            pool_->acquire(*timeout_, std::move(cb), where_);
        } else {
            pool_->acquire(std::move(cb), where_);
        }
    }
    result<lease> await_resume() { return std::move(*result_); }

  private:
    pool* pool_;
    std::optional<std::chrono::milliseconds> timeout_;
    std::source_location where_;
    std::optional<result<lease>> result_;
};

/// co_await pool.query_async(sql, params): result<result_set>.
class query_awaitable {
  public:
    query_awaitable(pool& p, std::string_view sql, params args, std::source_location where) noexcept
        : pool_(&p), sql_(sql), args_(std::move(args)), where_(where) {}

    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        pool_->query(
            sql_, std::move(args_),
            [this, h](result<result_set> r) {
                result_.emplace(std::move(r));
                h.resume();
            },
            where_);
    }
    result<result_set> await_resume() { return std::move(*result_); }

  private:
    pool* pool_;
    std::string_view sql_;
    params args_;
    std::source_location where_;
    std::optional<result<result_set>> result_;
};

/// co_await query_async(conn, sql, params): result<result_set>.
class connection_query_awaitable {
  public:
    connection_query_awaitable(connection& c, std::string_view sql, params args,
                               query_options opts) noexcept
        : conn_(&c), sql_(sql), args_(std::move(args)), opts_(opts) {}

    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        conn_->query(sql_, std::move(args_), opts_, [this, h](result<result_set> r) {
            result_.emplace(std::move(r));
            h.resume();
        });
    }
    result<result_set> await_resume() { return std::move(*result_); }

  private:
    connection* conn_;
    std::string_view sql_;
    params args_;
    query_options opts_;
    std::optional<result<result_set>> result_;
};

}  // namespace detail

/// Starts `t` now (it runs until its first suspension). `on_done` runs when
/// it ends, with the exception it threw or null; without `on_done` an
/// escaping exception calls std::terminate.
inline void spawn(task<void> t, unique_function<void(std::exception_ptr)> on_done = nullptr) {
    detail::run_detached(std::move(t), std::move(on_done));
}

/// Runs one statement on a connection (e.g. a lease's): `co_await uvdb::query_async(*l, "SELECT
/// 1")`.
inline detail::connection_query_awaitable query_async(connection& c, std::string_view sql,
                                                      params p = {}, query_options opts = {}) {
    return detail::connection_query_awaitable(c, sql, std::move(p), opts);
}

inline detail::acquire_awaitable pool::acquire_async(std::source_location where) {
    return detail::acquire_awaitable(*this, std::nullopt, where);
}
inline detail::acquire_awaitable pool::acquire_async(std::chrono::milliseconds timeout,
                                                     std::source_location where) {
    return detail::acquire_awaitable(*this, timeout, where);
}
inline detail::query_awaitable pool::query_async(std::string_view sql, params p,
                                                 std::source_location where) {
    return detail::query_awaitable(*this, sql, std::move(p), where);
}

}  // namespace uvdb
