#pragma once
/// \file
/// `uvdb::task<T>`: uvdb's coroutine type, with `spawn` to start one from plain
/// code, `when_all` to await several at once, and error propagation for tasks
/// that return a `result`. Nothing here knows the pool or a driver: any
/// awaitable works (coro.hpp has the pool's).
///
/// ```cpp
/// uvdb::task<uvdb::result<int>> handler(uvdb::pool& db) {
///     auto l = co_await db.acquire();               // an error ends the task with it
///     auto rs = co_await l.query("SELECT $1::int", 1);
///     auto r = co_await uvdb::as_result(db.query("SELECT 2"));  // raw: branch yourself
///     if (!r) co_return r.error();
///     co_return rs.value<int>();
/// }
/// uvdb::spawn([&db]() -> uvdb::task<void> { ... });   // the lambda lives as long as its task
/// auto [a, b] = co_await uvdb::when_all(count(db), names(db));
/// ```
///
/// Threading: a task runs on whichever thread resumes it; uvdb's awaitables
/// resume on the loop thread. Do not destroy a task while it is suspended in
/// an await that will still resume it.

#include <atomic>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <optional>
#include <ranges>
#include <tuple>
#include <type_traits>
#include <utility>
#include <uvdb/result.hpp>
#include <variant>
#include <vector>

namespace uvdb {

template <class T = void>
class task;

namespace detail {

// ---------------------------------------------------------------------------
// relay: a tiny coroutine that, each time something resumes it, asks a step
// function where to go next and transfers there. It stands in for a coroutine
// that must not be resumed directly: error propagation hands it to an
// operation instead of the awaiting task (so an error can end the task without
// resuming its body), and when_all makes it every child's continuation (so the
// last child to finish resumes the parent). One frame serves any number of
// resumptions; symmetric transfer keeps the stack flat.
// ---------------------------------------------------------------------------
class relay {
  public:
    using step_fn = std::coroutine_handle<> (*)(void* ctx) noexcept;

    struct promise_type {
        step_fn step = nullptr;
        void* ctx = nullptr;

        relay get_return_object() noexcept {
            return relay(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        std::suspend_always initial_suspend() const noexcept { return {}; }
        std::suspend_always final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        void unhandled_exception() const noexcept { std::terminate(); }  // steps are noexcept
    };

    struct next {
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
            return h.promise().step(h.promise().ctx);
        }
        void await_resume() const noexcept {}
    };

