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
#include <uvdb/task.hpp>

namespace uvdb {

namespace detail {

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
