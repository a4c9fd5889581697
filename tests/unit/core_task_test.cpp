// <uvdb/task.hpp> without a pool: error propagation in task<result<T>>,
// as_result, when_all, and spawn's lifetimes and exception handling. The
// awaited operations are gates the test opens by hand (or the loop's defer),
// so every interleaving is chosen, not timed.

#include <catch2/catch.hpp>
#include <coroutine>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <utility>
#include <uvdb/event_loop.hpp>
#include <uvdb/function.hpp>
#include <uvdb/task.hpp>
#include <variant>
#include <vector>

#include "core_log_capture.hpp"

using namespace uvdb;

namespace {

// An operation that completes when the test calls open(): it resumes its
// awaiter from open(), as a pool callback would from the loop.
template <class R>
class gate {
  public:
    class awaiter {
      public:
        explicit awaiter(gate& g) noexcept : g_(&g) {}
        bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> h) noexcept { g_->waiting_ = h; }
        R await_resume() { return std::move(*g_->value_); }

      private:
        gate* g_;
    };

    awaiter wait() noexcept { return awaiter(*this); }
    bool waiting() const noexcept { return static_cast<bool>(waiting_); }
    void open(R r) {
        value_.emplace(std::move(r));
        std::exchange(waiting_, {}).resume();
    }

  private:
    std::coroutine_handle<> waiting_;
    std::optional<R> value_;
};

// Completes without suspending (await_ready is true).
template <class R>
class ready_op {
  public:
    explicit ready_op(R r) : r_(std::move(r)) {}
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) noexcept {}
    R await_resume() { return std::move(r_); }

  private:
    R r_;
};

// Suspends, then says "do not suspend after all" (await_suspend returns false).
class bool_op {
  public:
    explicit bool_op(result<int> r) : r_(std::move(r)) {}
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<>) noexcept { return false; }
    result<int> await_resume() { return std::move(r_); }

  private:
    result<int> r_;
};

// Reaches its awaiter through a member operator co_await.
class member_co_await_op {
  public:
    explicit member_co_await_op(result<int> r) : r_(std::move(r)) {}
    ready_op<result<int>> operator co_await() && { return ready_op<result<int>>(std::move(r_)); }

  private:
    result<int> r_;
};

// Reaches its awaiter through a free operator co_await.
struct free_co_await_op {
    explicit free_co_await_op(result<int> r) : r(std::move(r)) {}
    result<int> r;
};
ready_op<result<int>> operator co_await(free_co_await_op&& op) {
    return ready_op<result<int>>(std::move(op.r));
}

// Resumes its awaiter from the loop, later in this or the next iteration.
class on_loop {
  public:
    explicit on_loop(event_loop& loop) noexcept : loop_(&loop) {}
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        loop_->defer([h] { h.resume(); });
    }
    void await_resume() const noexcept {}

  private:
    event_loop* loop_;
};

struct counts_destruction {
    int* count;
    explicit counts_destruction(int* c) noexcept : count(c) {}
    counts_destruction(const counts_destruction&) = delete;
    counts_destruction& operator=(const counts_destruction&) = delete;
    ~counts_destruction() { ++*count; }
};

error timeout_error() { return error(errc::timeout, "the statement timed out"); }

// Runs `t` to its end on this thread (every gate it waits for must be opened
// by the caller) and returns what it gave.
template <class T>
struct collected {
    std::optional<T> value;
    std::exception_ptr failure;
};
template <class T>
void start(task<T> t, collected<T>& out) {
    spawn(std::move(t), [&out](task_outcome<T> o) {
        if (o) {
            out.value.emplace(std::move(o).value());
        } else {
            out.failure = o.exception();
        }
    });
}

}  // namespace

TEST_CASE("in a task<result<T>> co_await yields the value of a result", "[unit][task]") {
    gate<result<int>> a;
    gate<result<std::string>> b;
    gate<result<void>> c;
    auto body = [&]() -> task<result<std::string>> {
        const int n = co_await a.wait();
        std::string s = co_await b.wait();
        co_await c.wait();  // result<void>: a statement, nothing to discard
        co_return s + std::to_string(n);
    };
    collected<result<std::string>> out;
    start(body(), out);
    REQUIRE(a.waiting());
    a.open(7);
    REQUIRE(b.waiting());
    b.open(std::string("seven="));
    REQUIRE(c.waiting());
    c.open(ok());
    REQUIRE(out.value.has_value());
    REQUIRE(out.value->has_value());
    CHECK(out.value->value() == "seven=7");
}

