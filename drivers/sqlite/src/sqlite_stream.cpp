// connection_impl, streamed statements (see sqlite_stream.hpp): opening one,
// stepping a chunk per request of the consumer, the consumer's close, the
// deadline, and the end that frees the connection.

#include "sqlite_stream.hpp"

#include <algorithm>
#include <utility>
#include <uvdb/offload.hpp>

#include "sqlite_connection.hpp"

namespace uvdb::sqlite::detail {

namespace {

/// Hands `v` to the consumer's waiting next() on the loop, never inline;
/// dropped when the stream was closed meanwhile (its consumer may be gone).
void post(const std::shared_ptr<stream_state>& st, result<std::optional<result_set>> v) {
    auto cb = std::move(st->waiter);
    st->waiter = nullptr;
    st->loop.defer([st, cb = std::move(cb), v = std::move(v)]() mutable {
        if (!st->closed) cb(std::move(v));
    });
}

/// What the application holds: forwards to the connection, which runs the steps.
class sqlite_stream_source final : public stream_source<result_set> {
  public:
    sqlite_stream_source(impl_ref conn, std::shared_ptr<stream_state> st) noexcept
        : conn_(std::move(conn)), st_(std::move(st)) {}
    ~sqlite_stream_source() override {
        if (!st_->closed) conn_->stream_close(st_, nullptr);
    }
    sqlite_stream_source(const sqlite_stream_source&) = delete;
    sqlite_stream_source& operator=(const sqlite_stream_source&) = delete;

    void next(chunk_callback cb) override {
        if (st_->closed || st_->waiter) {
            error e(errc::bad_input, st_->closed ? "the stream is closed"
                                                 : "next() called while an earlier next() waits");
            st_->loop.defer([cb = std::move(cb), e]() mutable { cb(e); });
            return;
        }
        st_->waiter = std::move(cb);
        if (st_->finished) {
            answer_finished(st_);
            return;
        }
        conn_->stream_asked(st_);
    }
    void close(unique_function<void()> drained) override {
        if (st_->closed) {
            if (drained) st_->loop.defer(std::move(drained));
            return;
        }
        conn_->stream_close(st_, std::move(drained));
    }
    std::uint64_t rows() const noexcept override { return st_->delivered; }

  private:
    impl_ref conn_;
    std::shared_ptr<stream_state> st_;
};

}  // namespace

void answer_finished(const std::shared_ptr<stream_state>& st) {
    if (!st->waiter || st->closed) return;
    post(st, st->err ? result<std::optional<result_set>>(*st->err)
                     : result<std::optional<result_set>>(std::nullopt));
}

void fail_stream(const std::shared_ptr<stream_state>& st, const error& e) {
    if (!st->err) st->err = e;
    st->finished = true;
    answer_finished(st);
    if (st->drained) {
        st->loop.defer(std::move(st->drained));
        st->drained = nullptr;
    }
}

// ---------------------------------------------------------------- the consumer's side

std::unique_ptr<stream_source<result_set>> connection_impl::open_stream(
    std::string_view sql, params p, const stream_options& opts) {
    auto st = std::make_shared<stream_state>(loop_);
    auto in = std::make_shared<stream_input>();
    in->sql.assign(sql);
    in->args = std::move(p);
    in->chunk_rows = std::max<std::size_t>(opts.chunk_rows, 1);
    st->input = std::move(in);
    command c;
    c.kind = command_kind::stream;
    c.stream = st;
    c.timeout = opts.timeout.count() >= 0 ? opts.timeout : query_timeout_;
    enqueue(std::move(c));  // a refusal fails the stream: its first next() says why
    return std::make_unique<sqlite_stream_source>(impl_ref(this), std::move(st));
}

void connection_impl::stream_asked(const std::shared_ptr<stream_state>& st) {
    impl_ref keep(this);
    // Queued: start_job steps it once it is at the front. A job running:
    // it answers. Otherwise the statement waits for exactly this request.
    if (running_ && running_->stream == st && !job_running_ && !closed_) {
        start_stream_step(*running_, !st->prepared);
    }
}

void connection_impl::stream_close(const std::shared_ptr<stream_state>& st,
                                   unique_function<void()> drained) {
    impl_ref keep(this);
    st->closed = true;
    st->waiter = nullptr;
    if (st->finished) {
        if (drained) loop_.defer(std::move(drained));
        return;
    }
    st->drained = std::move(drained);
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if (it->stream == st) {
            queue_.erase(it);  // never ran
            fail_stream(st, error(errc::cancelled, "the stream was closed before it ran"));
            return;
        }
    }
    if (!running_ || running_->stream != st || job_running_) return;  // the job's end finalizes
    finalize_stream(*running_);
}