    relay() noexcept = default;
    relay(relay&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    relay& operator=(relay&& o) noexcept {
        if (this != &o) {
            if (h_) h_.destroy();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    relay(const relay&) = delete;
    relay& operator=(const relay&) = delete;
    ~relay() {
        if (h_) h_.destroy();
    }

    explicit operator bool() const noexcept { return static_cast<bool>(h_); }

    /// Points the relay at `step(ctx)` and returns the handle to resume.
    std::coroutine_handle<> arm(step_fn step, void* ctx) noexcept {
        h_.promise().step = step;
        h_.promise().ctx = ctx;
        return h_;
    }

  private:
    explicit relay(std::coroutine_handle<promise_type> h) noexcept : h_(h) {}
    std::coroutine_handle<promise_type> h_;
};

inline relay make_relay() {
    for (;;) co_await relay::next{};
}

// ---------------------------------------------------------------------------
// The promise.
// ---------------------------------------------------------------------------
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
    // Set when error propagation ended the task before its end (the frame
    // stays suspended at that await until the task object destroys it).
    bool ended_early = false;
};

template <class T>
struct task_promise;

template <class T>
struct task_value_promise : task_promise_base {
    task<T> get_return_object() noexcept;
    // U defaults to T so that `co_return {};` means T{}.
    template <class U = T>
    void return_value(U&& v) {
        value.emplace(std::forward<U>(v));
    }
    T take() {
        if (exception) std::rethrow_exception(exception);
        return std::move(*value);
    }
    std::optional<T> value;
};

template <class T>
struct task_promise : task_value_promise<T> {};

template <>
struct task_promise<void> : task_promise_base {
    task<void> get_return_object() noexcept;
    void return_void() const noexcept {}
    void take() const {
        if (exception) std::rethrow_exception(exception);
    }
};

// ---------------------------------------------------------------------------
// Awaiter lookup, as the compiler does it for co_await: a member operator
// co_await, else a free one, else the object itself.
// ---------------------------------------------------------------------------
template <class A>
concept has_member_co_await = requires(A&& a) {
    static_cast<A&&>(a).operator co_await();
};
template <class A>
concept has_free_co_await = requires(A&& a) {
    operator co_await(static_cast<A&&>(a));
};

template <class A>
decltype(auto) get_awaiter(A&& a) {
    if constexpr (has_member_co_await<A>) {
        return static_cast<A&&>(a).operator co_await();
    } else if constexpr (has_free_co_await<A>) {
        return operator co_await(static_cast<A&&>(a));
    } else {
        return static_cast<A&&>(a);
    }
}

// The operation outlives the co_await expression it is in, so an awaiter
// that is the (temporary) operation itself can be held by reference.
template <class T>
T& as_lvalue(T&& t) noexcept {
    return t;
}

template <class A>
using awaiter_t = decltype(get_awaiter(std::declval<A>()));
template <class A>
using await_result_t =
    decltype(std::declval<std::remove_reference_t<awaiter_t<A>>&>().await_resume());

/// What `as_result(op)` returns: `op`, marked so error propagation leaves it alone.
template <class A>
struct as_result_awaitable {
    A op;  // a value when as_result got an rvalue, a reference for an lvalue

    decltype(auto) operator co_await() && { return get_awaiter(static_cast<A&&>(op)); }
};

/// A result already in hand, awaited in a task<result<T>>: `co_await
/// rs.one<int>()` gives the value or ends the task with the error, exactly as
/// an operation's result does. Never suspends.
template <class R>
class ready_result {
  public:
    explicit ready_result(R r) noexcept(std::is_nothrow_move_constructible_v<R>)
        : r_(std::move(r)) {}
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    R await_resume() noexcept(std::is_nothrow_move_constructible_v<R>) { return std::move(r_); }

  private:
    R r_;
};

template <class A>
struct is_as_result : std::false_type {};
template <class A>
struct is_as_result<as_result_awaitable<A>> : std::true_type {};

// ---------------------------------------------------------------------------
// Error propagation: what `co_await op` becomes in a task<result<T>> when op
// gives a result<U>. On success it yields the U (ok_t for result<void>); on an
// error it stores the error as the task's result and resumes the task's
// awaiter instead of the task, which stays suspended here until destroyed.
// ---------------------------------------------------------------------------
template <class Aw, class P>
struct propagating_awaiter {
    using raw_type = std::remove_cvref_t<decltype(std::declval<Aw&>().await_resume())>;
    using value_type = typename raw_type::value_type;

    Aw inner;  // the operation's awaiter (a reference when the operation is its own awaiter)
    P* promise;
    std::optional<raw_type> raw{};
    std::exception_ptr failure{};
    std::coroutine_handle<> parent{};
    bool ended = false;

    bool await_ready() {
        if (!inner.await_ready()) return false;
        ended = !capture();
        return !ended;
    }

    std::coroutine_handle<> await_suspend(std::coroutine_handle<> h) {
        if (ended) return promise->continuation;
        parent = h;
        std::coroutine_handle<> via = promise->arm_relay(&step, this);
        using S = decltype(inner.await_suspend(via));
        if constexpr (std::is_void_v<S>) {
            inner.await_suspend(via);
            return std::noop_coroutine();  // `this` may be gone already: touch nothing
        } else if constexpr (std::is_same_v<S, bool>) {
            if (inner.await_suspend(via)) return std::noop_coroutine();
            return next();  // completed without suspending
        } else {
            return inner.await_suspend(via);
        }
    }

    auto await_resume() {
        if (failure) std::rethrow_exception(failure);
        if constexpr (std::is_void_v<value_type>) {
            return ok_t{};
        } else {
            return value_type(*std::move(*raw));
        }
    }

    // Takes the operation's outcome. False: it was an error, now the task's result.
    bool capture() noexcept {
        try {
            raw.emplace(inner.await_resume());
        } catch (...) {
            failure = std::current_exception();  // rethrown in the task by await_resume
            return true;
        }
        if (raw->has_value()) return true;
        promise->end_with(std::move(*raw).error());
        return false;
    }
    std::coroutine_handle<> next() noexcept { return capture() ? parent : promise->continuation; }
    static std::coroutine_handle<> step(void* self) noexcept {
        return static_cast<propagating_awaiter*>(self)->next();
    }
};

template <class V>
struct task_promise<result<V>> : task_value_promise<result<V>> {
    template <class A>
    decltype(auto) await_transform(A&& a) {
        using D = std::remove_cvref_t<A>;
        if constexpr (is_as_result<D>::value) {
            return static_cast<decltype(a.op)&&>(a.op);  // the raw operation, unchanged
        } else if constexpr (is_result_v<D>) {
            // Not an operation but its outcome (one(), a conversion): the same "try".
            return propagating_awaiter<ready_result<D>, task_promise>{
                ready_result<D>(static_cast<A&&>(a)), this};
        } else if constexpr (is_result_v<await_result_t<A>>) {
            using aw = awaiter_t<A>;
            if constexpr (std::is_reference_v<aw>) {
                using ref = std::remove_reference_t<aw>&;
                return propagating_awaiter<ref, task_promise>{
                    as_lvalue(get_awaiter(static_cast<A&&>(a))), this};
            } else {
                return propagating_awaiter<aw, task_promise>{get_awaiter(static_cast<A&&>(a)),
                                                             this};
            }
        } else {
            return static_cast<A&&>(a);  // any other awaitable, unchanged
        }
    }

    void end_with(uvdb::error e) noexcept {
        this->value.emplace(std::move(e));
        this->ended_early = true;
    }

    std::coroutine_handle<> arm_relay(relay::step_fn step, void* ctx) {
        if (!relay_) relay_ = make_relay();  // once per task, on its first suspending await
        return relay_.arm(step, ctx);
    }

  private:
    relay relay_;
};

}  // namespace detail

/// A lazily started coroutine producing a T. Move-only; starts when awaited
/// (or handed to spawn or when_all). Owns its frame: destroying the task
/// destroys the frame and every local in it.
///
/// Error propagation: in a `task<result<T>>`, `co_await op` where op gives a
/// `result<U>` (a pool or lease operation, a child `task<result<U>>`, any
/// awaitable) yields the U on success (`uvdb::ok_t` for `result<void>`, so
/// `co_return co_await tx.commit();` works). On an error the task ends right
/// there with it: its awaiter gets `result<T>(error)` and the body is not
/// resumed; locals are destroyed when the task object is (for a temporary
/// `co_await child()`, right after the awaiting statement). Use
/// `co_await uvdb::as_result(op)` to get the raw `result<U>` and branch.
/// A result already in hand works the same way: `co_await rs.one<int>()`
/// yields the int or ends the task with the error (it never suspends).
/// In a `task<T>` where T is not a result, `co_await op` gives the raw
/// `result<U>`: there is no error to end the task with.
///
/// Returning: `co_return value;`, `co_return uvdb::error(...);`, and for a
/// `task<result<void>>` `co_return uvdb::ok();` (`co_return {};` also works).
///
/// An awaitable awaited under propagation is resumed through a small relay
/// coroutine, not the task itself: its await_suspend must accept a
/// `std::coroutine_handle<>` (any of uvdb's do).
template <class T>
class [[nodiscard]] task {
  public:
    using promise_type = detail::task_promise<T>;
    using handle_type = std::coroutine_handle<promise_type>;
    using value_type = T;

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

