#pragma once
/// \file
/// `uvdb::pool`: a backend-agnostic connection pool with SQLAlchemy QueuePool
/// semantics (size, max_overflow, timeout, pre_ping, recycle) and more (see
/// pool_options.hpp).
///
/// Threading: a pool, its leases and every callback belong to the thread that
/// runs its event_loop. Other threads hand work to that thread with
/// event_loop::post(). Callbacks never run inline from the call that started
/// the operation.
///
/// ```cpp
/// uvdb::pool db(loop, uvdb::postgres::make_driver(), opts);
/// auto r = co_await db.query("SELECT $1::int + 1", 41);      // in a coroutine: result<result_set>
/// db.query("SELECT $1::int + 1", 41, [](uvdb::result<uvdb::result_set> r) {   // callback last
///     if (!r) return log(r.err().to_string());
///     use(r->value<int>());
/// });
/// auto l = co_await db.acquire();                            // result<lease>
/// db.acquire([](uvdb::result<uvdb::lease> l) {
///     if (!l) return log(l.err().to_string());
///     l->query("SELECT 1", …);   // the lease goes back when dropped
/// });
/// ```

#include <chrono>
#include <memory>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <uvdb/advisor.hpp>
#include <uvdb/batch.hpp>
#include <uvdb/call.hpp>
#include <uvdb/detail/callback_awaitable.hpp>
#include <uvdb/detail/transaction_run.hpp>
#include <uvdb/driver.hpp>
#include <uvdb/driver_registry.hpp>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/function.hpp>
#include <uvdb/hooks.hpp>
#include <uvdb/lease.hpp>
#include <uvdb/param.hpp>
#include <uvdb/pool_options.hpp>
#include <uvdb/pool_stats.hpp>
#include <uvdb/result.hpp>
#include <uvdb/result_set.hpp>
#include <uvdb/stream.hpp>
#include <uvdb/transaction.hpp>

namespace uvdb {

namespace detail {
class pool_core;
class timer_source;
struct pool_test_access;
}  // namespace detail

class pool {
  public:
    using acquire_callback = unique_function<void(result<lease>)>;
    using query_callback = unique_function<void(result<result_set>)>;
    using done_callback = unique_function<void(result<void>)>;
    /// The body of a transaction: runs its statements on the lease, then calls
    /// `done` once with success (COMMIT) or an error (ROLLBACK).
    using transaction_body = unique_function<void(lease&, done_callback done)>;

    /// A pool on `loop` whose connections `drv` opens with opts.connection.
    /// Logs the start-up line once and opens min_idle connections.
    /// Throws std::invalid_argument when validate(opts) fails.
    pool(event_loop& loop, std::shared_ptr<driver> drv, pool_options opts);

    /// A pool whose driver is looked up in `registry` by the scheme of
    /// opts.connection.url. Errors: errc::driver_not_found, errc::bad_config.
    static result<pool> create(event_loop& loop, pool_options opts,
                               const driver_registry& registry = driver_registry::global());

    /// Closes the pool (see close()). Leases still out stay valid.
    ~pool();
    pool(pool&& other) noexcept;
    pool& operator=(pool&& other) noexcept;
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    /// Borrows a connection: an idle one (pinged first when it sat idle
    /// longer than pre_ping_idle_threshold), a new one while the pool holds
    /// fewer than size + max_overflow, or the next one returned. Waiters are
    /// served first come, first served. Errors: errc::pool_timeout after
    /// options().timeout (the message says why and what to do),
    /// errc::pool_full (max_waiters), errc::pool_closed, errc::cancelled
    /// (call_options::stop), or the connect error itself when connecting
    /// fails in a way retrying cannot fix (authentication, TLS,
    /// configuration). `where` names the caller in leak warnings and timeout
    /// messages; leave it defaulted.
    ///
    /// Without a callback it returns an awaitable: `co_await db.acquire()`
    /// gives result<lease> (at once, without suspending, when a connection is
    /// ready to hand out).
    void acquire(acquire_callback cb, std::source_location where = std::source_location::current());
    [[nodiscard]] auto acquire(std::source_location where = std::source_location::current()) {
        return detail::make_callback_awaitable<lease>(acquire_start{this, where, std::nullopt});
    }
    /// The same with per-call options: call_options::timeout replaces
    /// options().timeout; call_options::stop abandons the wait.
    void acquire(const call_options& opts, acquire_callback cb,
                 std::source_location where = std::source_location::current());
    [[nodiscard]] auto acquire(call_options opts,
                               std::source_location where = std::source_location::current()) {
        return detail::make_callback_awaitable<lease>(acquire_start{this, where, std::move(opts)});
    }
    /// Same, with its own timeout.
    void acquire(std::chrono::milliseconds timeout, acquire_callback cb,
                 std::source_location where = std::source_location::current());

