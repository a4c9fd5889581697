// connection_impl, sending: the command queue's way out — enqueue, pump, the
// statement cache's prepared or unnamed sends, and flushing what libpq could
// not write at once.

#include "pg_connection.hpp"

namespace uvdb::postgres::detail {

void connection_impl::enqueue(command&& c, std::string_view sql) {
    if (closed_ || broken_) {
        deliver_to(c.completion, refused_operation_error(closed_, broken_reason_));
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
    if (c.stream) {
        ok = send_stream(c, sql);  // pg_stream.cpp
    } else if (c.kind == command_kind::query) {
        binds_.bind(c.args);  // the count was checked in query()
        // A statement in a failed transaction would fail its Parse too: no
        // point preparing it then.
        if (stmts_.enabled() && conn_.transaction_status() != PQTRANS_INERROR &&
            !uncacheable(sql)) {
            if (const statement_cache::entry* e =
                    stmts_.find(sql, binds_.types(), binds_.count())) {
                c.stmt = e->name;  // Bind + Execute only: no Parse, no planning
                ok = conn_.send_query_prepared(e->name.c_str(), binds_.count(), binds_.values(),
                                               binds_.lengths(), binds_.formats());
            } else {
                ok = send_with_prepare(c, sql);
            }
        } else {
            ok = conn_.send_query_params(sql.c_str(), binds_.count(), binds_.types(),
                                         binds_.values(), binds_.lengths(), binds_.formats());
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
              conn_.send_query_prepared(e.name.c_str(), binds_.count(), binds_.values(),
                                        binds_.lengths(), binds_.formats()) &&
              conn_.pipeline_sync();
    auto& closing = stmts_.to_close();
    while (ok && !closing.empty() && c.syncs_left < 9) {
        deallocate_sql_.assign("DEALLOCATE ");
        deallocate_sql_ += closing.back();  // our own name: nothing to quote
        closing.pop_back();
        ok = conn_.send_query_params(deallocate_sql_.c_str(), 0, nullptr, nullptr, nullptr,
                                     nullptr) &&
             conn_.pipeline_sync();
        ++c.syncs_left;
    }
    return ok;
}

void connection_impl::send_failed() {
    const std::string reason = libpq_reason(conn_.error_message());
    if (conn_.status() == CONNECTION_BAD) {
        fail_connection(
            connection_lost(conn_.error_message(), ep_, fatal_notice_state_, fatal_notice_text_));
    } else {
        fail_connection(error(errc::internal, "libpq could not send the statement (" + reason + ")")
                            .with_fatal(true));
    }
}

void connection_impl::after_send() {
    const int r = conn_.flush();
    if (r < 0) {
        fail_connection(
            connection_lost(conn_.error_message(), ep_, fatal_notice_state_, fatal_notice_text_));
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
            const error late(errc::timeout, "the statement waited " + ms_text(x.timeout) +
                                                " for its turn on the connection and was not run");
            fail_stream_of(x, late);
            deliver_to(x.completion, late);
            continue;
        }
        if (f.kind == command_kind::reset && conn_.transaction_status() == PQTRANS_IDLE) {
            command x = queue_.pop_front();
            deliver_to(x.completion, result<void>());
            continue;
        }
        const std::string sql = std::move(f.sql);  // the text must outlive the send call only
        if (!send_front(sql)) return;
        break;  // one statement in flight at a time: its results are read before the next is sent
    }
    arm_deadlines();
}

}  // namespace uvdb::postgres::detail
