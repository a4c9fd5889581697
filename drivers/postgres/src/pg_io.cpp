// connection_impl, reading: socket events, libpq's input, and applying the
// receive step's verdict (pg_receive.*) to each result: answer the command,
// retry a stale prepared statement, leave pipeline mode, fail the connection.

#include "pg_connection.hpp"

namespace uvdb::postgres::detail {

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
        watcher_.set_interest(reading_paused_ ? io_none : io_readable);
        return;
    }
    const int r = conn_.flush();
    if (r < 0) {
        fail_connection(
            connection_lost(conn_.error_message(), ep_, fatal_notice_state_, fatal_notice_text_));
    } else if (r == 0) {
        flushing_ = false;
        watcher_.set_interest(reading_paused_ ? io_none : io_readable);
        copy_drained();
    }
}

void connection_impl::on_readable() {
    if (!conn_.consume_input()) {
        // libpq keeps what it read before the socket ended: a FATAL sent just
        // before the close (57P01 from pg_terminate_backend) is parsed here,
        // so the statement's caller gets the server's SQLSTATE and words.
        drain_results();
        if (phase_ != phase::ready) return;
        deliver_notifications();  // those sent before the end still count
        if (phase_ != phase::ready) return;
        fail_connection(
            connection_lost(conn_.error_message(), ep_, fatal_notice_state_, fatal_notice_text_));
        return;
    }
    drain_results();
    if (phase_ == phase::ready) deliver_notifications();
    // libpq takes from a TLS record only what fits its input buffer; the rest
    // stays decrypted inside OpenSSL and never makes the socket readable
    // again. PostgreSQL's own records always fit, but proxies speaking its
    // protocol send 16 kB records: read on while OpenSSL holds data (also
    // when idle with a notification handler: notifications arrive unasked).
    while (phase_ == phase::ready && (queue_.in_flight() || notify_handler_) && !reading_paused_ &&
           conn_.tls_pending()) {
        if (!conn_.consume_input()) {
            fail_connection(connection_lost(conn_.error_message(), ep_, fatal_notice_state_,
                                            fatal_notice_text_));
            return;
        }
        drain_results();
        if (phase_ == phase::ready) deliver_notifications();
    }
    if (phase_ != phase::ready) return;
    if (!queue_.in_flight()) {
        if (conn_.status() == CONNECTION_BAD) {
            fail_connection(connection_lost(conn_.error_message(), ep_, fatal_notice_state_,
                                            fatal_notice_text_));
        }
    }
}

void connection_impl::drain_results() {
    deadlines_once once(*this);
    while (phase_ == phase::ready && queue_.in_flight()) {
        command& f = queue_.front();
        if (f.stream) {
            if (!drain_stream(f)) break;  // pg_stream.cpp; true: it ended, read on for the next
            continue;
        }
        // While the server takes COPY data, libpq would hand out the same
        // COPY_IN result again: nothing to read until the writer ends the data.
        if (f.copy && f.copy->at == copy_in_state::stage::open) break;
        if (f.copy_out) {
            char* buf = nullptr;
            int n = 0;
            while ((n = conn_.get_copy_data_async(&buf)) > 0) PQfreemem(buf);
            if (n == 0) break;  // more rows to come
            f.copy_out = false;
        }
        // Never PQgetResult while busy: libpq would block for the rest.
        if (conn_.is_busy()) break;
        pg_result_ptr r = conn_.get_result();
        // A null outside pipeline mode just ends the statement: no need to ask.
        const bool bad =
            (r != nullptr || f.syncs_left > 0 || f.in_group) && conn_.status() == CONNECTION_BAD;
        const receive_step step = receive(f, std::move(r), bad, ep_);
        apply(step, f);
        switch (step.next) {
            case next_action::read_more:
                break;
            case next_action::copy_in_opened:
                copy_opened(f);
                return;  // the caller's writer runs the COPY from here
            case next_action::end_copy_in:
                conn_.put_copy_end("COPY FROM STDIN is not supported by this client");
                after_send();
                break;
            case next_action::command_done:
                if (f.failed && !f.stmt.empty() && retry_stale(f)) break;
                finish_front();
                break;
            case next_action::connection_lost:
                if (!f.failed) {
                    f.failed = true;
                    f.err = connection_lost(conn_.error_message(), ep_, fatal_notice_state_,
                                            fatal_notice_text_);
                }
                finish_front();
                break;
            case next_action::leave_pipeline:
                // Pipeline mode ends with the last statement in flight: what
                // is sent alone is sent outside it.
                if (queue_.in_flight_count() == 1 && !conn_.exit_pipeline()) {
                    fail_connection(error(errc::internal,
                                          "libpq did not leave pipeline mode after its last "
                                          "statement (" +
                                              libpq_reason(conn_.error_message()) + ")")
                                        .with_fatal(true));
                    return;
                }
                if (f.failed && !f.stmt.empty() && retry_stale(f)) break;
                finish_front();
                break;
        }
    }
}

void connection_impl::apply(const receive_step& step, command& c) {
    if (step.drop_statement_cache) stmts_.clear();
    if (step.forget_statement) stmts_.forget(c.stmt, false);
    if (step.breaks_connection) {
        broken_ = true;
        broken_reason_ = c.err;
    }
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
    // Only when nothing was sent behind it: a statement sent again must not
    // run after ones its caller issued later.
    // Never a group's member: the group's implicit transaction was undone
    // with it, so it would run without the members before it.
    if (c.retried || c.in_group || sql.empty() || c.cancel != cancel_reason::none || c.detached ||
        queue_.in_flight_count() != 1 || conn_.transaction_status() != PQTRANS_IDLE) {
        return false;
    }
    c.retried = true;
    c.failed = false;
    c.err = error{};
    c.last.reset();
    send_command(c, sql);  // on failure the connection fails, this command with it
    return true;
}

void connection_impl::finish_front() {
    command c = queue_.pop_front();
    last_answered_seq_ = c.seq;
    // The next statement in flight starts running on the server about now.
    if (queue_.in_flight()) front_since_ = loop_.now();
    // Before the caller sees the result (and may give the connection back).
    note_statement_role(c);
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
    if (c.detached) return;  // its caller was answered when it was cancelled
    if (c.failed) {
        deliver_to(c.completion, c.err);
        return;
    }
    switch (c.kind) {
        case command_kind::query:
        case command_kind::copy_in:
            deliver_to(c.completion, query_answer(c));
            break;
        case command_kind::execute:
            deliver_to(c.completion, script_answer(c));
            break;
        case command_kind::ping:
        case command_kind::reset:
            deliver_to(c.completion, result<void>());
            break;
    }
}

}  // namespace uvdb::postgres::detail
