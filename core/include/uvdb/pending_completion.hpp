#pragma once
/// \file
/// `uvdb::pending_completion`: the callback of one operation a driver has
/// accepted and not answered yet — a query, a script, or a done (ping/reset)
/// callback. Every driver queues such operations and must answer each exactly
/// once, with an error when the connection fails or closes; keeping the three
/// callback kinds in one type lets a queue fail them all without knowing which
/// kind each one is.
///
/// Header-only, so a plugin driver compiles its own copy (no ABI surface).
/// Costs what the std::variant of the three callbacks costs: no allocation.

#include <cassert>
#include <type_traits>
#include <utility>
#include <uvdb/driver.hpp>
#include <variant>
#include <vector>

namespace uvdb {

class pending_completion {
  public:
    /// Which callback it holds.
    enum class kind : unsigned char { none, query, script, done };

    pending_completion() noexcept = default;
    // Implicit on purpose: a callback is stored where a pending completion is expected.
    pending_completion(connection::query_callback cb) noexcept : cb_(std::move(cb)) {}
    pending_completion(connection::script_callback cb) noexcept : cb_(std::move(cb)) {}
    pending_completion(connection::done_callback cb) noexcept : cb_(std::move(cb)) {}

    kind which() const noexcept { return static_cast<kind>(cb_.index()); }
    /// True while it holds a callback that can still be called.
    explicit operator bool() const noexcept {
        return std::visit(
            [](const auto& cb) {
                if constexpr (std::is_same_v<std::decay_t<decltype(cb)>, std::monostate>) {
                    return false;
                } else {
                    return static_cast<bool>(cb);
                }
            },
            cb_);
    }

    /// Answers a query. Holds a query callback (or none: then nothing happens).
    void complete(result<result_set> r) { call<connection::query_callback>(std::move(r)); }
    /// Answers a script.
    void complete(result<std::vector<result_set>> r) {
        call<connection::script_callback>(std::move(r));
    }
    /// Answers a ping or reset.
    void complete(result<void> r) { call<connection::done_callback>(std::move(r)); }

    /// Answers with `e`, whichever kind of callback it holds.
    void fail(const error& e) {
        switch (which()) {
            case kind::none:
                break;
            case kind::query:
                complete(result<result_set>(e));
                break;
            case kind::script:
                complete(result<std::vector<result_set>>(e));
                break;
            case kind::done:
                complete(result<void>(e));
                break;
        }
    }

  private:
    /// The callback is moved out before it runs: it runs at most once, and it
    /// may destroy whatever holds this object (a queue entry) while it runs.
    template <class Callback, class Value>
    void call(Value&& v) {
        if (cb_.index() == 0) return;
        auto* cb = std::get_if<Callback>(&cb_);
        assert(cb != nullptr && "pending_completion: answered with the wrong kind of result");
        if (cb == nullptr) return;
        Callback local = std::move(*cb);
        cb_.template emplace<std::monostate>();
        if (local) local(std::forward<Value>(v));
    }

    std::variant<std::monostate, connection::query_callback, connection::script_callback,
                 connection::done_callback>
        cb_;
};

/// The answer to an operation a connection refuses because it was closed, or
/// broke earlier (`broken_reason` says how; its SQLSTATE is kept). The
/// operation was never sent, so the caller may safely run it elsewhere.
inline error refused_operation_error(bool closed, const error& broken_reason) {
    if (closed) return error(errc::closed, "the connection is closed");
    error e(errc::connection_lost,
            "the statement was not run: the connection broke earlier: " + broken_reason.message());
    e.with_fatal(true);
    if (!broken_reason.sqlstate().empty()) e.with_sqlstate(broken_reason.sqlstate());
    return e;
}

}  // namespace uvdb
