#pragma once
/// \file
/// Streamed results: the rows of one statement (or the bytes of a COPY TO
/// STDOUT) delivered in chunks the caller asks for one at a time, with
/// back-pressure. Backend-neutral: a driver supplies a `stream_source`; the
/// application holds a `row_stream` (rows, each chunk a result_set) or a
/// `copy_stream` (COPY TO STDOUT, each chunk a std::string of raw COPY data).
///
///     auto s = conn.stream("SELECT id, name FROM users");      // or lease / pool
///     while (auto chunk = co_await s.next()) {    // a result_set of ≤ chunk_rows rows
///         for (auto [id, name] : chunk->as<int, std::string>()) …
///     }
///
/// In a task<result<T>>, an error ends the task (error propagation, see
/// docs/API.md): `co_await s.next()` gives std::optional<result_set>, empty at
/// the end. In any other coroutine it gives a stream_step: true while it holds
/// a chunk, false at the end *or* on an error; then `s.error()` says which
/// (null at a clean end). Callback form, with an explicit "more": `s.next(cb)`,
/// and the callback calls `s.next(cb)` again for the next chunk.
///
/// Back-pressure: the driver reads from the server only while a chunk is being
/// filled for a caller that asked; once a chunk is full and nobody asked, it
/// stops reading the socket, so the kernel and the server hold the rest.
///
/// Dropping or close()-ing the stream before its end cancels the statement on
/// the server and drains what is left, so the connection is clean for its next
/// user; when that cannot be confirmed in time, the connection is closed as
/// broken (a pool then discards it).

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <uvdb/error.hpp>
#include <uvdb/function.hpp>
#include <uvdb/result.hpp>
#include <uvdb/result_set.hpp>

namespace uvdb {

/// Per-stream options.
struct stream_options {
    /// Rows per chunk of a row stream (the last chunk may hold fewer); 0 means 1.
    std::size_t chunk_rows = 1000;
    /// Bytes per chunk of a COPY TO STDOUT stream (a chunk ends at the first
    /// COPY row that reaches it, so it may be a row longer); 0 means 1.
    std::size_t chunk_bytes = std::size_t{64} * 1024;
    /// Deadline of the whole statement, consumer time included: -1 takes the
    /// connection's query_timeout, 0 means none. On expiry the statement is
    /// cancelled on the server and the stream fails with errc::timeout, also
    /// while the consumer has not asked for a chunk.
    std::chrono::milliseconds timeout{-1};
};

/// Implemented by drivers: one running streamed statement. Loop thread only.
template <class Chunk>
class stream_source {
  public:
    /// A chunk, std::nullopt at the end, or the error that ended the stream.
    using chunk_callback = unique_function<void(result<std::optional<Chunk>>)>;

    virtual ~stream_source() = default;
    /// Asks for the next chunk; `cb` runs once, on the loop, never inline.
    /// After the end (or an error) every call answers the same again. A
    /// second call while one waits fails with errc::bad_input.
    virtual void next(chunk_callback cb) = 0;
    /// Stops the stream: a statement still running is cancelled and its rest
    /// read and dropped. `drained` runs once the connection is free for the
    /// next statement, or broken (never inline). A next() still waiting is
    /// dropped without its callback being called. Idempotent.
    virtual void close(unique_function<void()> drained) = 0;
    /// Rows delivered so far; for COPY TO STDOUT, after the end, the row
    /// count of the server's command tag.
    virtual std::uint64_t rows() const noexcept = 0;
};

/// What `co_await stream.next()` gives outside a task<result<T>>: true while it
/// holds a chunk (`*step`, `step->`), false at the end or on an error
/// (`has_value()` is false only for an error; `error()` is it).
template <class Chunk>
class stream_step {
  public:
    using value_type = std::optional<Chunk>;
    using error_type = uvdb::error;

    explicit stream_step(result<std::optional<Chunk>> r) noexcept : r_(std::move(r)) {}

    /// Holds a chunk.
    explicit operator bool() const noexcept { return r_.has_value() && r_->has_value(); }
    /// False only on an error.
    bool has_value() const noexcept { return r_.has_value(); }
    const uvdb::error& error() const& noexcept { return r_.error(); }
    uvdb::error&& error() && noexcept { return std::move(r_).error(); }

    Chunk& operator*() & noexcept { return **r_; }
    Chunk* operator->() noexcept { return &**r_; }
    /// The chunk or the end, for error propagation in a task<result<T>>.
    std::optional<Chunk> operator*() && noexcept { return std::move(*r_); }

