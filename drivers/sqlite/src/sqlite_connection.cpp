// connection_impl: the loop side of an SQLite connection (see the header for
// the lifetime rules, <uvdb/sqlite/driver.hpp> for the behaviour).

#include "sqlite_connection.hpp"

#include <algorithm>
#include <uvdb/offload.hpp>

#include "sqlite_error.hpp"
#include "sqlite_stream.hpp"

namespace uvdb::sqlite::detail {

using std::chrono::milliseconds;

namespace {

std::string ms_text(milliseconds d) { return std::to_string(d.count()) + " ms"; }

error closed_error() {
    return error(errc::closed, "the connection was closed before the operation completed");
}

}  // namespace

connection_impl::connection_impl(event_loop& loop, open_settings settings,
                                 const connect_options& opts, driver::connect_callback on_connected)
    : loop_(loop),
      timer_(loop),
      settings_(std::move(settings)),
      connect_timeout_(opts.connect_timeout),
      query_timeout_(opts.query_timeout),
      on_connected_(std::move(on_connected)) {}

connection_impl::~connection_impl() {
    // Only reached with the handle still open when the loop was destroyed
    // before our close job could run (its completion was dropped unrun, so no
    // job uses the handle now). Closing here may touch the disk; the loop is
    // gone, so nothing is left to block.
    close_db(*db_);
}

// ---------------------------------------------------------------- delivery

/// Completes `c` with `e` later on the loop (used where we may be inside an
/// application call: callbacks never run inline).
static void defer_error(event_loop& loop, command&& c, error e) {
    loop.defer([p = std::move(c.completion), e = std::move(e)]() mutable { p.fail(e); });
}

// ---------------------------------------------------------------- connect

void connection_impl::start_connect() {
    if (connect_timeout_.count() > 0) {
        timer_.start(connect_timeout_, [this] {
            impl_ref keep(this);
            on_connect_deadline();
        });
    }
    job_running_ = true;
    db_state* st = db_.get();
    offload_result(
        loop_, [st, s = settings_]() { return open_db(s, *st); },
        [self = impl_ref(this)](result<void> r) { self->on_opened(std::move(r)); });
}

void connection_impl::on_opened(result<void> r) {
    job_running_ = false;
    if (closed_ || phase_ != phase::opening) {
        close_handle();  // closed or timed out meanwhile: the caller was told already
        return;
    }
    timer_.stop();
    if (!r) {
        phase_ = phase::failed;
        broken_ = true;
        broken_reason_ = std::move(r).err();
        if (auto cb = std::move(on_connected_)) cb(result<void>(broken_reason_));
        fail_queue(broken_reason_);
        return;
    }
    phase_ = phase::ready;
    if (auto cb = std::move(on_connected_)) cb(result<void>());
    pump();
}

void connection_impl::on_connect_deadline() {
    if (phase_ != phase::opening || closed_) return;
    phase_ = phase::failed;
    broken_ = true;
    broken_reason_ =
        error(errc::timeout, "opening the SQLite database " + settings_.where() +
                                 " took longer than "
                                 "connect_timeout (" +
                                 ms_text(connect_timeout_) +
                                 "); the threadpool may be busy with long statements (raise "
                                 "UV_THREADPOOL_SIZE) or the file system is slow")
            .with_fatal(true);
    if (auto cb = std::move(on_connected_)) cb(result<void>(broken_reason_));
    fail_queue(broken_reason_);
}

// ---------------------------------------------------------------- API

void connection_impl::query(std::string_view sql, params p, const query_options& opts,
                            connection::query_callback cb) {
    command c;
    c.kind = command_kind::query;
    c.sql.assign(sql);
    c.args = std::move(p);
    c.timeout = opts.timeout.count() >= 0 ? opts.timeout : query_timeout_;
    c.completion = std::move(cb);
    enqueue(std::move(c));
}

void connection_impl::execute(std::string_view script, const query_options& opts,
                              connection::script_callback cb) {
    command c;
    c.kind = command_kind::execute;
    c.sql.assign(script);
    c.timeout = opts.timeout.count() >= 0 ? opts.timeout : query_timeout_;
    c.completion = std::move(cb);
    enqueue(std::move(c));
}

void connection_impl::ping(milliseconds deadline, connection::done_callback cb) {
    command c;
    c.kind = command_kind::ping;
    c.timeout = std::max(deadline, milliseconds{0});
    c.completion = std::move(cb);
    enqueue(std::move(c));
}

void connection_impl::reset(connection::done_callback cb) {
    command c;
    c.kind = command_kind::reset;
    c.timeout = query_timeout_;
    c.completion = std::move(cb);
    if (!closed_ && !broken_ && (!queue_.empty() || running_)) {
        // Rolling back under a running statement would race it; the
        // connection cannot be trusted with a new user.
        break_connection(error(errc::bad_input,
                               "connection returned with a statement still running; it was "
                               "marked broken and must be closed")
                             .with_fatal(true));
        defer_error(loop_, std::move(c), broken_reason_);
        return;
    }
    if (phase_ == phase::ready && !broken_ && !in_transaction_) {
        loop_.defer([p = std::move(c.completion)]() mutable {
            p.complete(result<void>());  // nothing to undo: no job
        });
        return;
    }
    enqueue(std::move(c));
}

void connection_impl::cancel() {
    if (running_ && running_->stop == stop_reason::none) interrupt(stop_reason::user);
}

void connection_impl::close() {
    if (closed_) return;
    impl_ref keep(this);
    if (running_) {
        interrupt(stop_reason::user);  // so the job comes back soon
        fail_command(std::move(*running_), closed_error());
        running_.reset();
    }
    closed_ = true;
    broken_ = true;
    phase_ = phase::closed;
    timer_.close();
    // Always deferred: close() may run inside one of our callbacks or a destructor.
    if (on_connected_) {
        loop_.defer(
            [cb = std::move(on_connected_)]() mutable { cb(result<void>(closed_error())); });
        on_connected_ = nullptr;
    }
    for (command& c : queue_) fail_command(std::move(c), closed_error());
    queue_.clear();
    if (!job_running_) close_handle();
}

tx_status connection_impl::transaction_status() const noexcept {
    if (phase_ != phase::ready || broken_) return tx_status::unknown;
    return in_transaction_ ? tx_status::in_transaction : tx_status::idle;
}

std::string connection_impl::describe() const {
    std::string out = "sqlite " + settings_.where();
    switch (phase_) {
        case phase::opening:
            out += " (opening)";
            break;
        case phase::ready:
            out += broken_ ? " (broken)" : "";
            break;
        case phase::failed:
            out += " (failed)";
            break;
        case phase::closed:
            out += " (closed)";
            break;
    }
    return out;
}

// ---------------------------------------------------------------- running

void connection_impl::enqueue(command&& c) {
    if (closed_ || broken_) {
        fail_command(std::move(c), refused_operation_error(closed_, broken_reason_));
        return;
    }
    if (c.timeout.count() > 0) c.deadline = loop_.now() + c.timeout;
    queue_.push_back(std::move(c));
    pump();
}

void connection_impl::pump() {
    // `running_` without a job: a stream waiting for its consumer holds the connection.
    while (!job_running_ && !running_ && phase_ == phase::ready && !broken_ && !queue_.empty()) {
        command& c = queue_.front();
        if (c.timeout.count() > 0 && loop_.update_time() >= c.deadline) {
            command late = std::move(c);
            queue_.pop_front();
            fail_command(std::move(late), error(errc::timeout,
                                                "the statement waited in the connection's queue "
                                                "longer than its deadline (" +
                                                    ms_text(late.timeout) + ") and was not run"));
            continue;
        }
        running_ = std::move(c);
        queue_.pop_front();
        start_job(*running_);
    }
}

void connection_impl::start_job(command& c) {
    job_running_ = true;
    db_->interrupted.store(false, std::memory_order_release);
    if (c.timeout.count() > 0) {
        auto left = std::chrono::duration_cast<milliseconds>(c.deadline - loop_.now());
        timer_.start(std::max(left, milliseconds{0}), [this] {
            impl_ref keep(this);
            on_deadline();
        });
    }
    db_state* st = db_.get();
    impl_ref self(this);
    switch (c.kind) {
        case command_kind::query:
            offload_result(
                loop_,
                [st, sql = std::move(c.sql), args = std::move(c.args)]() {
                    return run_query(*st, sql, args);
                },
                [self](job_outcome<result_set> o) { self->on_job_done(std::move(o)); });
            break;
        case command_kind::execute:
            offload_result(
                loop_, [st, sql = std::move(c.sql)]() { return run_script(*st, sql); },
                [self](job_outcome<std::vector<result_set>> o) {
                    self->on_job_done(std::move(o));
                });
            break;
        case command_kind::ping:
            // Reads the header from the file: a damaged or replaced file shows here.
            offload_result(
                loop_, [st]() { return run_simple(*st, "PRAGMA schema_version", "ping"); },
                [self](job_outcome<void> o) { self->on_job_done(std::move(o)); });
            break;
        case command_kind::stream:
            start_stream_step(c, true);  // sqlite_stream.cpp: steps only once asked
            break;
        case command_kind::reset:
            offload_result(
                loop_,
                [st]() {
                    if (sqlite3_get_autocommit(st->db) != 0)
                        return job_outcome<void>{result<void>(), true};
                    return run_simple(*st, "ROLLBACK", "ROLLBACK");
                },
                [self](job_outcome<void> o) { self->on_job_done(std::move(o)); });
            break;
    }
}

template <class T>
void connection_impl::on_job_done(job_outcome<T> out) {
    job_running_ = false;
    if (closed_) {
        close_handle();  // every callback was completed by close()
        return;
    }
    timer_.stop();
    in_transaction_ = !out.autocommit;
    command c = std::move(*running_);
    running_.reset();
    if (out.value) {
        c.completion.complete(std::move(out.value));
    } else {
        error e = std::move(out.value).err();
        // Our own interrupt shows as SQLITE_INTERRUPT (or SQLITE_BUSY when it
        // ended a wait for a lock): say which request caused it.
        e = explain_stop(c, std::move(e));
        if (c.kind == command_kind::reset) e.with_fatal(true);  // cannot vouch for the session
        if (e.is_fatal()) break_connection(e);
        c.completion.fail(e);
    }
    if (broken_ && !closed_) {
        close_handle();  // broken meanwhile (fatal error, or reset() under this statement)
        return;
    }
    pump();
}

error connection_impl::explain_stop(const command& c, error e) const {
    if (c.stop == stop_reason::none || e.is_fatal() ||
        (e.value() != errc::cancelled && e.value() != errc::timeout)) {
        return e;
    }
    error why = c.stop == stop_reason::user
                    ? error(errc::cancelled,
                            "the statement was cancelled; the connection "
                            "is still usable")
                    : error(errc::timeout, "the statement ran longer than its deadline (" +
                                               ms_text(c.timeout) +
                                               ") and was interrupted; the connection is "
                                               "still usable");
    why.with_server_text(e.server_message());
    return why;
}

void connection_impl::on_deadline() {
    if (!running_ || running_->stop != stop_reason::none) return;
    if (running_->stream && !job_running_) {
        stream_deadline();  // nothing is stepping: the consumer holds the time
        return;
    }
    interrupt(stop_reason::deadline);
}

void connection_impl::interrupt(stop_reason why) {
    running_->stop = why;
    db_->interrupted.store(true, std::memory_order_release);
    // Thread-safe by SQLite's documentation while the handle is open; it is:
    // only a close job (which never overlaps a statement job) closes it.
    sqlite3_interrupt(db_->db);
}

void connection_impl::break_connection(const error& e) {
    if (broken_) return;
    broken_ = true;
    broken_reason_ = e;
    phase_ = phase::failed;
    timer_.stop();
    error rest = error(errc::connection_lost,
                       "the statement was not run: the connection broke: " + e.message())
                     .with_fatal(true);
    fail_queue(rest);
    if (!job_running_) close_handle();
}

void connection_impl::fail_queue(const error& e) {
    // The running statement (if any) is completed by its job's result.
    std::deque<command> waiting = std::move(queue_);
    queue_.clear();
    for (command& c : waiting) fail_command(std::move(c), e);
}

void connection_impl::fail_command(command&& c, const error& e) {
    if (c.stream) {
        fail_stream(c.stream, e);
        return;
    }
    defer_error(loop_, std::move(c), e);
}

void connection_impl::close_handle() {
    // Reading db_->db is safe: no job runs (callers check job_running_).
    if (job_running_ || db_->db == nullptr) return;
    job_running_ = true;
    db_state* st = db_.get();
    offload(
        loop_, [st]() { close_db(*st); },
        [self = impl_ref(this)]() { self->job_running_ = false; });
}

}  // namespace uvdb::sqlite::detail