TEST_CASE("an error ends a task<result<T>> at the co_await that got it", "[unit][task]") {
    gate<result<int>> a;
    gate<result<int>> never;
    bool after_error = false;
    int destroyed = 0;
    auto body = [&]() -> task<result<int>> {
        counts_destruction local(&destroyed);
        (void)co_await a.wait();
        after_error = true;  // not reached
        co_return co_await never.wait();
    };
    int seen_destroyed = -1;
    std::optional<result<int>> got;
    auto parent = [&]() -> task<void> {
        got.emplace(co_await body());
        // The child ended early, suspended; the temporary task that owned it
        // is gone by now, and with it the child's locals.
        seen_destroyed = destroyed;
    };
    spawn(parent());
    REQUIRE(a.waiting());
    a.open(timeout_error());
    CHECK_FALSE(after_error);
    CHECK_FALSE(never.waiting());
    REQUIRE(got.has_value());
    REQUIRE_FALSE(got->has_value());
    CHECK(got->error().value() == errc::timeout);
    CHECK(got->error().message() == "the statement timed out");
    CHECK(seen_destroyed == 1);
}

TEST_CASE("an error from an operation that completes without suspending ends the task too",
          "[unit][task]") {
    bool after = false;
    int destroyed = 0;
    auto body = [&]() -> task<result<void>> {
        counts_destruction local(&destroyed);
        co_await ready_op<result<int>>(timeout_error());
        after = true;
        co_return ok();
    };
    std::optional<result<void>> got;
    int seen_destroyed = -1;
    spawn([&]() -> task<void> {
        got.emplace(co_await body());
        seen_destroyed = destroyed;
    });
    CHECK_FALSE(after);
    REQUIRE(got.has_value());
    REQUIRE_FALSE(got->has_value());
    CHECK(got->error().value() == errc::timeout);
    CHECK(seen_destroyed == 1);
}

TEST_CASE("co_await on a result in hand yields its value or ends the task", "[unit][task]") {
    bool after_error = false;
    auto body = [&](result<int> first, result<int> second) -> task<result<int>> {
        const int a = co_await first;  // an rvalue result
        const result<int> kept = std::move(second);
        const int b = co_await kept;  // an lvalue: copied, not moved from
        CHECK(kept.has_value() == true);
        after_error = true;
        co_return a + b;
    };
    collected<result<int>> sum;
    start(body(2, 3), sum);
    REQUIRE(sum.value.has_value());
    REQUIRE(sum.value->has_value());
    CHECK(sum.value->value() == 5);

    after_error = false;
    collected<result<int>> failed;
    start(body(timeout_error(), 3), failed);
    REQUIRE(failed.value.has_value());
    REQUIRE_FALSE(failed.value->has_value());
    CHECK(failed.value->error().value() == errc::timeout);
    CHECK_FALSE(after_error);
}

TEST_CASE("propagation takes any awaitable shape", "[unit][task]") {
    auto body = [](bool fail) -> task<result<int>> {
        const int a = co_await ready_op<result<int>>(1);
        const int b = co_await bool_op(2);
        const int c = co_await member_co_await_op(3);
        const int d = co_await free_co_await_op(4);
        if (fail) (void)co_await bool_op(timeout_error());
        co_return a + b + c + d;
    };
    collected<result<int>> ok_run;
    start(body(false), ok_run);
    REQUIRE(ok_run.value.has_value());
    CHECK(ok_run.value->value() == 10);

    collected<result<int>> failed;
    start(body(true), failed);
    REQUIRE(failed.value.has_value());
    CHECK(failed.value->error().value() == errc::timeout);
}

TEST_CASE("as_result gives the raw result to branch on", "[unit][task]") {
    gate<result<int>> a;
    gate<result<void>> b;
    auto body = [&]() -> task<result<int>> {
        auto r = co_await as_result(a.wait());
        if (!r) {
            auto v = co_await as_result(b.wait());
            co_return v ? -1 : -2;
        }
        co_return *r;
    };
    collected<result<int>> out;
    start(body(), out);
    a.open(timeout_error());
    REQUIRE(b.waiting());  // the body went on after the error
    b.open(error(errc::closed, "closed"));
    REQUIRE(out.value.has_value());
    CHECK(out.value->value() == -2);

    // An lvalue operation is referred to, not moved.
    auto lvalue = []() -> task<result<int>> {
        ready_op<result<int>> op(timeout_error());
        auto r = co_await as_result(op);
        co_return r.has_value() ? 1 : 2;
    };
    collected<result<int>> out2;
    start(lvalue(), out2);
    CHECK(out2.value->value() == 2);
}

