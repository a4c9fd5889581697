#pragma once
/// \file
/// `uvdb::transaction`: a lease that knows it is inside BEGIN … COMMIT, and
/// `uvdb::nested_transaction`, a transaction-like scope nested in it. Both come from
/// `pool::begin` (or `pool::transaction`, which also retries).
///
/// ```cpp
/// uvdb::task<uvdb::result<void>> transfer(uvdb::pool& db, int from, int to, int amount) {
///     auto tx = co_await db.begin();
///     co_await tx.query("UPDATE account SET balance = balance - $1 WHERE id = $2", amount, from);
///     co_await tx.query("UPDATE account SET balance = balance + $1 WHERE id = $2", amount, to);
///     co_return co_await tx.commit();     // not reached on error: dropped tx rolls back
/// }
/// ```
///
/// Every operation has two forms under one name: awaitable (returns an
/// object whose `co_await` gives a `result<…>`) or, with a callback last,
/// the callback form (the callback runs on the loop thread, never inline).
///
/// Lifetimes: a transaction holds its lease. Dropping it before commit() or
/// rollback() gives the connection back, and the pool's reset on return
/// rolls the transaction back before anyone else gets the connection (a pool
/// with reset_on_return off closes it instead). A savepoint refers to its
/// transaction's shared state, so it may outlive the transaction object;
/// once the transaction ended, every use of either is refused with
/// errc::bad_input. Loop thread only.
///
/// COPY and streams inside a transaction (`tx.copy_in`, `tx.copy_out`,
/// `tx.stream`, also on a savepoint) run on the transaction's connection and
/// are part of it (ROLLBACK undoes a COPY FROM STDIN). The writer or stream
/// keeps the transaction's state, and so its connection, alive; it never
/// outlives it: while one is open (a writer not finished or aborted, a
/// stream not read to its end nor closed), commit() and rollback() are
/// refused with errc::bad_input and the transaction stays open, so finish
/// the writer or close the stream first. Dropping the transaction while one
/// is open ends the transaction at once (every later call on it is refused);
/// its connection goes back to the pool, and is rolled back there, only once
/// the writer or stream is done with it.

#include <chrono>
#include <concepts>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <uvdb/batch.hpp>
#include <uvdb/copy.hpp>
#include <uvdb/detail/callback_awaitable.hpp>
#include <uvdb/driver.hpp>
#include <uvdb/error.hpp>
#include <uvdb/function.hpp>
#include <uvdb/lease.hpp>
#include <uvdb/param.hpp>
#include <uvdb/result.hpp>
#include <uvdb/result_set.hpp>
#include <uvdb/stream.hpp>
#include <uvdb/task.hpp>
#include <vector>

namespace uvdb {

/// The isolation level of BEGIN.
enum class isolation_level : std::uint8_t {
    server_default,   ///< the session's default_transaction_isolation (READ COMMITTED unless set)
    read_committed,   ///< ISOLATION LEVEL READ COMMITTED
    repeatable_read,  ///< ISOLATION LEVEL REPEATABLE READ
    serializable,     ///< ISOLATION LEVEL SERIALIZABLE (may fail with 40001: retry)
};

/// How a transaction starts. All of it goes into the one BEGIN statement,
/// so options cost no extra round trip.
struct tx_options {
    isolation_level isolation = isolation_level::server_default;
    /// READ ONLY: writes fail with SQLSTATE 25006.
    bool read_only = false;
    /// DEFERRABLE: with SERIALIZABLE READ ONLY, waits for a snapshot that can
    /// never fail with a serialization error. PostgreSQL ignores it otherwise.
    bool deferrable = false;
};

/// The BEGIN statement for `opts`: "BEGIN", "BEGIN ISOLATION LEVEL
/// SERIALIZABLE, READ ONLY, DEFERRABLE", …
std::string begin_statement(const tx_options& opts);

/// How pool::transaction retries a transaction that lost a conflict.
///
/// Defaults: 3 attempts, back-off from 10 ms doubling up to 500 ms. A
/// serialization failure or deadlock means another transaction touched the
/// same rows at the same moment; one short pause usually separates them, and
/// a conflict that persists after three tries is contention the application
/// should see (more attempts would add load exactly when the rows are hot).
/// 10 ms is a few round trips on a LAN; the cap bounds what a handler's
/// latency can grow by to well under a second.
struct retry_policy {
    /// Runs of the whole transaction, the first included (1 = never retry; 0 counts as 1).
    unsigned max_attempts = 3;
    /// Pause before the second attempt; doubled for each later one.
    std::chrono::milliseconds initial_backoff{10};
    /// Upper bound of the pause.
    std::chrono::milliseconds max_backoff{500};
};

/// Whether `e` means the transaction lost a conflict and running it again
/// may succeed: serialization failure (40001) or deadlock (40P01). Never
/// true for errc::commit_unknown.
bool is_transaction_conflict(const error& e) noexcept;

/// The pause after failed attempt number `failed_attempt` (1-based):
/// base = min(max_backoff, initial_backoff · 2^(failed_attempt − 1)), then a
/// point in [base/2, base] picked by `unit` ∈ [0, 1) ("equal jitter": two
/// transactions that collided do not come back in step, yet both wait).
std::chrono::milliseconds retry_backoff(const retry_policy& policy, unsigned failed_attempt,
                                        double unit) noexcept;

class nested_transaction;
class transaction;

namespace detail {

struct tx_state;

/// Every awaitable here is the call surface's callback_awaitable
/// (<uvdb/detail/callback_awaitable.hpp>): it starts the callback form when
/// awaited and resumes the coroutine from its callback, on the loop thread.
template <class T, class Start>
auto make_tx_awaitable(Start start) {
    return make_callback_awaitable<T>(std::move(start));
}

}  // namespace detail

/// What transaction and savepoint share: statements and nested savepoints
/// on the transaction's connection. Not used on its own.
class tx_scope {
  public:
    using query_callback = unique_function<void(result<result_set>)>;
    using script_callback = unique_function<void(result<std::vector<result_set>>)>;
    using done_callback = unique_function<void(result<void>)>;
    using savepoint_callback = unique_function<void(result<uvdb::nested_transaction>)>;
    using copy_writer_callback = unique_function<void(result<copy_writer>)>;