    /// A lease at once when a connection is ready to hand out (idle, fresh
    /// enough to need no ping) and nobody waits; otherwise nullopt — use acquire.
    std::optional<lease> try_acquire(std::source_location where = std::source_location::current());

    /// acquire + one statement + release, the parameters given as values
    /// ($1 is the first; one argument of type uvdb::params is the whole
    /// list). With a callback last it starts the call and returns nothing:
    ///
    ///     db.query("SELECT name FROM users WHERE id = $1", id, [](uvdb::result<uvdb::result_set>
    ///     r) {…});
    ///
    /// without, it returns an awaitable giving result<result_set>:
    ///
    ///     auto r = co_await db.query("SELECT name FROM users WHERE id = $1", id);
    ///
    /// On an error that breaks the connection it is discarded instead of
    /// returned (and when the server went away, every older connection is
    /// replaced too). The SQL text must live until the call returns (the
    /// awaitable: until the co_await ends); the pool copies it when the
    /// statement has to wait for a connection.
    template <class... A>
    auto query(sql_text sql, A&&... args) {
        return query_with(nullptr, sql, std::forward<A>(args)...);
    }
    /// The explicit form, for a braced list: `db.query(sql, {}, cb)`.
    void query(sql_text sql, params p, query_callback cb) {
        start_query(nullptr, sql.text(), std::move(p), std::move(cb), sql.where());
    }
    /// The same with per-call options: a deadline for the whole call
    /// (waiting for a connection, then the statement gets what is left) and
    /// a stop token (abandons the wait, or cancels the running statement).
    template <class... A>
    auto query(const call_options& opts, sql_text sql, A&&... args) {
        return query_with(&opts, sql, std::forward<A>(args)...);
    }

    using copy_writer_callback = connection::copy_writer_callback;
    /// acquire + `COPY … FROM STDIN` (see uvdb::copy_writer): the writer
    /// holds the connection until its finish() or abort() completes (or, when
    /// it is dropped unfinished, until the server confirmed the abort), then
    /// it goes back to the pool. `co_await db.copy_in(sql)` gives
    /// result<copy_writer>; with a callback last it starts the call. The SQL
    /// text is copied.
    void copy_in(std::string_view sql, copy_writer_callback cb) {
        copy_in(query_options{}, sql, std::move(cb));
    }
    /// The same with a timeout for the COPY (its writing included).
    void copy_in(const query_options& opts, std::string_view sql, copy_writer_callback cb);
    [[nodiscard]] auto copy_in(const query_options& opts, std::string_view sql) {
        return detail::make_callback_awaitable<copy_writer>(copy_in_start{this, sql, opts});
    }
    [[nodiscard]] auto copy_in(std::string_view sql) { return copy_in(query_options{}, sql); }

    /// Runs `body` inside BEGIN … COMMIT on one lease. When the body reports
    /// an error, `cb` receives it and the lease goes back inside the open
    /// transaction, which the reset on return rolls back before the
    /// connection is reused (closed instead when reset_on_return is off).
    /// `cb` gets the first error of BEGIN, the body or COMMIT.
    void transaction(transaction_body body, done_callback cb,
                     std::source_location where = std::source_location::current());

    // ---- transactions: begin, savepoints, retried transactions (transaction.hpp) ----
    using begin_callback = unique_function<void(result<::uvdb::transaction>)>;
    /// The body of a retried transaction: runs its statements on `tx`, then
    /// calls `done` once with success (COMMIT follows) or an error.
    using tx_body = unique_function<void(::uvdb::transaction& tx, done_callback done)>;

