// connection_impl, streamed statements (see pg_stream.hpp): starting one,
// filling its chunks from libpq, back-pressure, the consumer's close (cancel
// and drain), timeouts and failures.
//
// A stream is an ordinary command at the front of the queue, sent with
// PQsendQueryParams as an unnamed statement and never through the statement
// cache: single-row mode must be switched on right after the send of a
// lone statement, which the cache's miss path (Parse + Bind in pipeline mode)
// does not give, and a statement worth streaming runs long enough that one
// Parse more is noise. COPY is never prepared either way.

#include <algorithm>
#include <charconv>
#include <cstring>
#include <uvdb/postgres/driver.hpp>

#include "pg_connection.hpp"

namespace uvdb::postgres::detail {

// ---------------------------------------------------------------- chunks of single-row results

std::size_t pg_rows_chunk::columns() const noexcept {
    return rows_.empty() ? 0 : static_cast<std::size_t>(PQnfields(rows_.front().get()));
}
std::string_view pg_rows_chunk::column_name(std::size_t col) const noexcept {
    const char* n = PQfname(rows_.front().get(), static_cast<int>(col));
    return n != nullptr ? std::string_view(n) : std::string_view{};
}
column_kind pg_rows_chunk::kind(std::size_t col) const noexcept {
    return kind_of_oid(type_id(col));
}
std::uint32_t pg_rows_chunk::type_id(std::size_t col) const noexcept {
    return static_cast<std::uint32_t>(PQftype(rows_.front().get(), static_cast<int>(col)));
}
std::string_view pg_rows_chunk::type_name(std::size_t col) const noexcept {
    return name_of_oid(type_id(col));
}
bool pg_rows_chunk::is_null(std::size_t row, std::size_t col) const noexcept {
    return PQgetisnull(rows_[row].get(), 0, static_cast<int>(col)) != 0;
}
std::string_view pg_rows_chunk::text(std::size_t row, std::size_t col) const noexcept {
    const PGresult* r = rows_[row].get();
    const int c = static_cast<int>(col);
    return {PQgetvalue(r, 0, c), static_cast<std::size_t>(PQgetlength(r, 0, c))};
}
result<bytes> pg_rows_chunk::binary(std::size_t row, std::size_t col) const {
    if (type_id(col) == oid::bytea && !is_null(row, col)) return decode_bytea(text(row, col));
    return result_source::binary(row, col);
}

namespace {

/// Hands `v` to the consumer's waiting callback on the loop, never inline:
/// unless the stream was closed meanwhile (its consumer may be gone).
template <class Chunk>
void post(const std::shared_ptr<stream_state>& st,
          typename stream_source<Chunk>::chunk_callback& waiter, result<std::optional<Chunk>> v) {
    st->loop.defer([st, cb = std::move(waiter), v = std::move(v)]() mutable {
        if (!st->closed) cb(std::move(v));
    });
    waiter = nullptr;
}

/// What the application holds: forwards to the connection, which owns the work.
template <class Chunk>
class pg_stream_source final : public stream_source<Chunk> {
  public:
    pg_stream_source(impl_ref conn, std::shared_ptr<stream_state> st) noexcept
        : conn_(std::move(conn)), st_(std::move(st)) {}
    ~pg_stream_source() override {
        if (!st_->closed) conn_->stream_close(st_, nullptr);
    }
    pg_stream_source(const pg_stream_source&) = delete;
    pg_stream_source& operator=(const pg_stream_source&) = delete;

    void next(typename stream_source<Chunk>::chunk_callback cb) override {
        auto& waiter = waiter_of(*st_);
        if (st_->closed || waiter) {
            typename stream_source<Chunk>::chunk_callback bad = std::move(cb);
            error e(errc::bad_input, st_->closed ? "the stream is closed"
                                                 : "next() called while an earlier next() waits");
            st_->loop.defer([bad = std::move(bad), e]() mutable { bad(e); });
            return;
        }
        waiter = std::move(cb);
        conn_->stream_asked(st_);
    }
    void close(unique_function<void()> drained) override {
        if (st_->closed) {
            if (drained) st_->loop.defer(std::move(drained));
            return;
        }
        conn_->stream_close(st_, std::move(drained));
    }
    std::uint64_t rows() const noexcept override {
        return st_->copy ? st_->copy_rows : st_->delivered;
    }

