#pragma once
/// \file
/// The machinery behind "one name per operation": an awaitable made from a
/// function that starts an operation with a completion callback, and the
/// helpers that split a call's `args..., callback` and bind its parameters.
/// Templates only; users never name these types.

#include <coroutine>
#include <cstddef>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <uvdb/param.hpp>
#include <uvdb/result.hpp>

namespace uvdb::detail {

/// `co_await` on it starts the operation and suspends; the operation's
/// callback stores the result and resumes the coroutine. `Start` is called
/// once, as `std::move(start)(completion)`, with a completion that is
/// invocable with result<T> and is two pointers wide (so it fits every
/// unique_function's inline buffer: awaiting allocates nothing beyond what
/// the operation itself does; the awaitable lives in the coroutine frame).
///
/// The driver contract says callbacks never run inline from the call that
/// started the operation, so await_suspend never sees its own completion
/// and the coroutine always resumes from the loop. `Start` may offer
/// `std::optional<result<T>> try_now()`: a result available without waiting
/// (a ready connection), which skips the suspension altogether.
template <class T, class Start>
class [[nodiscard]] callback_awaitable {
  public:
    explicit callback_awaitable(Start start) noexcept(std::is_nothrow_move_constructible_v<Start>)
        : start_(std::move(start)) {}
    callback_awaitable(callback_awaitable&&) noexcept(std::is_nothrow_move_constructible_v<Start>) =
        default;
    callback_awaitable(const callback_awaitable&) = delete;
    callback_awaitable& operator=(const callback_awaitable&) = delete;
    callback_awaitable& operator=(callback_awaitable&&) = delete;
    ~callback_awaitable() = default;

    /// Resumes the awaiting coroutine with the operation's result.
    class completion {
      public:
        explicit completion(callback_awaitable* self) noexcept : self_(self) {}
        void operator()(result<T> r) const {
            callback_awaitable* self = self_;
            self->result_.emplace(std::move(r));
            // The coroutine may destroy the awaitable (it lives in its frame)
            // and anything else: touch nothing after this.
            self->waiting_.resume();
        }

      private:
        callback_awaitable* self_;
    };

    bool await_ready() {
        if constexpr (requires(Start & s) { s.try_now(); }) {
            if (std::optional<result<T>> now = start_.try_now()) {
                result_.emplace(std::move(*now));
                return true;
            }
        }
        return false;
    }
    void await_suspend(std::coroutine_handle<> h) {
        waiting_ = h;
        std::move(start_)(completion(this));
    }
    result<T> await_resume() { return std::move(*result_); }

  private:
    Start start_;
    std::coroutine_handle<> waiting_;
    std::optional<result<T>> result_;
};

template <class T, class Start>
callback_awaitable<T, std::decay_t<Start>> make_callback_awaitable(Start&& start) {
    return callback_awaitable<T, std::decay_t<Start>>(std::forward<Start>(start));
}

/// The last type of a non-empty pack.
template <class... A>
using last_t = std::tuple_element_t<sizeof...(A) - 1, std::tuple<A...>>;

/// Whether a call's arguments end with a completion callback for result<T>.
template <class T, class... A>
inline constexpr bool ends_with_callback = [] {
    if constexpr (sizeof...(A) == 0) {
        return false;
    } else {
        return std::is_invocable_v<std::decay_t<last_t<A...>>&, result<T>>;
    }
}();

/// Whether any argument is an X (query_options passed among the values is
/// the virtual driver call's shape, not a parameter).
template <class X, class... A>
inline constexpr bool any_is = (std::is_same_v<std::decay_t<A>, X> || ...);

/// A call's parameter values as uvdb::params: one argument of type params is
/// the whole list (the explicit form `query(sql, make_params(…), cb)`);
/// otherwise every argument is one parameter.
template <class... A>
params bind_params(A&&... args) {
    if constexpr (sizeof...(A) == 1 && (std::is_same_v<std::decay_t<A>, params> && ...)) {
        return (std::forward<A>(args), ...);
    } else if constexpr (sizeof...(A) == 0) {
        return params{};
    } else {
        return make_params(std::forward<A>(args)...);
    }
}

// `all` is forward_as_tuple's tuple of references: each element is
// forwarded as the reference type it holds (no std::move of the tuple, which
// clang-tidy reads as one object moved several times).
template <class Tuple, std::size_t N>
decltype(auto) forward_element(Tuple& all) {
    return std::forward<std::tuple_element_t<N, Tuple>>(std::get<N>(all));
}

template <class F, class Tuple, std::size_t... I>
decltype(auto) split_callback_impl(F&& f, Tuple all, std::index_sequence<I...> /*values*/) {
    return std::forward<F>(f)(bind_params(forward_element<Tuple, I>(all)...),
                              forward_element<Tuple, sizeof...(I)>(all));
}

/// Calls `f(params, callback)` for `args = values..., callback`.
template <class F, class... A>
decltype(auto) split_callback(F&& f, A&&... args) {
    static_assert(sizeof...(A) > 0, "the callback comes last");
    return split_callback_impl(std::forward<F>(f), std::forward_as_tuple(std::forward<A>(args)...),
                               std::make_index_sequence<sizeof...(A) - 1>{});
}

}  // namespace uvdb::detail
