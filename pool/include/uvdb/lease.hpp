#pragma once
/// \file
/// `uvdb::lease`: a connection borrowed from a pool, given back when the
/// lease is dropped (RAII). Loop thread only.

#include <chrono>
#include <source_location>
#include <utility>
#include <uvdb/batch.hpp>
#include <uvdb/driver.hpp>
#include <uvdb/error.hpp>

namespace uvdb {

namespace detail {
class pool_core;
struct conn_slot;
}  // namespace detail

/// A connection checked out of a uvdb::pool. Move-only. Dropping it (or
/// calling release()) gives the connection back: it is reset (an open or
/// failed transaction rolled back) and reused, or closed when it is broken,
/// still running a query, too old, or the pool holds enough already.
///
/// A lease keeps the pool's shared state alive, so it may outlive the pool
/// object; its connection is then closed when the lease is dropped. A lease
/// belongs to the loop thread of its pool.
class lease {
  public:
    /// An empty lease (holds nothing).
    lease() noexcept = default;
    lease(lease&& other) noexcept : core_(other.core_), slot_(other.slot_), conn_(other.conn_) {
        other.core_ = nullptr;
        other.slot_ = nullptr;
        other.conn_ = nullptr;
    }
    lease& operator=(lease&& other) noexcept {
        if (this != &other) {
            release();
            core_ = other.core_;
            slot_ = other.slot_;
            conn_ = other.conn_;
            other.core_ = nullptr;
            other.slot_ = nullptr;
            other.conn_ = nullptr;
        }
        return *this;
    }
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease() { release(); }

    /// The connection; only while the lease holds one.
    connection* operator->() const noexcept { return conn_; }
    connection& operator*() const noexcept { return *conn_; }
    connection& get() const noexcept { return *conn_; }
    /// Whether the lease holds a connection.
    explicit operator bool() const noexcept { return conn_ != nullptr; }

    /// The connection's calls (see uvdb::connection), so that a handler
    /// writes `co_await l.query("SELECT $1::int", 42)` or passes a callback
    /// last. Only while the lease holds a connection; the awaitables must be
    /// awaited while it still does. query and execute go through the pool:
    /// timed into pool_stats::operation_time, seen by pool_options::hooks and
    /// the slow-query log (`l->query(…)` goes to the driver directly and is
    /// not).
    template <class... A>
    decltype(auto) query(A&&... args) {
        return statements().query(std::forward<A>(args)...);
    }
    template <class... A>
    decltype(auto) execute(A&&... args) {
        return statements().execute(std::forward<A>(args)...);
    }
    /// Streams (<uvdb/stream.hpp>): forwarded to the connection; the lease
    /// must outlive the stream (pool::stream holds one for you).
    template <class... A>
    decltype(auto) stream(A&&... args) {
        return conn_->stream(std::forward<A>(args)...);
    }
    template <class... A>
    decltype(auto) copy_out(A&&... args) {
        return conn_->copy_out(std::forward<A>(args)...);
    }
    /// COPY … FROM STDIN on this connection (connection::copy_in); the
    /// lease must outlive the writer.
    template <class... A>
    decltype(auto) copy_in(A&&... args) {
        return conn_->copy_in(std::forward<A>(args)...);
    }
    template <class... A>
    decltype(auto) ping(A&&... args) {
        return conn_->ping(std::forward<A>(args)...);
    }
    template <class... A>
    decltype(auto) reset(A&&... args) {
        return conn_->reset(std::forward<A>(args)...);
    }
    /// The connection's notify (see connection::notify).
    template <class... A>
    decltype(auto) notify(A&&... args) {
        return conn_->notify(std::forward<A>(args)...);
    }

    /// Runs a batch on this connection (see pool::batch and
    /// <uvdb/batch.hpp>): `co_await l.batch(std::move(b))` gives
    /// result<batch_results>; a callback last starts it. An all-or-nothing
    /// batch runs between BEGIN and COMMIT, or, when the connection last saw
    /// a transaction open, between SAVEPOINT and RELEASE inside it. Keep the
    /// lease until the batch completed, and issue nothing else on it meanwhile.
    void batch(uvdb::batch b, batch_callback cb) {
        batch(query_options{}, std::move(b), std::move(cb));
    }
    void batch(const query_options& opts, uvdb::batch b, batch_callback cb);
    [[nodiscard]] auto batch(const query_options& opts, uvdb::batch b) {
        return detail::make_callback_awaitable<batch_results>(
            [this, opts, b = std::move(b)](auto done) mutable {
                batch(opts, std::move(b), batch_callback(std::move(done)));
            });
    }
    [[nodiscard]] auto batch(uvdb::batch b) { return batch(query_options{}, std::move(b)); }

    /// Gives the connection back now (reset on return and the pool's
    /// reset_query apply). Idempotent.
    void release() noexcept {
        if (slot_ != nullptr) give_back(mode::normal, nullptr);
    }
    /// Gives the connection back without resetting it, e.g. when the caller
    /// knows no transaction is open and no session state was changed, and
    /// wants no reset round trip (the pool's reset_query is skipped). Broken,
    /// busy and expired connections are still closed, and one that is inside
    /// a transaction after all is reset anyway (discarded when the pool's
    /// reset_on_return is off): the next caller never inherits a transaction.
    void release_without_reset() noexcept {
        if (slot_ != nullptr) give_back(mode::no_reset, nullptr);
    }
    /// Discards the connection: it is closed, and the pool opens a new one
    /// when needed.
    void invalidate() noexcept {
        if (slot_ != nullptr) give_back(mode::invalidate, nullptr);
    }
    /// Discards the connection because of `cause`. When the cause shows the
    /// server went away (error::server_gone()), every connection the pool
    /// opened before now is replaced as well, not only this one.
    void invalidate(const error& cause) noexcept {
        if (slot_ != nullptr) give_back(mode::invalidate, &cause);
    }

    /// How long this lease has held its connection (0 when empty).
    std::chrono::milliseconds held_for() const noexcept;
    /// Where the connection was acquired (the caller of pool::acquire).
    std::source_location acquired_at() const noexcept;

  private:
    friend class detail::pool_core;
    enum class mode : unsigned char { normal, no_reset, invalidate };

    lease(detail::pool_core* core, detail::conn_slot* slot, connection* conn) noexcept;
    void give_back(mode m, const error* cause) noexcept;
    // The pool's statement path for this connection (statement_gate).
    connection& statements() const noexcept;

    detail::pool_core* core_ = nullptr;
    detail::conn_slot* slot_ = nullptr;
    connection* conn_ = nullptr;
};

}  // namespace uvdb