    /// True when there is nothing left to run (empty, finished, or ended by an error).
    bool done() const noexcept { return !h_ || h_.done() || h_.promise().ended_early; }

    struct awaiter {
        handle_type h;
        bool await_ready() const noexcept { return !h || h.done() || h.promise().ended_early; }
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
task<T> task_value_promise<T>::get_return_object() noexcept {
    auto& self = static_cast<task_promise<T>&>(*this);
    return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(self));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
    return task<void>(std::coroutine_handle<task_promise<void>>::from_promise(*this));
}

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};

}  // namespace detail

/// `co_await uvdb::as_result(op)`: op's raw `result<U>`, also inside a
/// `task<result<T>>` where a plain `co_await op` would end the task on an
/// error. `op` is moved in when it is an rvalue, referred to when an lvalue.
template <class A>
detail::as_result_awaitable<A> as_result(A&& op) {
    return {static_cast<A&&>(op)};
}

// ---------------------------------------------------------------------------
// spawn
// ---------------------------------------------------------------------------

/// How a spawned task ended: its value, or the exception it threw. `value()`
/// rethrows that exception.
template <class T>
class task_outcome {
  public:
    explicit task_outcome(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    explicit task_outcome(std::exception_ptr e) : v_(std::in_place_index<1>, std::move(e)) {}

    bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }
    T& value() & {
        if (!has_value()) std::rethrow_exception(*std::get_if<1>(&v_));
        return *std::get_if<0>(&v_);
    }
    T&& value() && { return std::move(value()); }
    /// The exception, or null when the task returned.
    std::exception_ptr exception() const noexcept {
        return has_value() ? nullptr : *std::get_if<1>(&v_);
    }

  private:
    std::variant<T, std::exception_ptr> v_;
};

template <>
class task_outcome<void> {
  public:
    task_outcome() noexcept = default;
    explicit task_outcome(std::exception_ptr e) noexcept : e_(std::move(e)) {}

    bool has_value() const noexcept { return e_ == nullptr; }
    explicit operator bool() const noexcept { return has_value(); }
    void value() const {
        if (e_) std::rethrow_exception(e_);
    }
    std::exception_ptr exception() const noexcept { return e_; }