    /// Runs one statement inside the transaction, its parameters given as
    /// values: `co_await tx.query(sql, args…)` gives result<result_set>;
    /// `tx.query(sql, args…, cb)` starts it and returns nothing. The same
    /// shapes as connection::query (one argument of type uvdb::params is the
    /// whole list). Refused (errc::bad_input) once this scope ended.
    template <class... A>
    requires(!detail::any_is<query_options, A...>) auto query(std::string_view sql, A&&... args) {
        return query(query_options{}, sql, std::forward<A>(args)...);
    }
    /// The same with per-call options (a timeout).
    template <class... A>
    requires(!detail::any_is<query_options, A...>) auto query(const query_options& opts,
                                                              std::string_view sql, A&&... args) {
        if constexpr (detail::ends_with_callback<result_set, A...>) {
            detail::split_callback(
                [&](params p, auto&& cb) {
                    run_query(sql, std::move(p), query_callback(std::forward<decltype(cb)>(cb)),
                              opts);
                },
                std::forward<A>(args)...);
        } else {
            return detail::make_tx_awaitable<result_set>(
                [this, sql, p = detail::bind_params(std::forward<A>(args)...),
                 opts](query_callback cb) mutable {
                    run_query(sql, std::move(p), std::move(cb), opts);
                });
        }
    }

    /// Runs a script of statements without parameters (simple protocol).
    void execute(std::string_view script, script_callback cb) {
        execute(query_options{}, script, std::move(cb));
    }
    void execute(const query_options& opts, std::string_view script, script_callback cb);
    [[nodiscard]] auto execute(const query_options& opts, std::string_view script) {
        return detail::make_tx_awaitable<std::vector<result_set>>(
            [this, opts, script](script_callback cb) { execute(opts, script, std::move(cb)); });
    }
    [[nodiscard]] auto execute(std::string_view script) { return execute(query_options{}, script); }

    /// Streams one statement's rows inside the transaction (connection::stream,
    /// <uvdb/stream.hpp>): gives the row_stream at once; when this scope
    /// cannot run it, the stream's first next() says why (errc::bad_input).
    /// See the file comment for the rules while it is open.
    template <class... A>
    requires(!detail::any_is<stream_options, A...>) row_stream
        stream(std::string_view sql, A&&... args) {
        return open_stream(stream_options{}, sql, detail::bind_params(std::forward<A>(args)...));
    }
    template <class... A>
    requires(!detail::any_is<stream_options, A...>) row_stream
        stream(const stream_options& opts, std::string_view sql, A&&... args) {
        return open_stream(opts, sql, detail::bind_params(std::forward<A>(args)...));
    }
    /// COPY … TO STDOUT inside the transaction, in chunks (connection::copy_out).
    copy_stream copy_out(std::string_view sql, const stream_options& opts = {});

