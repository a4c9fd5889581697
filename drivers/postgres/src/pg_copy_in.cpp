// COPY FROM STDIN (see pg_copy_in.hpp): the caller's sink, and the
// connection's side of it. Back-pressure: each piece goes into libpq's output
// buffer (PQputCopyData copies it and sends what the socket takes); once
// copy_flush_every bytes went in, PQflush tries to empty it, and while more
// than copy_max_pending bytes may still sit there the writer waits for the
// socket to drain. So libpq's buffer stays near copy_max_pending plus one
// piece, whatever the size of the load.

#include <algorithm>
#include <climits>
#include <memory>

#include "pg_connection.hpp"

namespace uvdb::postgres::detail {

error copy_not_open() {
    return error(errc::bad_input,
                 "the COPY is not open: it was finished or aborted already, or it failed");
}

void copy_command_done(copy_in_state& s, result<result_set> r) {
    s.at = copy_in_state::stage::done;
    const std::uint64_t rows = r ? r->affected_rows() : 0;  // read before r's error is moved out
    std::optional<error> e;
    if (!r) {
        e = std::move(r).err();
        if (s.abort_requested && e->code() == errc::cancelled && e->sqlstate() == "57014") {
            // The server's answer to our CopyFail: say it was the caller's abort.
            e = error(errc::cancelled, "the COPY was aborted by the caller (" + s.abort_message +
                                           "); nothing was inserted")
                    .with_sqlstate("57014");
        }
    } else if (s.start) {
        e = error(errc::bad_input,
                  "copy_in needs a COPY … FROM STDIN statement; this one ran without asking "
                  "for data");
    }
    if (e && !s.err) s.err = *e;
    if (s.start) {
        auto cb = std::move(s.start);
        cb(*e);
        return;
    }
    if (s.waiter) {
        auto cb = std::move(s.waiter);
        cb(s.err ? *s.err : copy_not_open());
    }
    if (s.finished) {
        auto cb = std::move(s.finished);
        if (e) {
            cb(*e);
        } else {
            cb(rows);
        }
    }
    if (s.aborted) {
        auto cb = std::move(s.aborted);
        cb(e ? *e : error(errc::cancelled, "the COPY was aborted by the caller"));
    }
}

/// What the caller's copy_writer holds: forwards to its connection.
class copy_in_sink_impl final : public copy_in_sink {
  public:
    copy_in_sink_impl(impl_ref conn, std::shared_ptr<copy_in_state> s) noexcept
        : conn_(std::move(conn)), s_(std::move(s)) {}

    result<bool> try_write(std::string_view bytes) override {
        return conn_->copy_write(*s_, bytes);
    }
    void wait_writable(done_callback cb) override { conn_->copy_wait(*s_, std::move(cb)); }
    void finish(count_callback cb) override { conn_->copy_finish(*s_, std::move(cb)); }
    void abort(std::string_view message, done_callback cb) override {
        conn_->copy_abort(*s_, message, std::move(cb));
    }