    /// Acquires a connection and sends one BEGIN statement carrying `opts`;
    /// `cb` gets the open transaction, or the acquire's or BEGIN's error.
    /// `call.timeout` bounds the wait for a connection (negative: the pool's
    /// options().timeout; 0: no deadline). `call.stop` is not honoured yet.
    void begin(const tx_options& opts, const call_options& call, begin_callback cb,
               std::source_location where = std::source_location::current());
    void begin(const tx_options& opts, begin_callback cb,
               std::source_location where = std::source_location::current()) {
        begin(opts, call_options{}, std::move(cb), where);
    }
    /// `auto tx = co_await db.begin({.isolation = uvdb::isolation_level::serializable});`
    /// gives result<uvdb::transaction>.
    [[nodiscard]] auto begin(const tx_options& opts = {}, const call_options& call = {},
                             std::source_location where = std::source_location::current()) {
        return detail::make_tx_awaitable<::uvdb::transaction>(
            [this, opts, call, where](begin_callback cb) {
                begin(opts, call, std::move(cb), where);
            });
    }

    /// Runs `body` in a transaction (BEGIN with `opts`, COMMIT when it
    /// succeeds) and runs the whole of it again when it loses a conflict
    /// (SQLSTATE 40001 or 40P01, from its statements or from COMMIT), after a
    /// jittered back-off on the pool's timer, up to retry.max_attempts runs.
    /// A failed attempt's transaction is dropped, so the reset on return
    /// rolls it back. Never retried: errc::commit_unknown, any other error.
    /// `cb` gets success or the last error; when attempts ran out, its
    /// message says how many ran.
    void transaction(const tx_options& opts, tx_body body, retry_policy retry, done_callback cb,
                     std::source_location where = std::source_location::current());
    void transaction(tx_body body, retry_policy retry, done_callback cb,
                     std::source_location where = std::source_location::current()) {
        transaction(tx_options{}, std::move(body), retry, std::move(cb), where);
    }
    /// The coroutine form: `fn(uvdb::transaction&)` returns a
    /// task<result<R>> (a lambda coroutine; it is kept alive across
    /// attempts, so its captures are safe). `co_await db.transaction(fn)`
    /// gives result<R>: fn's value after COMMIT, or the error of BEGIN, fn or
    /// COMMIT. An exception thrown by fn rolls the transaction back, is
    /// never retried, and is rethrown to the awaiting coroutine.
    template <class Fn>
    requires std::is_invocable_v<Fn&, ::uvdb::transaction&>
    auto transaction(const tx_options& opts, Fn fn, retry_policy retry = {},
                     std::source_location where = std::source_location::current()) {
        return detail::tx_run_awaitable<pool, Fn, detail::tx_fn_value_t<Fn>>(
            *this, opts, std::move(fn), retry, where);
    }
    template <class Fn>
    requires std::is_invocable_v<Fn&, ::uvdb::transaction&>
    auto transaction(Fn fn, retry_policy retry = {},
                     std::source_location where = std::source_location::current()) {
        return transaction(tx_options{}, std::move(fn), retry, where);
    }
    // ---- end of transactions ----

    /// Sends a notification on `channel` with `payload` through a pooled
    /// connection (PostgreSQL: `SELECT pg_notify($1, $2)`, both bound as
    /// parameters); the server's limits (an 8000-byte payload) apply and
    /// its error comes back as it is. `co_await db.notify("jobs", "42")`
    /// gives result<void>.
    void notify(std::string_view channel, std::string_view payload, done_callback cb);
    [[nodiscard]] auto notify(std::string channel, std::string payload) {
        return detail::make_callback_awaitable<void>(
            notify_start{this, std::move(channel), std::move(payload)});
    }

    /// Closes the pool. Idempotent. Waiting acquires fail (deferred) with
    /// errc::pool_closed, idle and connecting connections are closed, later
    /// acquires fail with pool_closed, and leases still out close their
    /// connection when dropped.
    // ---- streams (<uvdb/stream.hpp>; pool_stream.cpp) ----
    using stream_callback = unique_function<void(result<row_stream>)>;
    using copy_stream_callback = unique_function<void(result<copy_stream>)>;
    /// Acquires a connection and starts a streamed statement on it, held for
    /// the stream's life (returned at its end, or once a close has drained):
    /// `auto s = co_await db.stream("SELECT …", 42);` gives result<row_stream>
    /// (an acquire error); with a callback last it starts and returns nothing.
    template <class... A>
    requires(!detail::any_is<stream_options, A...>) auto stream(sql_text sql, A&&... args) {
        return stream_with(stream_options{}, sql, std::forward<A>(args)...);
    }
    template <class... A>
    requires(!detail::any_is<stream_options, A...>) auto stream(const stream_options& opts,
                                                                sql_text sql, A&&... args) {
        return stream_with(opts, sql, std::forward<A>(args)...);
    }
    /// The same for COPY … TO STDOUT: result<copy_stream>.
    void copy_out(sql_text sql, copy_stream_callback cb) {
        start_copy_out(sql.text(), stream_options{}, std::move(cb), sql.where());
    }
    void copy_out(sql_text sql, const stream_options& opts, copy_stream_callback cb) {
        start_copy_out(sql.text(), opts, std::move(cb), sql.where());
    }
    [[nodiscard]] auto copy_out(sql_text sql, const stream_options& opts = {}) {
        return detail::make_callback_awaitable<copy_stream>(
            copy_out_start{this, sql.text(), opts, sql.where()});
    }

