#pragma once
/// \file
/// COPY FROM STDIN: `uvdb::copy_writer`, the caller's side of a bulk load,
/// and `uvdb::copy_in_sink`, the interface a driver implements under it.
///
///     auto w = co_await db.copy_in("COPY t FROM STDIN WITH (FORMAT csv)");  // result<copy_writer>
///     if (!w) co_return w.err();
///     for (auto piece : pieces)
///         if (auto r = co_await w->write(piece); !r) co_return r.err();   // suspends while full
///     auto n = co_await w->finish();                                     // result<uint64_t>: rows
///
/// uvdb moves bytes only: text, CSV or binary, as the COPY statement says; a
/// piece may end anywhere (in the middle of a row, too). write() takes the
/// bytes at once (the driver copies them) and suspends the caller only while
/// the driver's output is full (the socket does not take more): a slow
/// server slows the writer, memory stays bounded. finish() ends the data and
/// gives the row count; abort(message) ends it with an error the server
/// logs, nothing is inserted. A writer dropped before finish() aborts.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <uvdb/detail/callback_awaitable.hpp>
#include <uvdb/error.hpp>
#include <uvdb/function.hpp>
#include <uvdb/result.hpp>

namespace uvdb {

/// The driver's side of one COPY FROM STDIN in progress (loop thread only).
/// Applications use copy_writer. Every callback runs once, on the loop,
/// never inline from the call that took it.
class copy_in_sink {
  public:
    using done_callback = unique_function<void(result<void>)>;
    using count_callback = unique_function<void(result<std::uint64_t>)>;

    virtual ~copy_in_sink() = default;

    /// Takes `bytes` (copied; they need not outlive the call). true: there is
    /// room for more; false: taken, but the writer must wait_writable()
    /// before the next write. An error once the COPY failed (the server's
    /// error, a timeout, a lost connection) or ended.
    virtual result<bool> try_write(std::string_view bytes) = 0;
    /// `cb` runs when there is room again (at once, deferred, when there
    /// is), or with the COPY's error.
    virtual void wait_writable(done_callback cb) = 0;
    /// Ends the data; `cb` gets the rows the COPY loaded, or its error (a
    /// bad row: the server's error with its line number).
    virtual void finish(count_callback cb) = 0;
    /// Ends the COPY with `message` (the server logs it; nothing is
    /// inserted); `cb` gets errc::cancelled saying so, or the error the COPY
    /// had met already. `cb` may be empty (a writer dropped unfinished).
    virtual void abort(std::string_view message, done_callback cb) = 0;
};

/// The caller's side of a COPY FROM STDIN. Move-only; loop thread only.
/// Holds the connection (a pool's lease) until finish() or abort()
/// completes; dropped before, it aborts the COPY and the connection goes
/// back once the server confirmed.
class copy_writer {
  public:
    using done_callback = copy_in_sink::done_callback;
    using count_callback = copy_in_sink::count_callback;

    copy_writer() noexcept = default;
    /// `keep` lives as long as the COPY runs (a pool's lease); it is dropped
    /// when finish() or abort() completes, before the caller hears of it.
    explicit copy_writer(std::unique_ptr<copy_in_sink> sink,
                         std::shared_ptr<void> keep = {}) noexcept
        : sink_(std::move(sink)), keep_(std::move(keep)) {}
    copy_writer(copy_writer&& other) noexcept;
    copy_writer& operator=(copy_writer&& other) noexcept;
    copy_writer(const copy_writer&) = delete;
    copy_writer& operator=(const copy_writer&) = delete;
    ~copy_writer();

    /// Writes one piece: `co_await w.write(bytes)` gives result<void>; it
    /// suspends only while the connection's output is full. `bytes` may be
    /// reused as soon as the call returns (the awaitable: once awaited).
    [[nodiscard]] auto write(std::string_view bytes) {
        return detail::make_callback_awaitable<void>(write_start{this, bytes});
    }
    /// The same; `cb` runs (deferred) when the next piece may be written.
    void write(std::string_view bytes, done_callback cb);

    /// Ends the data: `co_await w.finish()` gives the row count.
    [[nodiscard]] auto finish() {
        return detail::make_callback_awaitable<std::uint64_t>(finish_start{this});
    }
    void finish(count_callback cb);

    /// Ends the COPY with `message` (logged by the server); nothing is
    /// inserted. `co_await w.abort("…")` gives errc::cancelled.
    [[nodiscard]] auto abort(std::string message) {
        return detail::make_callback_awaitable<void>(abort_start{this, std::move(message)});
    }
    void abort(std::string_view message, done_callback cb);

    /// Whether finish() or abort() may still be called.
    bool is_open() const noexcept { return sink_ != nullptr && !ended_; }
    /// Bytes handed over so far.
    std::uint64_t bytes_written() const noexcept { return bytes_; }
    /// How often a write had to wait for the connection to drain (back-pressure).
    std::uint64_t waits() const noexcept { return waits_; }

  private:
    /// Starts a write; nullopt: taken, wait for room before completing.
    std::optional<result<void>> start_write(std::string_view bytes);
    static error not_open_error();

    struct write_start {
        copy_writer* w;
        std::string_view bytes;
        std::optional<result<void>> try_now() { return w->start_write(bytes); }
        template <class Done>
        void operator()(Done done) && {
            w->sink_->wait_writable(done_callback(std::move(done)));
        }
    };
    struct finish_start {
        copy_writer* w;
        template <class Done>
        void operator()(Done done) && {
            w->finish(count_callback(std::move(done)));
        }
    };
    struct abort_start {
        copy_writer* w;
        std::string message;
        template <class Done>
        void operator()(Done done) && {
            w->abort(message, done_callback(std::move(done)));
        }
    };

    std::unique_ptr<copy_in_sink> sink_;
    std::shared_ptr<void> keep_;
    bool ended_ = false;
    std::uint64_t bytes_ = 0;
    std::uint64_t waits_ = 0;
};

}  // namespace uvdb