  private:
    impl_ref conn_;
    std::shared_ptr<copy_in_state> s_;
};

void connection_impl::start_copy_in(std::string_view sql, const query_options& opts,
                                    connection::copy_in_callback cb) {
    api_scope scope(*this);
    auto s = std::make_shared<copy_in_state>();
    s->start = std::move(cb);
    command c;
    c.kind = command_kind::copy_in;
    c.timeout = opts.timeout.count() >= 0 ? opts.timeout : opts_.query_timeout;
    c.copy = s;
    c.completion = connection::query_callback(
        [s](result<result_set> r) { copy_command_done(*s, std::move(r)); });
    enqueue(std::move(c), sql);  // simple protocol (send_front): never prepared
}

bool connection_impl::copy_is_front(const copy_in_state& s) const noexcept {
    return phase_ == phase::ready && queue_.in_flight() && queue_.front().copy.get() == &s;
}

void connection_impl::copy_opened(command& c) {
    copy_in_state& s = *c.copy;
    s.at = copy_in_state::stage::open;
    if (c.cancel != cancel_reason::none || !s.start) {
        // A timeout or cancel came before the server asked for data: end the
        // COPY at once; its result answers the caller.
        copy_end(s, "the COPY was cancelled before it began");
        return;
    }
    auto cb = std::move(s.start);
    cb(std::unique_ptr<copy_in_sink>(std::make_unique<copy_in_sink_impl>(impl_ref(this), c.copy)));
}

result<bool> connection_impl::copy_write(copy_in_state& s, std::string_view bytes) {
    api_scope scope(*this);
    if (s.err) return *s.err;
    if (s.at != copy_in_state::stage::open || !copy_is_front(s)) return copy_not_open();
    auto lost = [&]() -> result<bool> {
        fail_connection(
            connection_lost(conn_.error_message(), ep_, fatal_notice_state_, fatal_notice_text_));
        if (!s.err) s.err = broken_reason_;
        return *s.err;
    };
    for (std::string_view rest = bytes; !rest.empty();) {
        const std::size_t n = std::min<std::size_t>(rest.size(), INT_MAX / 2);
        if (conn_.put_copy_data(rest.data(), static_cast<int>(n)) != 1) return lost();
        rest.remove_prefix(n);
    }
    s.unflushed += bytes.size();
    if (s.unflushed < copy_flush_every) return true;
    // libpq drops what it cannot write to a socket the server closed and
    // reports nothing until it reads: read now and then, so that a session
    // ended under us (pg_terminate_backend) fails the writer promptly.
    if (!conn_.consume_input() || conn_.status() == CONNECTION_BAD) return lost();
    const int f = conn_.flush();
    if (f < 0) return lost();
    if (f == 0) {
        s.unflushed = 0;
        if (flushing_) {
            flushing_ = false;
            watcher_.set_interest(io_readable);
        }
    } else if (!flushing_) {
        flushing_ = true;
        watcher_.set_interest(io_readable | io_writable);
    }
    return s.unflushed < copy_max_pending;
}

void connection_impl::copy_wait(copy_in_state& s, copy_in_sink::done_callback cb) {
    result<void> now;
    if (s.err) {
        now = *s.err;
    } else if (s.at != copy_in_state::stage::open || !copy_is_front(s)) {
        now = copy_not_open();
    } else if (s.unflushed >= copy_max_pending) {
        s.waiter = std::move(cb);  // copy_drained or the command's end answers it
        return;
    }
    loop_.defer([cb = std::move(cb), now = std::move(now)]() mutable { cb(std::move(now)); });
}

void connection_impl::copy_drained() {
    if (!queue_.in_flight() || !queue_.front().copy) return;
    copy_in_state& s = *queue_.front().copy;
    if (s.at != copy_in_state::stage::open) return;
    s.unflushed = 0;
    if (s.waiter) {
        auto cb = std::move(s.waiter);
        cb(result<void>());
    }
}

void connection_impl::copy_finish(copy_in_state& s, copy_in_sink::count_callback cb) {
    api_scope scope(*this);
    if (s.at == copy_in_state::stage::open && copy_is_front(s) && !s.err) {
        s.finished = std::move(cb);
        copy_end(s, nullptr);
        return;
    }
    if (s.at == copy_in_state::stage::ending && !s.finished && !s.aborted) {
        s.finished = std::move(cb);  // a timeout or cancel ended it: its result answers
        return;
    }
    error e = s.err ? *s.err : copy_not_open();
    loop_.defer([cb = std::move(cb), e = std::move(e)]() mutable { cb(std::move(e)); });
}

void connection_impl::copy_abort(copy_in_state& s, std::string_view message,
                                 copy_in_sink::done_callback cb) {
    api_scope scope(*this);
    const bool open = s.at == copy_in_state::stage::open && copy_is_front(s) && !s.err;
    if (open || (s.at == copy_in_state::stage::ending && !s.finished && !s.aborted)) {
        s.abort_requested = true;
        s.abort_message = message.empty() ? std::string("aborted by the client") : message;
        s.aborted = std::move(cb);
        if (open) copy_end(s, s.abort_message.c_str());
        return;
    }
    if (!cb) return;
    error e = s.err ? *s.err : copy_not_open();
    loop_.defer([cb = std::move(cb), e = std::move(e)]() mutable { cb(std::move(e)); });
}

bool connection_impl::copy_end(copy_in_state& s, const char* why) {
    // CopyDone (why == nullptr) or CopyFail with `why`, which the server
    // logs; its answer comes as the command's result, read on readable.
    s.at = copy_in_state::stage::ending;
    if (conn_.put_copy_end(why) != 1) {
        fail_connection(
            connection_lost(conn_.error_message(), ep_, fatal_notice_state_, fatal_notice_text_));
        return false;
    }
    after_send();
    return phase_ == phase::ready;
}

void connection_impl::copy_interrupt(command& f, cancel_reason why) {
    copy_in_state& s = *f.copy;
    if (s.at != copy_in_state::stage::open) return;  // not waiting for data: the cancel acts
    error e =
        why == cancel_reason::timeout
            ? error(errc::timeout, "the COPY did not finish within " + ms_text(f.timeout) +
                                       " and was cancelled; nothing was inserted")
            : error(errc::cancelled, "the COPY was cancelled on request; nothing was inserted");
    if (!s.err) s.err = e;
    if (!copy_end(s, why == cancel_reason::timeout ? "statement timeout (uvdb)"
                                                   : "cancelled on request (uvdb)")) {
        return;
    }
    if (s.waiter) {
        // cancel() is the application's call: the writer resumes from the loop.
        loop_.defer([cb = std::move(s.waiter), e = *s.err]() mutable { cb(std::move(e)); });
        s.waiter = nullptr;
    }
}

}  // namespace uvdb::postgres::detail