  private:
    std::exception_ptr e_;
};

namespace detail {

/// Logs an exception that left a spawned task with no completion callback to
/// take it (error level, with what()). Out of line so that this header does
/// not pull spdlog into every file that uses tasks.
void log_spawn_exception(std::exception_ptr e) noexcept;

/// An eagerly started coroutine that frees itself when it ends (for spawn).
struct detached_task {
    struct promise_type {
        detached_task get_return_object() const noexcept { return {}; }
        std::suspend_never initial_suspend() const noexcept { return {}; }
        std::suspend_never final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        // Only a throwing completion callback gets here: never cross the loop.
        void unhandled_exception() const noexcept { log_spawn_exception(std::current_exception()); }
    };
};

struct no_callback {};

template <class F>
using task_of_t = std::remove_cvref_t<std::invoke_result_t<F&>>;

template <class T, class Done>
void deliver(Done& done, task_outcome<T>&& outcome) {
    if constexpr (std::is_same_v<Done, no_callback> || std::is_null_pointer_v<Done>) {
        if (!outcome) log_spawn_exception(outcome.exception());
    } else {
        if constexpr (std::is_constructible_v<bool, Done&>) {
            if (!static_cast<bool>(done)) {  // an empty unique_function / std::function
                if (!outcome) log_spawn_exception(outcome.exception());
                return;
            }
        }
        if constexpr (std::is_invocable_v<Done&, task_outcome<T>>) {
            std::invoke(done, std::move(outcome));
        } else {
            static_assert(std::is_invocable_v<Done&, std::exception_ptr>,
                          "spawn: the completion callback takes a task_outcome<T> or a "
                          "std::exception_ptr");
            std::invoke(done, outcome.exception());
        }
    }
}

// `fn` (a callable returning a task) and `done` live in this frame until the
// task has ended and `done` has run, so a capturing lambda coroutine's
// captures outlive its task.
template <class Fn, class Done>
detached_task run_detached(Fn fn, Done done) {
    using T = typename task_of_t<Fn>::value_type;
    std::exception_ptr failure;
    if constexpr (std::is_void_v<T>) {
        try {
            co_await std::invoke(fn);
        } catch (...) {
            failure = std::current_exception();
        }
        deliver<T>(done, failure ? task_outcome<T>(failure) : task_outcome<T>());
    } else {
        std::optional<T> value;
        try {
            value.emplace(co_await std::invoke(fn));
        } catch (...) {
            failure = std::current_exception();
        }
        deliver<T>(done, failure ? task_outcome<T>(failure) : task_outcome<T>(std::move(*value)));
    }
}

template <class T>
struct hand_over {
    task<T> t;
    task<T> operator()() { return std::move(t); }
};

template <class F>
concept task_factory =
    !is_task<std::remove_cvref_t<F>>::value && std::invocable<std::decay_t<F>&> &&
    is_task<task_of_t<std::decay_t<F>>>::value;

}  // namespace detail

/// Starts `t` now; it runs until its first suspension. Without a completion
/// callback an exception escaping the task is logged (error level) and the
/// task ends: nothing crosses the loop and the process goes on.
template <class T>
void spawn(task<T> t) {
    detail::run_detached(detail::hand_over<T>{std::move(t)}, detail::no_callback{});
}

/// As above; `on_done` runs when the task ended, on the thread that finished
/// it, with a `task_outcome<T>` (the value or the exception) or, if it only
/// takes one, a `std::exception_ptr` (null on success). An empty callback
/// (nullptr, an empty unique_function) counts as none.
template <class T, class OnDone>
void spawn(task<T> t, OnDone&& on_done) {
    detail::run_detached(detail::hand_over<T>{std::move(t)},
                         std::decay_t<OnDone>(std::forward<OnDone>(on_done)));
}

/// Calls `fn()` (which returns a task) and starts that task. `fn` is moved
/// into the spawned frame and kept alive until the task ends, so the captures
/// of a lambda coroutine stay valid across its suspensions:
/// `uvdb::spawn([name = std::string(...)]() -> uvdb::task<void> { ... });`
template <detail::task_factory Fn>
void spawn(Fn&& fn) {
    detail::run_detached(std::decay_t<Fn>(std::forward<Fn>(fn)), detail::no_callback{});
}

/// As above, with a completion callback (see spawn(task<T>, on_done)).
template <detail::task_factory Fn, class OnDone>
void spawn(Fn&& fn, OnDone&& on_done) {
    detail::run_detached(std::decay_t<Fn>(std::forward<Fn>(fn)),
                         std::decay_t<OnDone>(std::forward<OnDone>(on_done)));
}

}  // namespace uvdb

#include <uvdb/when_all.hpp>
