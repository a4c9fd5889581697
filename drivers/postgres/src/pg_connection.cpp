// connection_impl: the operations the application calls, failure and close.
// The connect phase is in pg_connect.cpp, sending in pg_send.cpp, reading in
// pg_io.cpp, what each result means in pg_receive.cpp, deadlines and cancel
// in pg_deadlines.cpp.

#include "pg_connection.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <uvdb/log.hpp>

namespace uvdb::postgres::detail {

using std::chrono::milliseconds;

connection_impl::connection_impl(event_loop& loop, std::shared_ptr<cancel_limiter> cancels,
                                 const connect_options& opts, driver::connect_callback on_connected)
    : loop_(loop),
      cancels_(std::move(cancels)),
      timer_(loop),
      opts_(opts),
      on_connected_(std::move(on_connected)),
      host_timer_(loop),
      depth_(std::max<std::size_t>(opts.pipeline_depth, 1)) {}

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
    c.completion = std::move(cb);
    enqueue(std::move(c), sql);
}

bool connection_impl::query_group(std::vector<connection::group_member>& members,
                                  const query_options& opts) {
    // One Sync group needs pipeline mode and statements that may run in it;
    // anything else (a SET, DDL, a script…) goes the one-by-one way.
    if (depth_ < 2 || members.size() < 2) return false;
    std::vector<statement_kind> kinds;  // classified once: enqueue takes them as they are
    kinds.reserve(members.size());
    for (const auto& m : members) {
        kinds.push_back(classify(m.sql));
        if (kinds.back() == statement_kind::other) return false;
    }
    api_scope scope(*this);
    const milliseconds timeout = opts.timeout.count() >= 0 ? opts.timeout : opts_.query_timeout;
    const std::size_t last = members.size() - 1;
    for (std::size_t i = 0; i <= last; ++i) {
        auto& m = members[i];
        error bad;
        if (m.args.size() > max_params) {
            bad = too_many_params(m.args.size());
        } else if (auto nul = nul_in_text(m.args)) {
            bad = std::move(*nul);
        } else {
            continue;
        }
        // A member that cannot be sent: nothing of the group is.
        for (std::size_t k = 0; k <= last; ++k) {
            if (k == i) {
                deliver_to(members[k].cb, result<result_set>(bad));
            } else {
                deliver_to(members[k].cb,
                           result<result_set>(uvdb::detail::group_not_run(i, "is invalid")));
            }
        }
        return true;
    }
    deadlines_once once(*this);
    for (std::size_t i = 0; i <= last; ++i) {
        command c;
        c.kind = command_kind::query;
        c.timeout = timeout;
        c.args = std::move(members[i].args);
        c.completion = std::move(members[i].cb);
        c.in_group = true;
        c.group_last = i == last;
        enqueue(std::move(c), members[i].sql, kinds[i]);
    }
    return true;
}

void connection_impl::execute(std::string_view script, const query_options& opts,
                              connection::script_callback cb) {
    api_scope scope(*this);
    command c;
    c.kind = command_kind::execute;
    c.timeout = opts.timeout.count() >= 0 ? opts.timeout : opts_.query_timeout;
    c.completion = std::move(cb);
    enqueue(std::move(c), script);
}

void connection_impl::ping(milliseconds deadline, connection::done_callback cb) {
    api_scope scope(*this);
    command c;
    c.kind = command_kind::ping;
    c.timeout = std::max(deadline, milliseconds{0});
    c.completion = std::move(cb);
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
    c.completion = std::move(cb);
    enqueue(std::move(c), "ROLLBACK");
}

void connection_impl::cancel() {
    api_scope scope(*this);
    if (phase_ != phase::ready || !queue_.in_flight()) return;
    command& f = queue_.front();
    if (f.cancel != cancel_reason::none || f.detached) return;
    if (queue_.in_flight_count() == 1) {
        start_cancel(cancel_reason::user);
        return;
    }
    // Statements are pipelined behind it: a cancel request interrupts
    // whatever runs when it arrives, which could be one of them. So the
    // server is left alone and only its caller stops waiting.
    f.detached = true;
    deliver_to(f.completion,
               error(errc::cancelled,
                     "the statement was cancelled on request; other statements were pipelined "
                     "behind it, so the server was not interrupted and it may still complete"));
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
    run_cancel_settled();
    for (command& c : queue_.take_all()) {
        fail_stream_of(c, e);
        loop_.defer([p = std::move(c.completion), e]() mutable { p.fail(e); });
    }
}

tx_status connection_impl::transaction_status() const noexcept {
    if (phase_ != phase::ready || !conn_) return tx_status::unknown;
    PGTransactionStatusType st = conn_.transaction_status();
    // libpq says "active" while statements are in flight. With pipelined
    // ones, what the statements sent so far leave (the pool shares only
    // connections outside a transaction).
    if (st == PQTRANS_ACTIVE && queue_.in_flight() && queue_.front().pipelined) {
        st = in_block_ ? PQTRANS_INTRANS : PQTRANS_IDLE;
    }
    switch (st) {
        case PQTRANS_IDLE:
            return tx_status::idle;
        case PQTRANS_INTRANS:
            return tx_status::in_transaction;
        case PQTRANS_INERROR:
            return tx_status::failed_transaction;
        default:
            return tx_status::unknown;
    }
}

std::string connection_impl::describe() const {
    std::string out = ep_.where();
    out += '/';
    out += ep_.db;
    switch (phase_) {
        case phase::resolving:
        case phase::connecting:
            out += " (connecting)";
            break;
        case phase::ready:
            out += " pid " + std::to_string(pid_);
            break;
        case phase::failed:
            out += pid_ != 0 ? " pid " + std::to_string(pid_) + " (broken)" : " (failed)";
            break;
        case phase::closed:
            out += " (closed)";
            break;
    }
    return out;
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
    error rest(
        errc::connection_lost,
        "the statement was not run: the connection failed before its turn (" + e.message() + ")");
    rest.with_fatal(true);
    fail_all(queue_.take_all(), e, rest);
    run_cancel_settled();  // a broken connection is as settled as it gets: the pool discards it
    if (!closed_) notify_lost(e);
}

void connection_impl::fail_all(std::vector<command> cmds, const error& first, const error& rest) {
    for (command& c : cmds) {
        fail_stream_of(c, c.sent ? first : rest);
        deliver_to(c.completion, c.sent ? first : rest);
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
    host_timer_.close();
    timer_armed_ = false;
    flushing_ = false;
    if (poll_running_) {
        finish_after_poll_ = true;  // the worker still uses the PGconn
    } else {
        conn_.finish();
    }
}

}  // namespace uvdb::postgres::detail
