// connection_impl's deadlines and cancellation: one loop timer armed for the
// earliest deadline of the queue, cancel requests through the per-loop
// limiter, and the rules that keep a late cancel away from the next statement.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <uvdb/log.hpp>

#include "pg_connection.hpp"

namespace uvdb::postgres::detail {

using std::chrono::milliseconds;

namespace {

/// How long the server is given past a deadline to end the statement (or to
/// confirm a cancel) before the connection is given up as stalled.
milliseconds grace_of(const command& c) { return std::max(milliseconds{1000}, c.timeout); }

}  // namespace

clock::time_point connection_impl::backstop_of(const command& c) const {
    // Its statement_timeout started when the server began to run it: about
    // when it reached the front.
    return std::max(c.deadline, front_since_ + c.timeout) + grace_of(c);
}

void connection_impl::arm_deadlines() {
    if (phase_ != phase::ready) return;  // the connect deadline owns the timer until then
    if (deadlines_held_) {
        deadlines_due_ = true;
        return;
    }
    bool any = false;
    clock::time_point due = clock::time_point::max();
    for (std::size_t i = 0; i < queue_.size(); ++i) {
        const command& c = queue_[i];
        if (c.sent && c.pipelined && c.has_deadline() && c.cancel == cancel_reason::none) {
            // The server ends it; the loop watches only the front, whose
            // statement_timeout runs.
            if (i == 0) {
                due = std::min(due, backstop_of(c));
                any = true;
            }
        } else if (c.sent && c.cancel != cancel_reason::none) {
            due = std::min(due, c.cancel_deadline);
            any = true;
        } else if (c.has_deadline()) {
            due = std::min(due, c.deadline);
            any = true;
        }
    }
    if (cancel_outstanding_ && !queue_.in_flight()) {
        due = std::min(due, cancel_outstanding_deadline_);
        any = true;
    }
    if (!any) {
        if (timer_armed_) {
            timer_.stop();
            timer_armed_ = false;
        }
        return;
    }
    if (timer_armed_ && due == timer_due_) return;
    const clock::time_point now = loop_.now();
    const auto delay = due > now ? std::chrono::ceil<milliseconds>(due - now) : milliseconds{0};
    timer_.start(delay, [this] {
        impl_ref keep(this);
        timer_armed_ = false;
        on_deadline();
    });
    timer_armed_ = true;
    timer_due_ = due;
}

void connection_impl::on_deadline() {
    if (phase_ != phase::ready) return;
    // libuv's clock and steady_clock round differently; a millisecond of slack
    // keeps a timer that fires "just before" from re-arming for nothing.
    const clock::time_point now = loop_.now() + milliseconds{1};

    // Statements still waiting for their turn just fail; the server never saw them.
    std::vector<command> expired;
    for (std::size_t i = queue_.size(); i-- > 0;) {
        const command& c = queue_[i];
        if (!c.sent && c.has_deadline() && c.deadline <= now) expired.push_back(queue_.remove(i));
    }
    for (auto it = expired.rbegin(); it != expired.rend(); ++it) {
        const error late(errc::timeout, "the statement waited " + ms_text(it->timeout) +
                                            " for its turn on the connection and was not run");
        fail_stream_of(*it, late);
        deliver_to(it->completion, late);
        if (phase_ != phase::ready) return;
    }

    if (queue_.in_flight()) {
        command& f = queue_.front();
        if (f.pipelined && f.has_deadline() && f.cancel == cancel_reason::none) {
            if (backstop_of(f) <= now) {
                fail_connection(error(errc::timeout,
                                      "the statement did not finish within " + ms_text(f.timeout) +
                                          ", and the server did not end it within another " +
                                          ms_text(grace_of(f)) +
                                          "; the connection was closed (server unreachable "
                                          "or stalled?)")
                                    .with_fatal(true));
                return;
            }
        } else if (f.cancel != cancel_reason::none && f.cancel_deadline <= now) {
            std::string msg = f.cancel == cancel_reason::timeout
                                  ? "the statement did not finish within " + ms_text(f.timeout)
                                  : std::string("the statement was cancelled on request");
            msg += ", and the server did not confirm the cancel within " + ms_text(f.cancel_grace) +
                   "; the connection was closed (server unreachable or stalled?)";
            fail_connection(
                error(f.cancel == cancel_reason::timeout ? errc::timeout : errc::cancelled,
                      std::move(msg))
                    .with_fatal(true));
            return;
        }
        if (!f.pipelined && f.cancel == cancel_reason::none && f.has_deadline() &&
            f.deadline <= now) {
            if (f.stream) {
                stream_timed_out(f);  // also while its consumer is not reading (pg_stream.cpp)
                if (phase_ != phase::ready) return;
                arm_deadlines();
                return;
            }
            if (f.kind == command_kind::ping || f.kind == command_kind::reset) {
                // A ping that does not come back means a dead or black-holed
                // peer; a cancel would not get through either.
                fail_connection(
                    error(errc::timeout, std::string(f.kind == command_kind::ping
                                                         ? "the server did not answer a ping"
                                                         : "the ROLLBACK did not finish") +
                                             " within " + ms_text(f.timeout) +
                                             "; the connection was closed")
                        .with_fatal(true));
                return;
            }
            start_cancel(cancel_reason::timeout);
            if (phase_ != phase::ready) return;
        }
    } else if (cancel_outstanding_ && cancel_outstanding_deadline_ <= now) {
        // The statement is done but its cancel request is still under way: a
        // later statement sent now could be the one it cancels.
        fail_connection(error(errc::connection_lost,
                              "a cancel request to the server did not complete in time; the "
                              "connection was closed so that it cannot cancel a later statement")
                            .with_fatal(true));
        return;
    }
    arm_deadlines();
}

void connection_impl::start_cancel(cancel_reason why) {
    command& f = queue_.front();
    f.cancel = why;
    // The server normally answers a cancel within milliseconds; a longer
    // silence means it or the network is stuck, and the connection must not
    // be reused mid-statement.
    f.cancel_grace = grace_of(f);
    f.cancel_deadline = loop_.now() + f.cancel_grace;
    cancel_outstanding_deadline_ = f.cancel_deadline;
    cancel_ptr req(conn_.get_cancel());
    if (!req) {
        fail_connection(error(errc::internal,
                              "libpq could not prepare a cancel request; the connection was closed")
                            .with_fatal(true));
        return;
    }
    cancel_outstanding_ = true;
    const std::uint64_t seq = f.seq;
    logger().debug("uvdb postgres: cancelling statement #{} on {} ({})", seq, describe(),
                   why == cancel_reason::timeout ? "timeout" : "on request");
    cancel_job_ = cancels_->submit(
        std::move(req),
        [self = impl_ref(this), seq] {
            // Still the same statement in flight? Otherwise the request must not go out.
            return self->phase_ == phase::ready && self->queue_.in_flight() &&
                   self->queue_.front().seq == seq;
        },
        [self = impl_ref(this), seq](bool sent, std::string failure) {
            self->on_cancel_done(seq, sent, failure);
        });
    // A server waiting for COPY data acts on a cancel only when more data
    // comes: a stalled writer would hold it off. End the data ourselves.
    if (queue_.front().copy) {
        copy_interrupt(queue_.front(), why);
        if (phase_ != phase::ready) return;
    }
    arm_deadlines();
}

void connection_impl::on_cancel_done(std::uint64_t seq, bool sent, const std::string& failure) {
    cancel_outstanding_ = false;
    run_cancel_settled();  // closed streams waited for this to call their connection clean
    if (phase_ != phase::ready) return;
    if (!sent && !failure.empty()) {
        logger().debug("uvdb postgres: cancel request for statement #{} on {} failed: {}", seq,
                       describe(), failure);
    }
    pump();  // the next statement may go now: no cancel can reach it any more
}

}  // namespace uvdb::postgres::detail
