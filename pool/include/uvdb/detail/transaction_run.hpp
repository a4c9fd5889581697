#pragma once
/// \file
/// What `co_await pool.transaction(fn, retry)` needs in a header: a
/// self-freeing coroutine that runs one attempt of fn and reports to the
/// pool's callback retry loop, and the awaitable that hands fn's value (or
/// its exception) to the caller. The retry loop itself is not a template
/// (pool/src/transaction_retry.cpp).

#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <source_location>
#include <type_traits>
#include <utility>
#include <uvdb/error.hpp>
#include <uvdb/function.hpp>
#include <uvdb/result.hpp>
#include <uvdb/transaction.hpp>

namespace uvdb::detail {

/// What `co_await a` gives for an awaitable (or awaiter) A.
template <class A>
auto awaited_type_helper() {
    if constexpr (requires(A && a) { std::forward<A>(a).operator co_await(); }) {
        return std::type_identity<decltype(std::declval<A>().operator co_await().await_resume())>{};
    } else if constexpr (requires(A && a) { operator co_await(std::forward<A>(a)); }) {
        return std::type_identity<decltype(operator co_await(std::declval<A>()).await_resume())>{};
    } else {
        return std::type_identity<decltype(std::declval<A>().await_resume())>{};
    }
}
template <class A>
using awaited_t = typename decltype(awaited_type_helper<A>())::type;

template <class T>
struct result_value;
template <class T>
struct result_value<result<T>> {
    using type = T;
};

/// The R of fn's task<result<R>>.
template <class Fn>
using tx_fn_value_t =
    typename result_value<awaited_t<std::invoke_result_t<Fn&, ::uvdb::transaction&>>>::type;

/// fn, kept alive across attempts, and what its last attempt gave.
template <class Fn, class R>
struct tx_fn_state {
    explicit tx_fn_state(Fn f) : fn(std::move(f)) {}
    Fn fn;
    std::optional<result<R>> out;
    std::exception_ptr thrown;
};

/// Starts at once, frees its frame when it ends; never lets an exception out.
struct tx_attempt_coro {
    struct promise_type {
        tx_attempt_coro get_return_object() const noexcept { return {}; }
        std::suspend_never initial_suspend() const noexcept { return {}; }
        std::suspend_never final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        void unhandled_exception() const noexcept { std::terminate(); }  // the body catches all
    };
};

/// One attempt: runs fn(tx) and tells the retry loop through `done` whether
/// to commit. An exception ends the attempt as a failure that is never
/// retried; the awaitable rethrows it in the caller.
template <class Fn, class R>
tx_attempt_coro run_tx_attempt(std::shared_ptr<tx_fn_state<Fn, R>> s, ::uvdb::transaction& tx,
                               unique_function<void(result<void>)> done) {
    std::optional<result<R>> got;
    try {
        got.emplace(co_await s->fn(tx));
    } catch (...) {
        s->thrown = std::current_exception();
    }
    if (!got) {
        done(error(errc::internal, "the transaction's function threw an exception"));
        co_return;
    }
    result<void> verdict;
    if (!*got) verdict = got->err();
    s->out = std::move(got);
    done(std::move(verdict));
}

/// co_await pool.transaction(opts, fn, retry): result<R>.
template <class Pool, class Fn, class R>
class [[nodiscard]] tx_run_awaitable {
  public:
    tx_run_awaitable(Pool& p, const tx_options& opts, Fn fn, retry_policy retry,
                     std::source_location where)
        : pool_(&p),
          opts_(opts),
          retry_(retry),
          where_(where),
          st_(std::make_shared<tx_fn_state<Fn, R>>(std::move(fn))) {}

    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        pool_->transaction(
            opts_,
            [s = st_](::uvdb::transaction& tx, unique_function<void(result<void>)> done) {
                s->out.reset();
                run_tx_attempt<Fn, R>(s, tx, std::move(done));
            },
            retry_,
            [this, h](result<void> r) {
                outcome_.emplace(std::move(r));
                h.resume();
            },
            where_);
    }
    result<R> await_resume() {
        if (st_->thrown) std::rethrow_exception(st_->thrown);
        // The loop's error says more than fn's own (how many attempts ran),
        // and covers BEGIN and COMMIT, which fn never saw.
        if (!*outcome_) return std::move(*outcome_).err();
        return std::move(*st_->out);
    }

  private:
    Pool* pool_;
    tx_options opts_;
    retry_policy retry_;
    std::source_location where_;
    std::shared_ptr<tx_fn_state<Fn, R>> st_;
    std::optional<result<void>> outcome_;
};

}  // namespace uvdb::detail