    /// COPY … FROM STDIN inside the transaction (connection::copy_in):
    /// `auto w = co_await tx.copy_in(sql);` gives result<copy_writer>;
    /// `tx.copy_in(sql, cb)` is the callback form. A bad row fails the
    /// writer's finish() with the server's error, and the transaction is
    /// then aborted (its next statement fails with 25P02, COMMIT with
    /// errc::transaction_rolled_back).
    void copy_in(const query_options& opts, std::string_view sql, copy_writer_callback cb);
    void copy_in(std::string_view sql, copy_writer_callback cb) {
        copy_in(query_options{}, sql, std::move(cb));
    }
    [[nodiscard]] auto copy_in(const query_options& opts, std::string_view sql) {
        return detail::make_tx_awaitable<copy_writer>(
            [this, opts, sql](copy_writer_callback cb) { copy_in(opts, sql, std::move(cb)); });
    }
    [[nodiscard]] auto copy_in(std::string_view sql) { return copy_in(query_options{}, sql); }

    /// Runs a batch inside this scope (see pool::batch and
    /// <uvdb/batch.hpp>): `co_await tx.batch(std::move(b))` gives
    /// result<batch_results>. All-or-nothing runs between SAVEPOINT and
    /// RELEASE, so a failure undoes the batch and the transaction goes on.
    /// COMMIT and ROLLBACK are refused until the batch has completed.
    void batch(uvdb::batch b, batch_callback cb) {
        batch(query_options{}, std::move(b), std::move(cb));
    }
    void batch(const query_options& opts, uvdb::batch b, batch_callback cb);
    [[nodiscard]] auto batch(const query_options& opts, uvdb::batch b) {
        return detail::make_tx_awaitable<batch_results>(
            [this, opts, b = std::move(b)](batch_callback cb) mutable {
                batch(opts, std::move(b), std::move(cb));
            });
    }
    [[nodiscard]] auto batch(uvdb::batch b) { return batch(query_options{}, std::move(b)); }

    /// Opens a savepoint (SAVEPOINT sp_N, N counting from 1 per
    /// transaction) nested in this scope: `auto sp = co_await tx.savepoint();`.
    void savepoint(savepoint_callback cb);
    auto savepoint();  // defined below, where uvdb::nested_transaction is complete

    /// Runs `fn(sp)` in a new savepoint `sp` and ends it by fn's outcome:
    /// released when fn succeeds, rolled back to when it fails, whose error
    /// the call then gives; the enclosing transaction goes on either way.
    /// `fn` returns a `task<result<R>>`, and so does this call (await it
    /// while this scope lives):
    ///
    ///     auto noted = co_await uvdb::as_result(tx.savepoint(
    ///         [&](uvdb::nested_transaction& sp) -> uvdb::task<uvdb::result<void>> {
    ///             co_await sp.query("UPDATE orders SET note = $2 WHERE id = $1", id, note);
    ///             co_return uvdb::ok();
    ///         }));  // a failed note leaves the order in place
    template <class Fn>
    requires std::invocable<Fn&, nested_transaction&> std::invoke_result_t<Fn&, nested_transaction&>
    savepoint(Fn fn);

    /// Whether statements may still run in this scope (not committed, rolled
    /// back or dropped; for a savepoint: not released and the transaction open).
    bool active() const noexcept;

  protected:
    tx_scope() noexcept = default;
    tx_scope(std::shared_ptr<detail::tx_state> st, std::uint32_t depth, std::uint32_t id) noexcept;
    tx_scope(tx_scope&&) noexcept = default;
    tx_scope& operator=(tx_scope&&) noexcept = default;
    ~tx_scope() = default;

    /// An error saying why this scope cannot run `what`, or nullopt when it can.
    std::optional<error> refuse(std::string_view what) const;
    /// Completes `cb` with `e` from the loop (never inline).
    template <class T>
    void fail_later(unique_function<void(result<T>)> cb, error e) const;
    void run_query(std::string_view sql, params p, query_callback cb,
                   const query_options& opts = {});
    row_stream open_stream(const stream_options& opts, std::string_view sql, params p);
    /// What a writer or stream of this transaction holds: counts it as open
    /// until its connection is free again (see the file comment).
    std::shared_ptr<void> hold_for_io() const;

    std::shared_ptr<detail::tx_state> st_;
    std::uint32_t depth_ = 0;  // 0: the transaction; n: the n-th savepoint on its stack
    std::uint32_t id_ = 0;     // the N of sp_N; 0 for the transaction
};

/// BEGIN … COMMIT on one pooled connection. Move-only; see the file comment
/// for what dropping it does.
class transaction : public tx_scope {
  public:
    /// An empty transaction (holds nothing; every call is refused).
    transaction() noexcept = default;
    transaction(transaction&&) noexcept = default;
    transaction& operator=(transaction&& other) noexcept;
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;
    /// Uncommitted: gives the lease back, and the reset on return rolls back.
    ~transaction();

