// connection_impl, notifications: LISTEN/UNLISTEN/NOTIFY as ordinary
// statements, and handing what PQnotifies() collected to the application's
// handler. libpq parses NotificationResponse messages inside PQconsumeInput
// whatever else is going on, so pg_io.cpp calls deliver_notifications()
// after every read, with or without a statement in flight.

#include <string>
#include <uvdb/postgres/driver.hpp>

#include "pg_connection.hpp"

namespace uvdb::postgres {

result<std::string> quote_identifier(std::string_view name) {
    // NAMEDATALEN is 64 in every stock build: 63 bytes and the terminator.
    // The server would silently truncate a longer name, so that LISTEN and
    // pg_notify would then disagree about the channel: refuse it instead.
    constexpr std::size_t max_name = 63;
    if (name.empty()) return error(errc::bad_input, "an identifier cannot be empty");
    if (name.find('\0') != std::string_view::npos)
        return error(errc::bad_input, "an identifier cannot hold a NUL byte");
    if (name.size() > max_name) {
        return error(errc::bad_input, "identifier of " + std::to_string(name.size()) +
                                          " bytes is too long: PostgreSQL keeps at most 63");
    }
    std::string out;
    out.reserve(name.size() + 2);
    out += '"';
    for (char ch : name) {
        if (ch == '"') out += '"';
        out += ch;
    }
    out += '"';
    return out;
}

}  // namespace uvdb::postgres

namespace uvdb::postgres::detail {

namespace {

/// A done_callback fed by a statement's answer: only success or the error matters.
template <class Answer>
auto done_after(connection::done_callback cb) {
    return [cb = std::move(cb)](result<Answer> r) mutable {
        if (!r) return cb(std::move(r).err());
        cb(result<void>());
    };
}

}  // namespace

result<void> connection_impl::on_notification(notification_handler handler) {
    if (closed_) return error(errc::closed, "the connection was closed");
    if (phase_ == phase::failed) return broken_reason_;
    notify_handler_ = std::move(handler);
    return {};
}

void connection_impl::listen_command(const char* verb, std::string_view channel,
                                     connection::done_callback cb) {
    api_scope scope(*this);
    auto quoted = uvdb::postgres::quote_identifier(channel);
    if (!quoted) {
        error e = std::move(quoted).err();
        deliver_to(cb, result<void>(error(e.value(), "channel name: " + e.message())));
        return;
    }
    std::string sql = verb;
    sql += ' ';
    sql += *quoted;
    execute(sql, query_options{},
            connection::script_callback(done_after<std::vector<result_set>>(std::move(cb))));
}

void connection_impl::listen(std::string_view channel, connection::done_callback cb) {
    listen_command("LISTEN", channel, std::move(cb));
}

void connection_impl::unlisten(std::string_view channel, connection::done_callback cb) {
    listen_command("UNLISTEN", channel, std::move(cb));
}

void connection_impl::notify(std::string_view channel, std::string_view payload,
                             connection::done_callback cb) {
    // Bound parameters, so any payload travels as it is; the server checks
    // the channel name and the 8000-byte payload limit and its error is the
    // caller's.
    query("SELECT pg_notify($1, $2)",
          uvdb::detail::bind_params(std::string(channel), std::string(payload)), query_options{},
          connection::query_callback(done_after<result_set>(std::move(cb))));
}

void connection_impl::deliver_notifications() {
    while (PGnotify* n = conn_.notifies()) {
        notification note{n->relname != nullptr ? n->relname : "",
                          n->extra != nullptr ? n->extra : "", n->be_pid};
        PQfreemem(n);
        // Nobody listens (or we are being closed): drop it, never let them pile up.
        if (!notify_handler_ || closed_) continue;
        notify_handler_(result<notification>(std::move(note)));
    }
}

void connection_impl::notify_lost(const error& e) {
    if (!notify_handler_) return;
    // The last call: the handler is moved out, so it may close or destroy
    // the connection without destroying itself while it runs.
    notification_handler h = std::move(notify_handler_);
    notify_handler_ = nullptr;
    if (api_depth_ > 0) {
        loop_.defer([h = std::move(h), e]() mutable { h(result<notification>(e)); });
    } else {
        h(result<notification>(e));
    }
}

}  // namespace uvdb::postgres::detail