    // ---- batches (<uvdb/batch.hpp>; batch_calls.cpp) ----
    /// Runs the statements of `b` on one connection, issued at once (a
    /// driver that pipelines sends them together), and gives every result
    /// in order: `auto r = co_await db.batch(std::move(b));` gives
    /// result<batch_results>; with a callback last it starts the batch. An
    /// independent batch fails as a whole only when it cannot run (bad
    /// input: errc::bad_input, nothing sent; or the acquire's error); each
    /// statement's outcome is in its element. An all-or-nothing batch runs
    /// in a transaction and fails with its first failing statement's error,
    /// which names the statement (batch_statement_index), and keeps nothing.
    /// call_options as for query (a deadline for the whole call; the stop
    /// token abandons the wait for a connection). See docs/API.md, "Batches".
    void batch(uvdb::batch b, batch_callback cb,
               std::source_location where = std::source_location::current());
    void batch(const call_options& opts, uvdb::batch b, batch_callback cb,
               std::source_location where = std::source_location::current());
    [[nodiscard]] auto batch(call_options opts, uvdb::batch b,
                             std::source_location where = std::source_location::current()) {
        return detail::make_callback_awaitable<batch_results>(
            [this, opts = std::move(opts), b = std::move(b), where](auto done) mutable {
                batch(opts, std::move(b), batch_callback(std::move(done)), where);
            });
    }
    [[nodiscard]] auto batch(uvdb::batch b,
                             std::source_location where = std::source_location::current()) {
        return batch(call_options(), std::move(b), where);
    }
    // ---- end of batches ----

    void close();
    bool closed() const noexcept;

    using drain_callback = unique_function<void(drain_report)>;
    /// A graceful close. From this call on the pool hands out nothing:
    /// acquires and queries fail at once with errc::pool_closed ("the pool is
    /// draining"), and so do acquires already waiting; idle connections
    /// close. Leases out may finish until `deadline` from now (each closes
    /// its connection when given back); then the connections of leases still
    /// out are closed too (their statements fail with errc::closed) and `cb`
    /// gets the report, from the loop. The pool is closed afterwards.
    /// stats().draining is true meanwhile, closed() from the call on. A
    /// second call while draining gets the same report; on a closed pool, an
    /// empty one. The drain keeps the pool's state alive, so the pool object
    /// may be destroyed meanwhile.
    void drain(std::chrono::milliseconds deadline, drain_callback cb);
    /// `auto report = co_await db.drain(10s);` gives result<drain_report>
    /// (always a value).
    [[nodiscard]] auto drain(std::chrono::milliseconds deadline) {
        return detail::make_callback_awaitable<drain_report>(drain_start{this, deadline});
    }

    /// A snapshot of gauges and counters.
    pool_stats stats() const;
    /// How long the oldest lease still out has been held (0 when none).
    std::chrono::milliseconds longest_held() const;
    /// The most recent failed connect, if any connect failed.
    std::optional<error> last_connect_error() const;
    const pool_options& options() const noexcept;
    event_loop& loop() const noexcept;

    // ---- sizing advisor (advisor.hpp; pool_advise.cpp) ----
    /// What the advisor needs, from stats(): acquires per second since the
    /// pool was created, mean lease hold time, peak leases out, connect time,
    /// and the server's max_connections once read_server_limit() read it.
    advisor_input advisor_snapshot(std::size_t instances = 1) const;
    /// uvdb::advise(advisor_snapshot(instances)): recommended size and
    /// max_overflow for `instances` application instances sharing the server.
    advice advise(std::size_t instances = 1) const;
    /// Reads the server's max_connections once (on a leased connection,
    /// through connection::describe_server) for advise(); later calls
    /// complete at once.
    void read_server_limit(done_callback cb);