    /// COMMIT. Errors: the server's (a deferred constraint, 40001 at commit:
    /// nothing was committed); errc::transaction_rolled_back when the
    /// transaction had failed earlier and COMMIT rolled it back;
    /// errc::commit_unknown when the connection was lost (or the statement
    /// timed out) with COMMIT in flight: it may or may not have committed.
    /// Either way the transaction has ended and its connection is given back.
    void commit(done_callback cb);
    auto commit() {
        return detail::make_tx_awaitable<void>([this](done_callback cb) { commit(std::move(cb)); });
    }

    /// ROLLBACK, then the connection is given back.
    void rollback(done_callback cb);
    auto rollback() {
        return detail::make_tx_awaitable<void>(
            [this](done_callback cb) { rollback(std::move(cb)); });
    }

    /// The connection, for calls this class does not forward (while active()).
    connection* operator->() const noexcept;

  private:
    friend class pool;
    friend struct detail::tx_state;
    transaction(lease l, event_loop& loop);
    void end(std::string_view statement, done_callback cb);
};

/// A savepoint (SAVEPOINT sp_N) inside a transaction or inside another one,
/// used like a transaction. (Its type is not called `savepoint` so that
/// `savepoint()` opens one on either alike.) Move-only.
/// commit() releases it (RELEASE SAVEPOINT); rollback() undoes what ran
/// since it was opened (ROLLBACK TO SAVEPOINT, then RELEASE SAVEPOINT) and
/// the transaction continues. Ending a savepoint ends the savepoints opened
/// inside it, as in SQL.
///
/// Dropped while still active and its transaction open, it queues the
/// rollback (ROLLBACK TO + RELEASE) on the connection without waiting:
/// statements on one connection run in order, so the transaction's next
/// statement runs after it. A failure of that queued rollback is not lost:
/// the transaction's next statement or COMMIT fails too (the connection
/// broke, or the transaction is aborted and COMMIT answers ROLLBACK).
class nested_transaction : public tx_scope {
  public:
    nested_transaction() noexcept = default;
    nested_transaction(nested_transaction&&) noexcept = default;
    nested_transaction& operator=(nested_transaction&& other) noexcept;
    nested_transaction(const nested_transaction&) = delete;
    nested_transaction& operator=(const nested_transaction&) = delete;
    ~nested_transaction();

    /// RELEASE SAVEPOINT: keeps what ran inside it (until the transaction ends).
    void commit(done_callback cb);
    auto commit() {
        return detail::make_tx_awaitable<void>([this](done_callback cb) { commit(std::move(cb)); });
    }
    /// ROLLBACK TO SAVEPOINT + RELEASE SAVEPOINT: undoes what ran inside it.
    void rollback(done_callback cb);
    auto rollback() {
        return detail::make_tx_awaitable<void>(
            [this](done_callback cb) { rollback(std::move(cb)); });
    }

    /// "sp_1", "sp_2", …
    std::string name() const;

  private:
    friend class tx_scope;
    nested_transaction(std::shared_ptr<detail::tx_state> st, std::uint32_t depth,
                       std::uint32_t id) noexcept
        : tx_scope(std::move(st), depth, id) {}
    void drop() noexcept;
};

inline auto tx_scope::savepoint() {
    return detail::make_tx_awaitable<uvdb::nested_transaction>(
        [this](savepoint_callback cb) { savepoint(std::move(cb)); });
}

template <class Fn>
requires std::invocable<Fn&, nested_transaction&> std::invoke_result_t<Fn&, nested_transaction&>
tx_scope::savepoint(Fn fn) {
    using body_task = std::invoke_result_t<Fn&, nested_transaction&>;
    static_assert(
        detail::is_task<body_task>::value && detail::is_result_v<typename body_task::value_type>,
        "savepoint(fn): fn(nested_transaction&) must return a uvdb::task<uvdb::result<R>>");
    using R = typename body_task::value_type;
    auto sp = co_await as_result(savepoint());
    if (!sp) co_return R(std::move(sp).error());
    R out = co_await as_result(fn(*sp));
    if (out) {
        auto released = co_await as_result(sp->commit());
        if (!released) co_return R(std::move(released).error());
    } else {
        // fn's error is the one to report; a failed rollback breaks the
        // transaction, and its next statement says so.
        (void)co_await as_result(sp->rollback());
    }
    co_return out;
}

}  // namespace uvdb