TEST_CASE("in a task<T> that is not a result, co_await gives the raw result", "[unit][task]") {
    std::optional<result<int>> got;
    spawn([&]() -> task<void> { got.emplace(co_await ready_op<result<int>>(timeout_error())); });
    REQUIRE(got.has_value());
    CHECK(got->error().value() == errc::timeout);
}

TEST_CASE("errors propagate through nested tasks, each child's locals destroyed", "[unit][task]") {
    gate<result<int>> g;
    int destroyed = 0;
    bool parent_went_on = false;
    auto leaf = [&]() -> task<result<int>> {
        counts_destruction local(&destroyed);
        co_return co_await g.wait();
    };
    auto middle = [&]() -> task<result<std::string>> {
        counts_destruction local(&destroyed);
        const int n = co_await leaf();  // a child task<result<U>> is an operation too
        parent_went_on = true;
        co_return std::to_string(n);
    };
    auto top = [&]() -> task<result<void>> {
        counts_destruction local(&destroyed);
        (void)co_await middle();
        co_return ok();
    };

    collected<result<void>> failed;
    start(top(), failed);
    g.open(error(errc::connection_lost, "lost"));
    CHECK_FALSE(parent_went_on);
    REQUIRE(failed.value.has_value());
    CHECK(failed.value->error().value() == errc::connection_lost);
    CHECK(destroyed == 3);

    collected<result<void>> worked;
    start(top(), worked);
    g.open(5);
    CHECK(parent_went_on);
    REQUIRE(worked.value.has_value());
    CHECK(worked.value->has_value());
    CHECK(destroyed == 6);
}

TEST_CASE("co_return forms of a task<result<void>>", "[unit][task]") {
    auto with_ok = []() -> task<result<void>> { co_return ok(); };
    auto with_braces = []() -> task<result<void>> { co_return {}; };
    auto with_error = []() -> task<result<void>> { co_return error(errc::bad_input, "no"); };
    auto with_await = []() -> task<result<void>> {
        co_return co_await ready_op<result<void>>(ok());
    };
    for (auto* f : {+with_ok, +with_braces, +with_await}) {
        collected<result<void>> out;
        start(f(), out);
        REQUIRE(out.value.has_value());
        CHECK(out.value->has_value());
    }
    collected<result<void>> out;
    start(with_error(), out);
    REQUIRE(out.value.has_value());
    CHECK(out.value->error().value() == errc::bad_input);
}

TEST_CASE("an exception from an operation's await_resume stays an exception", "[unit][task]") {
    struct throwing_op {
        bool await_ready() const noexcept { return false; }
        bool await_suspend(std::coroutine_handle<>) const noexcept { return false; }
        result<int> await_resume() const { throw std::runtime_error("bad driver"); }
    };
    std::string caught;
    auto body = [&]() -> task<result<int>> {
        try {
            co_return co_await throwing_op();
        } catch (const std::runtime_error& e) {
            caught = e.what();
        }
        co_return -1;
    };
    collected<result<int>> out;
    start(body(), out);
    CHECK(caught == "bad driver");
    CHECK(out.value->value() == -1);
}

TEST_CASE("propagation keeps symmetric transfer: many awaits do not grow the stack",
          "[unit][task]") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    constexpr int n = 1'000;  // no tail calls under sanitizers (see pool_coro_test)
#else
    constexpr int n = 1'000'000;
#endif
    auto one = []() -> task<result<int>> { co_return 1; };
    auto sum = [&]() -> task<result<long>> {
        long total = 0;
        for (int i = 0; i < n; ++i) total += co_await one();
        co_return total;
    };
    collected<result<long>> out;
    start(sum(), out);
    REQUIRE(out.value.has_value());
    CHECK(out.value->value() == n);
}

// ---------------------------------------------------------------------------
// when_all
// ---------------------------------------------------------------------------