  private:
    result<std::optional<Chunk>> r_;
};

namespace detail {
// stream_step is a result as far as error propagation goes: its error ends a task<result<T>>.
template <class Chunk>
struct is_result<stream_step<Chunk>> : std::true_type {};

/// A source that failed before it started (a driver without streaming, a bad
/// argument): every next() answers its error at once.
template <class Chunk>
class failed_stream_source final : public stream_source<Chunk> {
  public:
    explicit failed_stream_source(uvdb::error e) : err_(std::move(e)) {}
    void next(typename stream_source<Chunk>::chunk_callback cb) override { cb(err_); }
    void close(unique_function<void()> drained) override {
        if (drained) drained();
    }
    std::uint64_t rows() const noexcept override { return 0; }
    const uvdb::error& failure() const noexcept { return err_; }

  private:
    uvdb::error err_;
};
}  // namespace detail

/// The caller's side of a stream. Move-only; destroying it closes the stream
/// (see the file comment). Loop thread only.
template <class Chunk>
class basic_stream {
  public:
    using chunk_callback = typename stream_source<Chunk>::chunk_callback;

    basic_stream() = default;
    /// `keep` lives until the stream's connection is free again (a pool
    /// lease, say): released at the end, or once a close has drained.
    explicit basic_stream(std::unique_ptr<stream_source<Chunk>> src,
                          std::shared_ptr<void> keep = {}) noexcept
        : src_(std::move(src)), keep_(std::move(keep)) {}
    basic_stream(basic_stream&&) noexcept = default;
    basic_stream& operator=(basic_stream&& other) noexcept {
        if (this != &other) {
            close();
            src_ = std::move(other.src_);
            keep_ = std::move(other.keep_);
            err_ = std::move(other.err_);
            ended_ = other.ended_;
        }
        return *this;
    }
    basic_stream(const basic_stream&) = delete;
    basic_stream& operator=(const basic_stream&) = delete;
    ~basic_stream() { close(); }

    /// Callback form: `cb` gets the next chunk, std::nullopt at the end, or the
    /// error; call next(cb) again from it for more.
    void next(chunk_callback cb) {
        if (!src_) {
            cb(uvdb::error(errc::bad_input, "the stream is closed"));
            return;
        }
        src_->next([this, cb = std::move(cb)](result<std::optional<Chunk>> r) mutable {
            note(r);
            cb(std::move(r));
        });
    }

    class [[nodiscard]] next_awaitable {
      public:
        explicit next_awaitable(basic_stream* s) noexcept : s_(s) {}
        bool await_ready() {
            if (s_->src_) return false;
            r_.emplace(uvdb::error(errc::bad_input, "the stream is closed"));
            return true;
        }
        void await_suspend(std::coroutine_handle<> h) {
            h_ = h;
            s_->src_->next([this](result<std::optional<Chunk>> r) {
                r_.emplace(std::move(r));
                h_.resume();  // may destroy this awaitable: touch nothing after
            });
        }
        stream_step<Chunk> await_resume() {
            s_->note(*r_);
            return stream_step<Chunk>(std::move(*r_));
        }

      private:
        basic_stream* s_;
        std::coroutine_handle<> h_;
        std::optional<result<std::optional<Chunk>>> r_;
    };
    /// Awaitable form; see the file comment for what `co_await` gives.
    next_awaitable next() noexcept { return next_awaitable(this); }

    /// Stops the stream before its end (cancels and drains; see the file
    /// comment). Idempotent; the destructor calls it.
    void close() noexcept {
        if (!src_) return;
        std::unique_ptr<stream_source<Chunk>> src = std::move(src_);
        rows_at_close_ = src->rows();
        src->close([keep = std::move(keep_)]() mutable { keep.reset(); });
    }

    /// The error that ended the stream, or null (still running, or a clean end).
    const uvdb::error* error() const noexcept { return err_ ? &*err_ : nullptr; }
    /// The stream ended cleanly (every chunk was delivered).
    bool done() const noexcept { return ended_; }
    /// Rows delivered so far; for COPY TO STDOUT after the end, the server's row count.
    std::uint64_t rows() const noexcept { return src_ ? src_->rows() : rows_at_close_; }

  private:
    void note(const result<std::optional<Chunk>>& r) {
        if (!r) {
            err_ = r.error();
        } else if (!r->has_value()) {
            ended_ = true;
            rows_at_close_ = src_ ? src_->rows() : rows_at_close_;
            // Nothing left to drain: the connection is free now.
            keep_.reset();
        }
    }

    std::unique_ptr<stream_source<Chunk>> src_;
    std::shared_ptr<void> keep_;
    std::optional<uvdb::error> err_;
    bool ended_ = false;
    std::uint64_t rows_at_close_ = 0;
};

/// The rows of one statement, in chunks (each a result_set).
using row_stream = basic_stream<result_set>;
/// The data of a COPY … TO STDOUT, in chunks of raw COPY bytes (text, CSV or
/// binary, as the statement asked); rows() is the server's row count after the end.
using copy_stream = basic_stream<std::string>;

}  // namespace uvdb
