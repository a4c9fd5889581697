// connection_impl: the command queue and the query path — send, flush, read,
// deadlines, cancellation, failure and close. The connect phase is in
// pg_connect.cpp.

#include "pg_connection.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include <uvdb/log.hpp>

namespace uvdb::postgres::detail {

using std::chrono::milliseconds;

connection_impl::connection_impl(event_loop& loop, std::shared_ptr<cancel_limiter> cancels,
                                 const connect_options& opts, driver::connect_callback on_connected)
    : loop_(loop),
      cancels_(std::move(cancels)),
      timer_(loop),
      opts_(opts),
      on_connected_(std::move(on_connected)) {}

connection_impl::~connection_impl() { teardown_io(); }

// ---------------------------------------------------------------- API

void connection_impl::query(std::string_view sql, params p, const query_options& opts,
                            connection::query_callback cb) {
    api_scope scope(*this);
    if (p.size() > max_params) {
        deliver_to(cb, result<result_set>(too_many_params(p.size())));
        return;
    }
    if (auto bad = nul_in_text(p)) {
        deliver_to(cb, result<result_set>(std::move(*bad)));
        return;
    }
    command c;
    c.kind = command_kind::query;
    c.timeout = opts.timeout.count() >= 0 ? opts.timeout : opts_.query_timeout;
    c.args = std::move(p);
    c.callback = std::move(cb);
    enqueue(std::move(c), sql);
}

void connection_impl::execute(std::string_view script, const query_options& opts,
                              connection::script_callback cb) {
    api_scope scope(*this);
    command c;
    c.kind = command_kind::execute;
    c.timeout = opts.timeout.count() >= 0 ? opts.timeout : opts_.query_timeout;
    c.callback = std::move(cb);
    enqueue(std::move(c), script);
}

void connection_impl::ping(milliseconds deadline, connection::done_callback cb) {
    api_scope scope(*this);
    command c;
    c.kind = command_kind::ping;
    c.timeout = std::max(deadline, milliseconds{0});
    c.callback = std::move(cb);
    enqueue(std::move(c), {});
}

void connection_impl::reset(connection::done_callback cb) {
    api_scope scope(*this);
    if (!closed_ && !broken_ && (!queue_.empty() || cancel_outstanding_)) {
        // Rolling back under a running statement would race it; the connection
        // cannot be trusted with a new user.
        broken_ = true;
        broken_reason_ = error(errc::bad_input,
                               "connection returned with a query still running; it was marked "
                               "broken and must be closed")
                             .with_fatal(true);
        deliver_to(cb, result<void>(broken_reason_));
        return;
    }
    if (phase_ == phase::ready && !broken_ && conn_.transaction_status() == PQTRANS_IDLE) {
        deliver_to(cb, result<void>());  // nothing to undo: no round trip
        return;
    }
    command c;
    c.kind = command_kind::reset;
    c.timeout = opts_.query_timeout;
    c.callback = std::move(cb);
    enqueue(std::move(c), "ROLLBACK");
}

void connection_impl::cancel() {
    api_scope scope(*this);
    if (phase_ == phase::ready && queue_.in_flight() && queue_.front().cancel == cancel_reason::none) {
        start_cancel(cancel_reason::user);
    }
}

void connection_impl::close() {
    if (closed_) return;
    impl_ref keep(this);
    closed_ = true;
    broken_ = true;
    phase_ = phase::closed;
    teardown_io();
    // Always deferred: close() may run inside one of our callbacks or a destructor.
    const error e = error(errc::closed, "the connection was closed before the operation completed");
    if (on_connected_) {
        loop_.defer([cb = std::move(on_connected_), e]() mutable { cb(result<void>(e)); });
        on_connected_ = nullptr;
    }
    for (command& c : queue_.take_all()) {
        with_error(c, e, [this](auto& cb, auto&& r) {
            loop_.defer([cb = std::move(cb), r = std::move(r)]() mutable { cb(std::move(r)); });
        });
    }
}

tx_status connection_impl::transaction_status() const noexcept {
    if (phase_ != phase::ready || !conn_) return tx_status::unknown;
    switch (conn_.transaction_status()) {
    case PQTRANS_IDLE: return tx_status::idle;
    case PQTRANS_INTRANS: return tx_status::in_transaction;
    case PQTRANS_INERROR: return tx_status::failed_transaction;
    default: return tx_status::unknown;
    }
}

std::string connection_impl::describe() const {
    std::string out = ep_.where();
    out += '/';
    out += ep_.db;
    switch (phase_) {
    case phase::resolving:
    case phase::connecting: out += " (connecting)"; break;
    case phase::ready: out += " pid " + std::to_string(pid_); break;
    case phase::failed: out += pid_ != 0 ? " pid " + std::to_string(pid_) + " (broken)" : " (failed)"; break;
    case phase::closed: out += " (closed)"; break;
    }
    return out;
}

// ---------------------------------------------------------------- sending

void connection_impl::enqueue(command&& c, std::string_view sql) {
    if (closed_ || broken_) {
        error e = closed_ ? error(errc::closed, "the connection is closed")
                          : error(errc::connection_lost, "the statement was not run: the connection broke earlier: " +
                                                             broken_reason_.message())
                                .with_fatal(true);
        if (!closed_ && !broken_reason_.sqlstate().empty()) e.with_sqlstate(broken_reason_.sqlstate());
        with_error(c, e, [this](auto& cb, auto&& r) { deliver_to(cb, std::move(r)); });
        return;
    }
    c.seq = queue_.next_seq();
    if (c.has_deadline()) c.deadline = loop_.now() + c.timeout;
    const bool deadline = c.has_deadline();
    if (queue_.empty() && can_send()) {
        // The common case sends at once, straight from the caller's SQL: the
        // queue entry never owns a copy of it.
        queue_.push_back(std::move(c));
        sql_buf_.assign(sql);  // libpq needs NUL termination; the buffer keeps its capacity
        if (!send_front(sql_buf_)) return;
    } else {
        c.sql.assign(sql);
        queue_.push_back(std::move(c));
    }
    if (deadline) arm_deadlines();
}

bool connection_impl::can_send() const noexcept {
    return phase_ == phase::ready && !broken_ && !cancel_outstanding_ && !queue_.in_flight();
}

bool connection_impl::send_front(const std::string& sql) {
    command& c = queue_.front();
    c.sent = true;
    bool ok = false;
    if (c.kind == command_kind::query) {
        binds_.bind(c.args);  // the count was checked in query()
        // A statement in a failed transaction would fail its Parse too: no
        // point preparing it then.
        if (stmts_.enabled() && conn_.transaction_status() != PQTRANS_INERROR && !uncacheable(sql)) {
            if (const statement_cache::entry* e = stmts_.find(sql, binds_.types(), binds_.count())) {
                c.stmt = e->name;  // Bind + Execute only: no Parse, no planning
                ok = conn_.send_query_prepared(e->name.c_str(), binds_.count(), binds_.values(),
                                               binds_.lengths(), binds_.formats());
            } else {
                ok = send_with_prepare(c, sql);
            }
        } else {
            ok = conn_.send_query_params(sql.c_str(), binds_.count(), binds_.types(), binds_.values(),
                                         binds_.lengths(), binds_.formats());
        }
    } else {
        ok = conn_.send_query(sql.c_str());
    }
    if (!ok) {
        send_failed();
        return false;
    }
    after_send();
    return phase_ == phase::ready;
}

bool connection_impl::send_with_prepare(command& c, const std::string& sql) {
    // Outside pipeline mode libpq sends one command and waits for its
    // results; inside it, Parse and Bind/Execute leave in one write and the
    // miss costs no extra round trip. Statements the cache gave up on are
    // deallocated behind it, each after its own Sync so that a failure there
    // (a name the server dropped already) touches nothing else.
    const statement_cache::entry& e = stmts_.insert(sql, binds_.types(), binds_.count());
    c.stmt = e.name;
    c.part = 0;
    c.syncs_left = 1;
    if (!conn_.enter_pipeline()) return false;
    bool ok = conn_.send_prepare(e.name.c_str(), sql.c_str(), binds_.count(), binds_.types()) &&
              conn_.send_query_prepared(e.name.c_str(), binds_.count(), binds_.values(), binds_.lengths(),
                                        binds_.formats()) &&
              conn_.pipeline_sync();
    auto& closing = stmts_.to_close();
    while (ok && !closing.empty() && c.syncs_left < 9) {
        deallocate_sql_.assign("DEALLOCATE ");
        deallocate_sql_ += closing.back();  // our own name: nothing to quote
        closing.pop_back();
        ok = conn_.send_query_params(deallocate_sql_.c_str(), 0, nullptr, nullptr, nullptr, nullptr) &&
             conn_.pipeline_sync();
        ++c.syncs_left;
    }
    return ok;
}

void connection_impl::send_failed() {
    const std::string reason = libpq_reason(conn_.error_message());
    if (conn_.status() == CONNECTION_BAD) {
        fail_connection(connection_lost(conn_.error_message(), ep_, fatal_notice_state_, fatal_notice_text_));
    } else {
        fail_connection(error(errc::internal, "libpq could not send the statement (" + reason + ")")
                            .with_fatal(true));
    }
}

void connection_impl::after_send() {
    const int r = conn_.flush();
    if (r < 0) {
        fail_connection(connection_lost(conn_.error_message(), ep_, fatal_notice_state_, fatal_notice_text_));
    } else if (r == 1) {
        // The socket took only part: finish on writable, and keep reading so a
        // server that talks while we write (notices) never deadlocks us.
        flushing_ = true;
        watcher_.set_interest(io_readable | io_writable);
    } else {
        flushing_ = false;
    }
}

void connection_impl::pump() {
    while (!closed_ && !queue_.empty() && !queue_.in_flight()) {
        if (broken_ && phase_ == phase::ready && !cancel_outstanding_) {
            // Broken while these waited (a FATAL notice, a misuse): they will never run.
            fail_all(queue_.take_all(), error{},
                     error(errc::connection_lost,
                           "the statement was not run: the connection broke before its turn")
                         .with_fatal(true));
            return;
        }
        if (!can_send()) break;
        command& f = queue_.front();
        if (f.has_deadline() && f.deadline <= loop_.now()) {
            command x = queue_.pop_front();
            with_error(x,
                       error(errc::timeout, "the statement waited " + ms_text(x.timeout) +
                                                " for its turn on the connection and was not run"),
                       [this](auto& cb, auto&& r) { deliver_to(cb, std::move(r)); });
            continue;
        }
        if (f.kind == command_kind::reset && conn_.transaction_status() == PQTRANS_IDLE) {
            command x = queue_.pop_front();
            deliver_to(std::get<connection::done_callback>(x.callback), result<void>());
            continue;
        }
        const std::string sql = std::move(f.sql);  // the text must outlive the send call only
        if (!send_front(sql)) return;
        break;  // one statement in flight at a time (a cache miss pipelines only its own Parse + Bind)
    }
    arm_deadlines();
}

// ---------------------------------------------------------------- I/O

void connection_impl::on_io(unsigned events) {
    impl_ref keep(this);
    if (phase_ == phase::connecting) {
        connect_step();
        return;
    }
    if (phase_ != phase::ready) return;
    if ((events & (io_readable | io_error)) != 0) {
        on_readable();
        // Reading may have completed callbacks that closed us, or found the
        // connection dead: never go on to write on a torn-down connection.
        if (phase_ != phase::ready) return;
    }
    if ((events & io_writable) != 0) on_writable();
}

void connection_impl::on_writable() {
    if (!flushing_) {
        watcher_.set_interest(io_readable);
        return;
    }
    const int r = conn_.flush();
    if (r < 0) {
        fail_connection(connection_lost(conn_.error_message(), ep_, fatal_notice_state_, fatal_notice_text_));
    } else if (r == 0) {
        flushing_ = false;
        watcher_.set_interest(io_readable);
    }
}

void connection_impl::on_readable() {
    if (!conn_.consume_input()) {
        // libpq keeps what it read before the socket ended: a FATAL sent just
        // before the close (57P01 from pg_terminate_backend) is parsed here,
        // so the statement's caller gets the server's SQLSTATE and words.
        drain_results();
        if (phase_ != phase::ready) return;
        fail_connection(connection_lost(conn_.error_message(), ep_, fatal_notice_state_, fatal_notice_text_));
        return;
    }
    drain_results();
    // libpq takes from a TLS record only what fits its input buffer; the rest
    // stays decrypted inside OpenSSL and never makes the socket readable
    // again. PostgreSQL's own records always fit, but proxies speaking its
    // protocol send 16 kB records: read on while OpenSSL holds data.
    while (phase_ == phase::ready && queue_.in_flight() && conn_.tls_pending()) {
        if (!conn_.consume_input()) {
            fail_connection(connection_lost(conn_.error_message(), ep_, fatal_notice_state_, fatal_notice_text_));
            return;
        }
        drain_results();
    }
    if (phase_ != phase::ready) return;
    if (!queue_.in_flight()) {
        // LISTEN is not supported yet; do not let notifications pile up.
        while (PGnotify* n = conn_.notifies()) PQfreemem(n);
        if (conn_.status() == CONNECTION_BAD) {
            fail_connection(connection_lost(conn_.error_message(), ep_, fatal_notice_state_, fatal_notice_text_));
        }
    }
}

void connection_impl::drain_results() {
    while (phase_ == phase::ready && queue_.in_flight()) {
        command& f = queue_.front();
        if (f.copy_out) {
            char* buf = nullptr;
            int n = 0;
            while ((n = conn_.get_copy_data_async(&buf)) > 0) PQfreemem(buf);
            if (n == 0) break;  // more rows to come
            f.copy_out = false;
        }
        // Never PQgetResult while busy: libpq would block for the rest.
        if (conn_.is_busy()) break;
        PGresult* r = conn_.get_result();
        if (f.syncs_left > 0) {
            // Pipeline mode (a cache miss): a null result ends one statement's
            // results, and the command ends with its last Sync.
            if (r == nullptr) {
                if (conn_.status() == CONNECTION_BAD) {
                    if (!f.failed) {
                        f.failed = true;
                        f.err = connection_lost(conn_.error_message(), ep_, fatal_notice_state_, fatal_notice_text_);
                    }
                    f.syncs_left = 0;
                    finish_front();
                    continue;
                }
                ++f.part;
                continue;
            }
            if (PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
                absorb_pipelined(f, r);
                continue;
            }
            PQclear(r);
            if (--f.syncs_left != 0) continue;
            if (!conn_.exit_pipeline()) {
                fail_connection(error(errc::internal, "libpq did not leave pipeline mode after a prepared "
                                                      "statement (" + libpq_reason(conn_.error_message()) + ")")
                                    .with_fatal(true));
                return;
            }
            finish_front();
            continue;
        }
        if (r == nullptr) {
            if (f.failed && !f.stmt.empty() && retry_stale(f)) continue;
            finish_front();
            continue;
        }
        absorb(f, r);
    }
}

void connection_impl::absorb(command& c, PGresult* r) {
    const ExecStatusType st = PQresultStatus(r);
    switch (st) {
    case PGRES_TUPLES_OK:
    case PGRES_COMMAND_OK:
    case PGRES_SINGLE_TUPLE:
    case PGRES_EMPTY_QUERY:
        // DISCARD ALL and DEALLOCATE ALL drop every prepared statement on the
        // server, ours included.
        if (st == PGRES_COMMAND_OK && drops_prepared_statements(PQcmdStatus(r))) stmts_.clear();
        if (c.failed) {
            PQclear(r);
        } else if (c.kind == command_kind::execute) {
            if (st == PGRES_EMPTY_QUERY) {
                PQclear(r);
            } else {
                c.results.emplace_back(std::make_unique<pg_result>(r));
            }
        } else {
            c.last.reset(r);  // a statement has one result; should more come, the last wins
        }
        break;
    case PGRES_COPY_IN:
        PQclear(r);
        if (!c.failed) {
            c.failed = true;
            c.err = error(errc::bad_input, "COPY FROM STDIN is not supported by uvdb; use INSERT with parameters");
        }
        conn_.put_copy_end("COPY FROM STDIN is not supported by this client");
        after_send();
        break;
    case PGRES_COPY_OUT:
        PQclear(r);
        if (!c.failed) {
            c.failed = true;
            c.err = error(errc::bad_input, "COPY TO STDOUT is not supported by uvdb; use SELECT");
        }
        c.copy_out = true;
        break;
    case PGRES_FATAL_ERROR:
    case PGRES_BAD_RESPONSE:
    case PGRES_NONFATAL_ERROR:
        if (!c.failed) {
            c.failed = true;
            c.err = statement_error(r, conn_.status() == CONNECTION_BAD, c.cancel, c.timeout, ep_);
            if (c.err.is_fatal()) {
                broken_ = true;
                broken_reason_ = c.err;
            }
        }
        c.last.reset();
        c.results.clear();
        PQclear(r);
        break;
    case PGRES_PIPELINE_ABORTED:  // an earlier part of its pipeline failed; that error is the answer
        PQclear(r);
        if (!c.failed) {
            c.failed = true;
            c.err = error(errc::internal, "the statement was not run: the server refused to prepare it");
        }
        break;
    default:  // COPY_BOTH (replication) and pipeline states: not ours to handle
        PQclear(r);
        if (!c.failed) {
            c.failed = true;
            c.err = error(errc::protocol_error, "the statement switched the connection into a mode "
                                                "uvdb does not support (replication COPY or pipeline)")
                        .with_fatal(true);
            broken_ = true;
            broken_reason_ = c.err;
        }
        break;
    }
}

void connection_impl::absorb_pipelined(command& c, PGresult* r) {
    if (c.part == 1) {
        absorb(c, r);  // the caller's statement
        return;
    }
    const ExecStatusType st = PQresultStatus(r);
    if (c.part == 0 && (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE)) {
        // The Parse failed (a syntax error, a missing table…): nothing was
        // prepared, and the caller learns why from the server's own error.
        stmts_.forget(c.stmt, false);
        absorb(c, r);
        return;
    }
    // The Parse's own success, and a DEALLOCATE's outcome either way.
    PQclear(r);
}

bool connection_impl::retry_stale(command& c) {
    // A prepared statement the server cannot run any more: the table under
    // it changed its columns (0A000, "cached plan must not change result
    // type"), or someone deallocated it behind our back (26000). Forget it.
    // Outside a transaction the failed statement changed nothing, so it is
    // sent again, prepared afresh, once: the caller never sees the stale
    // plan. Inside one, the transaction is aborted now and the caller must
    // see the error (the next run prepares afresh).
    const std::string_view state = c.err.sqlstate();
    const bool stale_plan = state == "0A000";
    if (!stale_plan && state != "26000") return false;
    const statement_cache::entry* e = stmts_.by_name(c.stmt);
    std::string sql = e != nullptr ? e->sql : std::string();
    stmts_.forget(c.stmt, stale_plan);
    c.stmt.clear();
    if (c.retried || sql.empty() || c.cancel != cancel_reason::none ||
        conn_.transaction_status() != PQTRANS_IDLE) {
        return false;
    }
    c.retried = true;
    c.failed = false;
    c.err = error{};
    c.last.reset();
    send_front(sql);  // on failure the connection fails, this command with it
    return true;
}

void connection_impl::finish_front() {
    command c = queue_.pop_front();
    if (cancel_outstanding_ && cancels_->withdraw(cancel_job_)) {
        // The statement ended before its cancel request left: drop the request,
        // so the next statement need not wait for it.
        cancel_outstanding_ = false;
    }
    complete(c);
    if (phase_ != phase::ready) return;
    pump();
}

void connection_impl::complete(command& c) {
    if (c.failed) {
        with_error(c, c.err, [this](auto& cb, auto&& r) { deliver_to(cb, std::move(r)); });
        return;
    }
    switch (c.kind) {
    case command_kind::query: {
        result_set rs = c.last ? result_set(std::make_unique<pg_result>(c.last.release())) : result_set();
        deliver_to(std::get<connection::query_callback>(c.callback), result<result_set>(std::move(rs)));
        break;
    }
    case command_kind::execute:
        deliver_to(std::get<connection::script_callback>(c.callback),
                   result<std::vector<result_set>>(std::move(c.results)));
        break;
    case command_kind::ping:
    case command_kind::reset:
        deliver_to(std::get<connection::done_callback>(c.callback), result<void>());
        break;
    }
}

// ---------------------------------------------------------------- failure and teardown

void connection_impl::fail_connection(error e) {
    if (closed_ || phase_ != phase::ready) return;
    e.with_fatal(true);
    logger().debug("uvdb postgres: connection {} failed: {}", describe(), e.to_string());
    broken_ = true;
    broken_reason_ = e;
    phase_ = phase::failed;
    teardown_io();
    error rest(errc::connection_lost,
               "the statement was not run: the connection failed before its turn (" + e.message() + ")");
    rest.with_fatal(true);
    fail_all(queue_.take_all(), e, rest);
}

void connection_impl::fail_all(std::vector<command> cmds, const error& first, const error& rest) {
    for (command& c : cmds) {
        const error& e = c.sent ? first : rest;
        with_error(c, e, [this](auto& cb, auto&& r) { deliver_to(cb, std::move(r)); });
    }
}

void connection_impl::teardown_io() noexcept {
    // A cancel request still waiting for a slot holds a reference to us while
    // we hold its limiter: drop it, or a loop destroyed before the request
    // starts would leave both alive forever. (Callers hold a reference, so
    // the job's release cannot free us here.)
    if (cancel_outstanding_ && cancels_->withdraw(cancel_job_)) cancel_outstanding_ = false;
    // libuv must stop polling the descriptor before libpq closes it.
    watcher_.close();
    timer_.close();
    timer_armed_ = false;
    flushing_ = false;
    if (poll_running_) {
        finish_after_poll_ = true;  // the worker still uses the PGconn
    } else {
        conn_.finish();
    }
}

}  // namespace uvdb::postgres::detail