TEST_CASE("when_all over a fixed list gives the results in order", "[unit][task][when_all]") {
    gate<int> a;
    gate<std::string> b;
    gate<int> c;
    auto num = [](gate<int>& g) -> task<int> { co_return co_await g.wait(); };
    auto text = [](gate<std::string>& g) -> task<std::string> { co_return co_await g.wait(); };
    auto nothing = [](gate<int>& g) -> task<void> { (void)co_await g.wait(); };

    std::optional<std::tuple<int, std::string, void_result>> got;
    spawn([&]() -> task<void> { got.emplace(co_await when_all(num(a), text(b), nothing(c))); });
    // All started together: each waits on its gate before any finished.
    CHECK(a.waiting());
    CHECK(b.waiting());
    CHECK(c.waiting());
    c.open(0);  // finish in reverse order
    b.open(std::string("two"));
    CHECK_FALSE(got.has_value());
    a.open(1);
    REQUIRE(got.has_value());
    CHECK(std::get<0>(*got) == 1);
    CHECK(std::get<1>(*got) == "two");
}

TEST_CASE("when_all with tasks that finish synchronously, and with none",
          "[unit][task][when_all]") {
    auto value = [](int v) -> task<int> { co_return v; };
    std::optional<std::tuple<int, int>> fixed;
    std::optional<std::tuple<>> empty;
    std::optional<std::vector<int>> ranged;
    std::optional<std::vector<int>> empty_range;
    spawn([&]() -> task<void> {
        fixed.emplace(co_await when_all(value(1), value(2)));
        empty.emplace(co_await when_all());
        std::vector<task<int>> tasks;
        for (int i = 0; i < 5; ++i) tasks.push_back(value(i * 10));
        ranged.emplace(co_await when_all(std::move(tasks)));
        empty_range.emplace(co_await when_all(std::vector<task<int>>{}));
    });
    REQUIRE(fixed.has_value());
    CHECK(*fixed == std::tuple<int, int>(1, 2));
    CHECK(empty.has_value());
    REQUIRE(ranged.has_value());
    CHECK(*ranged == std::vector<int>{0, 10, 20, 30, 40});
    REQUIRE(empty_range.has_value());
    CHECK(empty_range->empty());
}

TEST_CASE("when_all over a range gives a vector in order", "[unit][task][when_all]") {
    std::vector<gate<int>> gates(4);
    auto wait_on = [](gate<int>& g) -> task<int> { co_return co_await g.wait() * 2; };
    auto work = [](gate<int>& g, int& done) -> task<void> {
        (void)co_await g.wait();
        ++done;
    };
    std::optional<std::vector<int>> got;
    spawn([&]() -> task<void> {
        std::vector<task<int>> tasks;
        for (auto& g : gates) tasks.push_back(wait_on(g));
        got.emplace(co_await when_all(tasks));  // an lvalue range: its tasks are moved out
    });
    for (auto& g : gates) CHECK(g.waiting());
    gates[2].open(3);
    gates[0].open(1);
    gates[3].open(4);
    CHECK_FALSE(got.has_value());
    gates[1].open(2);
    REQUIRE(got.has_value());
    CHECK(*got == std::vector<int>{2, 4, 6, 8});

    int done = 0;
    bool resumed = false;
    spawn([&]() -> task<void> {
        std::vector<task<void>> tasks;
        tasks.push_back(work(gates[0], done));
        tasks.push_back(work(gates[1], done));
        co_await when_all(std::move(tasks));
        resumed = true;
    });
    gates[1].open(0);
    CHECK_FALSE(resumed);
    gates[0].open(0);
    CHECK(resumed);
    CHECK(done == 2);
}

TEST_CASE("when_all rethrows the first exception after every task ended",
          "[unit][task][when_all]") {
    gate<int> a;
    gate<int> b;
    gate<int> c;
    auto fails = [](gate<int>& g, const char* what) -> task<int> {
        (void)co_await g.wait();
        throw std::runtime_error(what);
        co_return 0;  // NOLINT: unreachable
    };
    auto works = [](gate<int>& g) -> task<int> { co_return co_await g.wait(); };
    std::string caught;
    spawn([&]() -> task<void> {
        try {
            (void)co_await when_all(works(a), fails(b, "second"), fails(c, "third"));
        } catch (const std::runtime_error& e) {
            caught = e.what();
        }
    });
    c.open(0);  // the third throws first in time
    CHECK(caught.empty());
    b.open(0);
    CHECK(caught.empty());  // still waiting for the first
    a.open(0);
    CHECK(caught == "second");  // first in argument order

    auto throws_now = []() -> task<int> {
        throw std::runtime_error("at once");
        co_return 0;  // NOLINT: unreachable, makes this a coroutine
    };
    std::string caught_range;
    spawn([&]() -> task<void> {
        std::vector<task<int>> tasks;
        tasks.push_back(throws_now());
        tasks.push_back(throws_now());
        try {
            (void)co_await when_all(std::move(tasks));
        } catch (const std::runtime_error& e) {
            caught_range = e.what();
        }
    });
    CHECK(caught_range == "at once");
}