  private:
    static typename stream_source<Chunk>::chunk_callback& waiter_of(stream_state& st) {
        if constexpr (std::is_same_v<Chunk, std::string>) {
            return st.byte_waiter;
        } else {
            return st.row_waiter;
        }
    }
    impl_ref conn_;
    std::shared_ptr<stream_state> st_;
};

std::uint64_t count_of_tag(const PGresult* r) {
    const char* n = PQcmdTuples(const_cast<PGresult*>(r));  // NOLINT: libpq's signature; it reads
    std::uint64_t v = 0;
    if (n != nullptr) std::from_chars(n, n + std::strlen(n), v);
    return v;
}

}  // namespace

// ---------------------------------------------------------------- starting

std::unique_ptr<stream_source<result_set>> connection_impl::open_stream(
    std::string_view sql, params p, const stream_options& opts) {
    api_scope scope(*this);
    auto st = std::make_shared<stream_state>(loop_);
    st->chunk_rows = std::max<std::size_t>(opts.chunk_rows, 1);
    st->rows.reserve(std::min<std::size_t>(st->chunk_rows, 4096));
    start_stream(st, sql, std::move(p),
                 opts.timeout.count() >= 0 ? opts.timeout : opts_.query_timeout);
    return std::make_unique<pg_stream_source<result_set>>(impl_ref(this), std::move(st));
}

std::unique_ptr<stream_source<std::string>> connection_impl::open_copy_out(
    std::string_view sql, const stream_options& opts) {
    api_scope scope(*this);
    auto st = std::make_shared<stream_state>(loop_);
    st->copy = true;
    st->chunk_bytes = std::max<std::size_t>(opts.chunk_bytes, 1);
    st->reserve_bytes();
    start_stream(st, sql, params{}, opts.timeout.count() >= 0 ? opts.timeout : opts_.query_timeout);
    return std::make_unique<pg_stream_source<std::string>>(impl_ref(this), std::move(st));
}

void connection_impl::start_stream(const std::shared_ptr<stream_state>& st, std::string_view sql,
                                   params p, std::chrono::milliseconds timeout) {
    command c;
    c.kind = command_kind::query;
    c.stream = st;
    if (closed_ || broken_) {
        fail_stream_of(c, refused_operation_error(closed_, broken_reason_));
        return;
    }
    if (p.size() > max_params) {
        fail_stream_of(c, too_many_params(p.size()));
        return;
    }
    if (auto bad = nul_in_text(p)) {
        fail_stream_of(c, *bad);
        return;
    }
    c.timeout = timeout;
    c.args = std::move(p);
    enqueue(std::move(c), sql);
}

bool connection_impl::send_stream(command& c, const std::string& sql) {
    if (c.stream->copy) {
        return conn_.send_query_params(sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr);
    }
    binds_.bind(c.args);
    return conn_.send_query_params(sql.c_str(), binds_.count(), binds_.types(), binds_.values(),
                                   binds_.lengths(), binds_.formats()) &&
           PQsetSingleRowMode(conn_.native()) == 1;
}

// ---------------------------------------------------------------- the consumer's side

void connection_impl::stream_asked(const std::shared_ptr<stream_state>& st) {
    impl_ref keep(this);
    api_scope scope(*this);
    answer_stream(st);
    // Whatever it took, read on: the next chunk fills while the consumer
    // works on this one (one chunk ahead at most).
    if (!st->finished && phase_ == phase::ready && queue_.in_flight() &&
        queue_.front().stream == st) {
        resume_reading();
        drain_results();  // libpq may hold whole rows already: they never make the socket readable
    }
}

void connection_impl::stream_close(const std::shared_ptr<stream_state>& st,
                                   unique_function<void()> drained) {
    impl_ref keep(this);
    api_scope scope(*this);
    st->closed = true;
    st->row_waiter = nullptr;
    st->byte_waiter = nullptr;
    st->rows.clear();
    st->bytes.clear();
    if (st->finished) {
        // Ended already; a cancel of it may still be under way.
        if (drained) when_cancel_settled(std::move(drained));
        return;
    }
    st->drained = std::move(drained);
    // Not sent yet: it never runs.
    for (std::size_t i = 0; i < queue_.size(); ++i) {
        if (queue_[i].stream == st && !queue_[i].sent) {
            command c = queue_.remove(i);
            fail_stream_of(c, error(errc::cancelled, "the stream was closed before it ran"));
            return;
        }
    }
    if (phase_ != phase::ready || !queue_.in_flight() || queue_.front().stream != st) return;
    if (queue_.front().cancel == cancel_reason::none) {
        start_cancel(cancel_reason::user);
        if (phase_ != phase::ready) return;
    }
    resume_reading();
    drain_results();
}

void connection_impl::answer_stream(const std::shared_ptr<stream_state>& st) {
    if (st->closed) return;
    if (st->copy) {
        if (!st->byte_waiter) return;
        if (st->full() || (st->finished && !st->bytes.empty())) {
            std::string chunk = std::move(st->bytes);
            st->bytes = std::string();
            if (!st->finished) st->reserve_bytes();
            post<std::string>(st, st->byte_waiter, std::optional<std::string>(std::move(chunk)));
        } else if (st->finished) {
            post<std::string>(st, st->byte_waiter,
                              st->err ? result<std::optional<std::string>>(*st->err)
                                      : result<std::optional<std::string>>(std::nullopt));
        }
        return;
    }
    if (!st->row_waiter) return;
    if (st->full() || (st->finished && !st->rows.empty())) {
        st->delivered += st->rows.size();
        result_set chunk(std::make_unique<pg_rows_chunk>(std::move(st->rows)));
        st->rows = std::vector<pg_result_ptr>();
        st->rows.reserve(std::min<std::size_t>(st->chunk_rows, 4096));
        post<result_set>(st, st->row_waiter, std::optional<result_set>(std::move(chunk)));
    } else if (st->finished) {
        post<result_set>(st, st->row_waiter,
                         st->err ? result<std::optional<result_set>>(*st->err)
                                 : result<std::optional<result_set>>(std::nullopt));
    }
}

// ---------------------------------------------------------------- the connection's side

bool connection_impl::drain_stream(command& f) {
    const std::shared_ptr<stream_state> st = f.stream;  // finish_stream pops f
    for (;;) {
        if (phase_ != phase::ready) return false;
        if (!st->discarding() && st->full()) {
            if (!st->waiting()) {
                pause_reading();  // back-pressure: a full chunk nobody asked for
                return false;
            }
            answer_stream(st);
            continue;
        }
        if (f.copy_out) {
            char* buf = nullptr;
            const int n = conn_.get_copy_data_async(&buf);
            if (n > 0) {
                if (st->copy && !st->discarding())
                    st->bytes.append(buf, static_cast<std::size_t>(n));
                PQfreemem(buf);
                continue;
            }
            if (n == 0) return false;  // no whole row in libpq's buffer: wait for input
            f.copy_out = false;        // -1: the end; -2: an error, which the next result says
            continue;
        }
        // Never PQgetResult while busy: libpq would block for the rest.
        if (conn_.is_busy()) return false;
        pg_result_ptr r = conn_.get_result();
        if (!r) {
            finish_stream();
            return true;
        }
        take_stream_result(f, std::move(r));
    }
}

void connection_impl::take_stream_result(command& f, pg_result_ptr r) {
    stream_state& st = *f.stream;
    auto fail_once = [&](error e) {
        if (!st.err) st.err = std::move(e);
    };
    switch (PQresultStatus(r.get())) {
        case PGRES_SINGLE_TUPLE:
            if (!st.copy && !st.discarding() && !st.err) st.rows.push_back(std::move(r));
            break;
        case PGRES_TUPLES_OK:
            if (st.copy) {
                fail_once(error(errc::bad_input,
                                "copy_out() runs COPY … TO STDOUT; use stream() for a query"));
            }
            break;
        case PGRES_COMMAND_OK:
            if (st.copy) st.copy_rows = count_of_tag(r.get());
            break;
        case PGRES_EMPTY_QUERY:
            break;
        case PGRES_COPY_OUT:
            f.copy_out = true;  // read (and, for a row stream, dropped) before the next result
            if (!st.copy) {
                fail_once(
                    error(errc::bad_input, "stream() cannot run COPY TO STDOUT; use copy_out()"));
            }
            break;
        case PGRES_COPY_IN:
            fail_once(error(errc::bad_input,
                            "COPY FROM STDIN cannot run as a stream; copy_out() reads COPY TO "
                            "STDOUT"));
            conn_.put_copy_end("COPY FROM STDIN is not supported through a stream");
            after_send();
            break;
        case PGRES_FATAL_ERROR:
        case PGRES_BAD_RESPONSE:
        case PGRES_NONFATAL_ERROR: {
            const bool bad = conn_.status() == CONNECTION_BAD;
            error e = statement_error(r.get(), bad, f.cancel, f.timeout, ep_);
            if (e.is_fatal()) {
                broken_ = true;
                broken_reason_ = e;
            }
            fail_once(std::move(e));
            break;
        }
        default:
            fail_once(error(errc::protocol_error,
                            "the statement switched the connection into a mode uvdb does not "
                            "support (replication COPY or pipeline)")
                          .with_fatal(true));
            broken_ = true;
            broken_reason_ = *st.err;
            break;
    }
}

void connection_impl::finish_stream() {
    command c = queue_.pop_front();
    if (cancel_outstanding_ && cancels_->withdraw(cancel_job_)) cancel_outstanding_ = false;
    const std::shared_ptr<stream_state>& st = c.stream;
    st->finished = true;
    resume_reading();
    answer_stream(st);
    if (st->drained) when_cancel_settled(std::move(st->drained));
    if (phase_ != phase::ready) return;
    pump();
}

void connection_impl::stream_timed_out(command& f) {
    const std::shared_ptr<stream_state> st = f.stream;
    if (!st->err && !st->closed) {
        // Rows not yet taken are dropped: the consumer learns of the timeout
        // at its next next(), not after a backlog.
        st->err = error(errc::timeout, "the streamed statement did not finish within " +
                                           ms_text(f.timeout) +
                                           " (the consumer's time included) and was cancelled");
        st->rows.clear();
        st->bytes.clear();
    }
    st->timed_out = true;
    start_cancel(cancel_reason::timeout);
    if (phase_ != phase::ready) return;
    // The server cannot act on the cancel while it is blocked writing to us:
    // read on, dropping what comes, until the statement ends.
    resume_reading();
    drain_results();
}

void connection_impl::fail_stream_of(command& c, const error& e) {
    if (!c.stream) return;
    const std::shared_ptr<stream_state> st = c.stream;
    if (!st->err) st->err = e;
    st->finished = true;
    answer_stream(st);
    if (st->drained) loop_.defer(std::move(st->drained));
}

// ---------------------------------------------------------------- back-pressure

void connection_impl::pause_reading() {
    if (reading_paused_) return;
    reading_paused_ = true;
    watcher_.set_interest(flushing_ ? io_writable : io_none);
}

void connection_impl::resume_reading() {
    if (!reading_paused_) return;
    reading_paused_ = false;
    if (phase_ == phase::ready) watcher_.set_interest(io_readable | (flushing_ ? io_writable : 0U));
}

void connection_impl::when_cancel_settled(unique_function<void()> fn) {
    if (!cancel_outstanding_ || phase_ != phase::ready) {
        loop_.defer(std::move(fn));
        return;
    }
    cancel_settled_.push_back(std::move(fn));
}

void connection_impl::run_cancel_settled() {
    for (auto& fn : cancel_settled_) loop_.defer(std::move(fn));
    cancel_settled_.clear();
}

}  // namespace uvdb::postgres::detail