  private:
    template <class... A>
    auto query_with(const call_options* opts, sql_text sql, A&&... args) {
        if constexpr (detail::ends_with_callback<result_set, A...>) {
            detail::split_callback(
                [&](params p, auto&& cb) {
                    start_query(opts, sql.text(), std::move(p),
                                query_callback(std::forward<decltype(cb)>(cb)), sql.where());
                },
                std::forward<A>(args)...);
        } else {
            std::optional<call_options> own;
            if (opts != nullptr) own = *opts;
            return detail::make_callback_awaitable<result_set>(
                query_start{this, sql.text(), detail::bind_params(std::forward<A>(args)...),
                            sql.where(), std::move(own)});
        }
    }
    template <class... A>
    auto stream_with(const stream_options& opts, sql_text sql, A&&... args) {
        if constexpr (detail::ends_with_callback<row_stream, A...>) {
            detail::split_callback(
                [&](params p, auto&& cb) {
                    start_stream(sql.text(), std::move(p), opts,
                                 stream_callback(std::forward<decltype(cb)>(cb)), sql.where());
                },
                std::forward<A>(args)...);
        } else {
            return detail::make_callback_awaitable<row_stream>(
                stream_start{this, sql.text(), detail::bind_params(std::forward<A>(args)...), opts,
                             sql.where()});
        }
    }
    void start_stream(std::string_view sql, params p, const stream_options& opts,
                      stream_callback cb, std::source_location where);
    void start_copy_out(std::string_view sql, const stream_options& opts, copy_stream_callback cb,
                        std::source_location where);
    struct stream_start {
        pool* db;
        std::string_view sql;
        params p;
        stream_options opts;
        std::source_location where;
        template <class Done>
        void operator()(Done done) && {
            db->start_stream(sql, std::move(p), opts, stream_callback(std::move(done)), where);
        }
    };
    struct copy_out_start {
        pool* db;
        std::string_view sql;
        stream_options opts;
        std::source_location where;
        template <class Done>
        void operator()(Done done) && {
            db->start_copy_out(sql, opts, copy_stream_callback(std::move(done)), where);
        }
    };

    // Every query and acquire ends here (pool.cpp); opts null: the defaults.
    void start_query(const call_options* opts, std::string_view sql, params p, query_callback cb,
                     std::source_location where);
    void start_acquire(const call_options* opts, acquire_callback cb, std::source_location where);

    // What the awaitable forms start when awaited; in the awaiting coroutine's frame.
    struct query_start {
        pool* db;
        std::string_view sql;
        params p;
        std::source_location where;
        std::optional<call_options> opts;
        template <class Done>
        void operator()(Done done) && {
            db->start_query(opts ? &*opts : nullptr, sql, std::move(p),
                            query_callback(std::move(done)), where);
        }
    };
    struct notify_start {
        pool* db;
        std::string channel;
        std::string payload;
        template <class Done>
        void operator()(Done done) && {
            db->notify(channel, payload, done_callback(std::move(done)));
        }
    };
    struct copy_in_start {
        pool* db;
        std::string_view sql;
        query_options opts;
        template <class Done>
        void operator()(Done done) && {
            db->copy_in(opts, sql, copy_writer_callback(std::move(done)));
        }
    };
    struct drain_start {
        pool* db;
        std::chrono::milliseconds deadline;
        template <class Done>
        void operator()(Done done) && {
            db->drain(deadline, [done = std::move(done)](drain_report r) mutable { done(r); });
        }
    };
    struct acquire_start {
        pool* db;
        std::source_location where;
        std::optional<call_options> opts;
        // A ready connection needs no suspension (unless already abandoned).
        std::optional<result<lease>> try_now() {
            if (opts && opts->stop.stop_requested()) return std::nullopt;
            if (auto l = db->try_acquire(where)) return result<lease>(std::move(*l));
            return std::nullopt;
        }
        template <class Done>
        void operator()(Done done) && {
            db->start_acquire(opts ? &*opts : nullptr, acquire_callback(std::move(done)), where);
        }
    };

    // The same with `timers` replacing the loop's clock and timers: the unit
    // tests' manual clock, reached through detail::pool_test_access (a
    // header of pool/src, not installed). null = the loop's.
    pool(event_loop& loop, std::shared_ptr<driver> drv, pool_options opts,
         std::shared_ptr<detail::timer_source> timers);
    friend struct detail::pool_test_access;

    detail::pool_core* core_ = nullptr;  // counted reference
};

}  // namespace uvdb
