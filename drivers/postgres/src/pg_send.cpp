// connection_impl, sending: the command queue's way out — enqueue, pump, the
// statement cache's prepared or unnamed sends, pipelining, and flushing what
// libpq could not write at once.
//
// Pipelining (docs/DRIVERS.md): statements classify() calls ordinary
// (SELECT, INSERT, UPDATE, DELETE, …) or transaction control (BEGIN, COMMIT,
// ROLLBACK, SAVEPOINT…) are sent in libpq's pipeline mode as soon as they
// are issued, up to pipeline_depth in flight, each in a Sync group of its
// own, so one statement's error never aborts another's. Everything else
// (scripts, COPY, streams, pings, the pool's ROLLBACK on return, SET, DDL…)
// is sent alone, once the statements before it are answered, outside
// pipeline mode; nothing is sent behind it until it is done.
//
// A group (connection::query_group, the pool's all-or-nothing batch) is the
// exception to "a Sync each": its members go out back to back with one Sync
// behind the last and one write, whatever the depth (the group must reach
// its Sync), so they share one implicit transaction and the server skips
// the rest of the group after a failure.

#include <algorithm>

#include "pg_connection.hpp"

namespace uvdb::postgres::detail {

namespace {

// What gives a pipelined statement its own timeout: a statement_timeout
// local to its Sync group (an implicit transaction, so the value ends with
// it). Inside an explicit transaction the group is part of that transaction:
// the value before is saved and put back after the statement, in the group.
constexpr const char* set_timeout_sql = "SELECT set_config('statement_timeout', $1, true)";
constexpr const char* save_and_set_timeout_sql =
    "SELECT set_config('uvdb.saved_statement_timeout', current_setting('statement_timeout'), "
    "true), set_config('statement_timeout', $1, true)";
constexpr const char* restore_timeout_sql =
    "SELECT set_config('statement_timeout', current_setting('uvdb.saved_statement_timeout'), true)";

}  // namespace

void connection_impl::enqueue(command&& c, std::string_view sql,
                              std::optional<statement_kind> known) {
    if (closed_ || broken_) {
        deliver_to(c.completion, refused_operation_error(closed_, broken_reason_));
        return;
    }
    c.seq = queue_.next_seq();
    if (c.has_deadline()) c.deadline = loop_.now() + c.timeout;
    const statement_kind k = c.kind == command_kind::query && !c.stream && depth_ > 1
                                 ? (known ? *known : classify(sql))
                                 : statement_kind::other;
    c.pipelined = k != statement_kind::other;
    c.tx_effect = static_cast<std::uint8_t>(k);
    const bool deadline = c.has_deadline();
    if (queue_.in_flight_count() == queue_.size() && can_send(c)) {
        // The common case sends at once, straight from the caller's SQL: the
        // queue entry never owns a copy of it.
        command& q = queue_.push_back(std::move(c));
        sql_buf_.assign(sql);  // libpq needs NUL termination; the buffer keeps its capacity
        if (!send_command(q, sql_buf_)) return;
    } else {
        c.sql.assign(sql);
        queue_.push_back(std::move(c));
    }
    if (deadline) arm_deadlines();
}

bool connection_impl::can_send(const command& next) const noexcept {
    if (phase_ != phase::ready || broken_ || cancel_outstanding_) return false;
    // The rest of a group follows its start, whatever the depth: the group
    // is not complete on the server before its last member's Sync.
    if (group_open_) return next.in_group;
    const std::size_t flying = queue_.in_flight_count();
    if (flying == 0) return true;
    // Behind statements in flight only a pipelined statement may go, and only
    // behind pipelined ones (whatever is sent alone stays alone).
    return next.pipelined && queue_.front().pipelined && flying < depth_;
}

bool connection_impl::send_command(command& c, const std::string& sql) {
    const bool first = queue_.in_flight_count() == 0;
    queue_.mark_sent(c);
    if (first) front_since_ = loop_.now();
    bool ok = false;
    if (c.stream) {
        ok = send_stream(c, sql);  // pg_stream.cpp
    } else if (c.pipelined) {
        ok = send_pipelined(c, sql);
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
    if (c.in_group) {
        group_open_ = !c.group_last;
        // libpq keeps a group's messages until its last member (it writes
        // on its own past 64 kB): one write for the group.
        if (group_open_) return true;
    }
    after_send();
    return phase_ == phase::ready;
}

bool connection_impl::send_pipelined(command& c, const std::string& sql) {
    if (!conn_.in_pipeline()) {
        // The first in flight (pipeline mode ends with the last). The
        // transaction status is known only with nothing in flight; from
        // there it follows the statements sent: only BEGIN and COMMIT (or
        // ROLLBACK) among the pipelined ones open or end a transaction.
        in_block_ = conn_.transaction_status() != PQTRANS_IDLE;
        if (!conn_.enter_pipeline()) return false;
    }
    const auto kind = static_cast<statement_kind>(c.tx_effect);
    binds_.bind(c.args);
    c.part = 0;
    c.prefix = 0;
    c.suffix = 0;
    c.syncs_left = 1;
    c.parse_in_prefix = false;
    c.server_timeout = false;
    bool ok = true;
    if (c.has_deadline() && kind == statement_kind::ordinary) {
        // The server ends the statement at its deadline: what is left of the
        // timeout now (at least 1 ms; 0 would mean none).
        const auto left =
            std::max(std::chrono::ceil<std::chrono::milliseconds>(c.deadline - loop_.now()),
                     std::chrono::milliseconds{1});
        timeout_text_ = std::to_string(left.count());
        const char* value = timeout_text_.c_str();
        ok = conn_.send_query_params(in_block_ ? save_and_set_timeout_sql : set_timeout_sql, 1,
                                     nullptr, &value, nullptr, nullptr);
        c.server_timeout = true;
        ++c.prefix;
    }
    // Prepared when the cache has it and its Parse is known to have worked;
    // a statement whose Parse is still in flight goes unnamed meanwhile (if
    // that Parse fails, this one must fail for its own reasons, not for a
    // missing prepared statement).
    const bool cache = stmts_.enabled() && conn_.transaction_status() != PQTRANS_INERROR;
    const statement_cache::entry* e =
        cache ? stmts_.find(sql, binds_.types(), binds_.count()) : nullptr;
    if (ok && e != nullptr && e->parsed_by <= last_answered_seq_) {
        c.stmt = e->name;
        ok = conn_.send_query_prepared(e->name.c_str(), binds_.count(), binds_.values(),
                                       binds_.lengths(), binds_.formats());
    } else if (ok && cache && e == nullptr) {
        const statement_cache::entry& added =
            stmts_.insert(sql, binds_.types(), binds_.count(), c.seq);
        c.stmt = added.name;
        c.parse_in_prefix = true;
        ++c.prefix;
        ok = conn_.send_prepare(added.name.c_str(), sql.c_str(), binds_.count(), binds_.types()) &&
             conn_.send_query_prepared(added.name.c_str(), binds_.count(), binds_.values(),
                                       binds_.lengths(), binds_.formats());
    } else if (ok) {
        ok = conn_.send_query_params(sql.c_str(), binds_.count(), binds_.types(), binds_.values(),
                                     binds_.lengths(), binds_.formats());
    }
    if (ok && c.server_timeout && in_block_) {
        ok = conn_.send_query_params(restore_timeout_sql, 0, nullptr, nullptr, nullptr, nullptr);
        ++c.suffix;
    }
    if (c.in_group && !c.group_last) {
        // The group's Sync comes behind its last member, the statements the
        // cache gave up on are deallocated behind that Sync.
        c.syncs_left = 0;
    } else {
        ok = ok && conn_.pipeline_sync();
        if (ok && (c.parse_in_prefix || c.in_group)) ok = send_deallocations(c);
    }
    if (kind == statement_kind::begins) in_block_ = true;
    if (kind == statement_kind::ends) in_block_ = false;
    return ok;
}

bool connection_impl::send_with_prepare(command& c, const std::string& sql) {
    // Outside pipeline mode libpq sends one command and waits for its
    // results; inside it, Parse and Bind/Execute leave in one write and the
    // miss costs no extra round trip.
    const statement_cache::entry& e = stmts_.insert(sql, binds_.types(), binds_.count(), c.seq);
    c.stmt = e.name;
    c.part = 0;
    c.prefix = 1;
    c.parse_in_prefix = true;
    c.syncs_left = 1;
    if (!conn_.enter_pipeline()) return false;
    return conn_.send_prepare(e.name.c_str(), sql.c_str(), binds_.count(), binds_.types()) &&
           conn_.send_query_prepared(e.name.c_str(), binds_.count(), binds_.values(),
                                     binds_.lengths(), binds_.formats()) &&
           conn_.pipeline_sync() && send_deallocations(c);
}

bool connection_impl::send_deallocations(command& c) {
    // Statements the cache gave up on are deallocated behind the one that
    // took their place, each after its own Sync so that a failure there (a
    // name the server dropped already) touches nothing else.
    auto& closing = stmts_.to_close();
    bool ok = true;
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
    while (!closed_ && queue_.in_flight_count() < queue_.size()) {
        if (broken_ && phase_ == phase::ready && !cancel_outstanding_ && !queue_.in_flight()) {
            // Broken while these waited (a FATAL notice, a misuse): they will never run.
            fail_all(queue_.take_all(), error{},
                     error(errc::connection_lost,
                           "the statement was not run: the connection broke before its turn")
                         .with_fatal(true));
            return;
        }
        command& f = queue_.next_unsent();
        if (!can_send(f)) break;
        if (f.has_deadline() && f.deadline <= loop_.now()) {
            command x = queue_.remove(queue_.in_flight_count());
            const error late(errc::timeout, "the statement waited " + ms_text(x.timeout) +
                                                " for its turn on the connection and was not run");
            fail_stream_of(x, late);
            deliver_to(x.completion, late);
            continue;
        }
        if (f.kind == command_kind::reset && !queue_.in_flight() &&
            conn_.transaction_status() == PQTRANS_IDLE) {
            command x = queue_.pop_front();
            deliver_to(x.completion, result<void>());
            continue;
        }
        const std::string sql = std::move(f.sql);  // the text must outlive the send call only
        if (!send_command(f, sql)) return;
        // What is sent alone is read before anything else goes.
        if (!f.pipelined) break;
    }
    arm_deadlines();
}

}  // namespace uvdb::postgres::detail