// ---------------------------------------------------------------- the connection's side

void connection_impl::start_stream_step(command& c, bool first) {
    const std::shared_ptr<stream_state> st = c.stream;
    if (!st->waiter) {
        // Back-pressure: nothing is stepped until the consumer asks.
        job_running_ = false;
        return;
    }
    job_running_ = true;
    st->prepared = true;
    db_state* dbs = db_.get();
    offload_result(
        loop_, [dbs, in = st->input, first]() { return step_stream(*dbs, in, first); },
        [self = impl_ref(this)](job_outcome<stream_chunk> o) {
            self->on_stream_step(std::move(o));
        });
}

void connection_impl::on_stream_step(job_outcome<stream_chunk> out) {
    job_running_ = false;
    if (closed_) {
        close_handle();  // close() answered the consumer already
        return;
    }
    in_transaction_ = !out.autocommit;
    command& c = *running_;
    const std::shared_ptr<stream_state> st = c.stream;
    stream_chunk ch = std::move(*out.value);
    if (st->closed) {
        // Dropped while this chunk was stepped: nobody reads the rest.
        if (ch.done) {
            end_stream();
        } else {
            finalize_stream(c);
        }
        return;
    }
    if (ch.err && !st->err) st->err = explain_stop(c, std::move(*ch.err));
    if (ch.rows && !ch.rows->empty()) {
        // The rows before an error go first; the error answers the next next().
        st->delivered += ch.rows->size();
        post(st, std::optional<result_set>(std::move(*ch.rows)));
    }
    if (!ch.done) return;  // the statement waits, prepared, for the next request
    if (st->err && st->err->is_fatal()) break_connection(*st->err);
    end_stream();
}

void connection_impl::finalize_stream(command& /*c*/) {
    job_running_ = true;
    db_state* dbs = db_.get();
    offload_result(
        loop_, [dbs]() { return end_stream_statement(*dbs); },
        [self = impl_ref(this)](job_outcome<void> o) {
            self->job_running_ = false;
            if (self->closed_) {
                self->close_handle();
                return;
            }
            self->in_transaction_ = !o.autocommit;
            self->end_stream();
        });
}

void connection_impl::end_stream() {
    timer_.stop();
    const std::shared_ptr<stream_state> st = running_->stream;
    running_.reset();
    st->finished = true;
    answer_finished(st);
    if (st->drained) {
        loop_.defer(std::move(st->drained));
        st->drained = nullptr;
    }
    if (broken_ && !closed_) {
        close_handle();
        return;
    }
    pump();
}

void connection_impl::stream_deadline() {
    command& c = *running_;
    c.stop = stop_reason::deadline;
    // The consumer held the stream past its deadline: the rest is dropped and
    // its next next() gets the timeout.
    if (!c.stream->err) {
        c.stream->err = error(errc::timeout, "the streamed statement did not finish within " +
                                                 std::to_string(c.timeout.count()) +
                                                 " ms (the consumer's time included) and was "
                                                 "ended; the connection is still usable");
    }
    finalize_stream(c);
}

}  // namespace uvdb::sqlite::detail