TEST_CASE("when_all of task<result<T>>: an error is a value, the others still run",
          "[unit][task][when_all]") {
    gate<result<int>> a;
    gate<result<int>> b;
    auto child = [](gate<result<int>>& g) -> task<result<int>> { co_return co_await g.wait() + 1; };
    std::optional<std::tuple<result<int>, result<int>>> got;
    spawn([&]() -> task<void> { got.emplace(co_await when_all(child(a), child(b))); });
    a.open(timeout_error());  // ends the first child early
    CHECK_FALSE(got.has_value());
    b.open(1);
    REQUIRE(got.has_value());
    CHECK(std::get<0>(*got).error().value() == errc::timeout);
    CHECK(std::get<1>(*got).value() == 2);
}

// ---------------------------------------------------------------------------
// spawn
// ---------------------------------------------------------------------------

TEST_CASE("spawn keeps a callable, and so a lambda's captures, alive until its task ends",
          "[unit][task][spawn]") {
    event_loop loop;
    std::string seen;
    bool done = false;
    {
        // Longer than any small-string buffer: a dangling capture would read
        // freed heap memory (AddressSanitizer reports it).
        std::string name(100, 'x');
        spawn(
            [&loop, &seen, name]() -> task<void> {
                co_await on_loop(loop);
                co_await on_loop(loop);
                seen = name;
            },
            [&done](std::exception_ptr e) { done = (e == nullptr); });
    }  // the closure object given to spawn is gone; its copy in the frame is not
    CHECK(seen.empty());
    loop.run();
    CHECK(done);
    CHECK(seen == std::string(100, 'x'));
}

TEST_CASE("spawn's completion callback gets the value or the exception", "[unit][task][spawn]") {
    std::optional<int> value;
    spawn([]() -> task<int> { co_return 42; }, [&](task_outcome<int> o) { value = o.value(); });
    CHECK(value == 42);

    std::string what;
    spawn(
        []() -> task<int> {
            throw std::runtime_error("handler failed");
            co_return 0;  // NOLINT: unreachable, makes this a coroutine
        }(),
        [&](task_outcome<int> o) {
            CHECK_FALSE(o.has_value());
            try {
                o.value();
            } catch (const std::runtime_error& e) {
                what = e.what();
            }
        });
    CHECK(what == "handler failed");

    // The older form: a std::exception_ptr, null on success.
    std::exception_ptr seen = std::make_exception_ptr(1);
    unique_function<void(std::exception_ptr)> old_style = [&](std::exception_ptr e) { seen = e; };
    spawn([]() -> task<void> { co_return; }(), std::move(old_style));
    CHECK(seen == nullptr);

    // A callable that throws before it returns a task: reported the same way.
    std::exception_ptr early;
    spawn([]() -> task<void> { throw std::runtime_error("no task"); },
          [&](std::exception_ptr e) { early = e; });
    CHECK(early != nullptr);
}

TEST_CASE("without a callback an escaping exception is logged and the program goes on",
          "[unit][task][spawn]") {
    uvdb_test::log_capture capture;
    int ran_after = 0;
    auto failing = []() -> task<void> {
        throw std::runtime_error("handler blew up");
        co_return;  // NOLINT: unreachable, makes this a coroutine
    };
    spawn(failing());
    CHECK(capture.contains("error a spawned task ended with an exception: handler blew up"));
    ++ran_after;

    // nullptr and an empty unique_function count as no callback.
    spawn(
        []() -> task<int> {
            throw std::runtime_error("second");
            co_return 0;  // NOLINT: unreachable, makes this a coroutine
        },
        nullptr);
    CHECK(capture.contains("exception: second"));
    spawn(failing(), unique_function<void(std::exception_ptr)>());
    ++ran_after;

    // A throwing completion callback is logged too, never std::terminate.
    spawn([]() -> task<void> { co_return; },
          [](std::exception_ptr) { throw std::logic_error("callback threw"); });
    CHECK(capture.contains("exception: callback threw"));
    ++ran_after;
    CHECK(ran_after == 3);
}
