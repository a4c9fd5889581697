// The connect phase of connection_impl: conninfo → DNS off the loop →
// PQconnectStartParams → PQconnectPoll driven by the io_watcher, all under one
// deadline timer (libpq ignores connect_timeout in non-blocking mode).
//
// A string naming several hosts is tried one host at a time, each attempt a
// PGconn of its own with its own deadline: libpq has no call that moves on
// to the next host, so with one PGconn for the whole list a black-holed
// first host would eat the whole deadline. Each attempt still lets libpq
// check target_session_attrs on its host; prefer-standby becomes two passes
// (standby, then any), as libpq does it. Deadlines: the URL's
// connect_timeout per host, as libpq's blocking connect applies it
// (otherwise connect_options::connect_timeout shared among the hosts, at
// least 2 s each), and connect_options::connect_timeout over the whole.

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <uvdb/log.hpp>

#include "pg_connection.hpp"

namespace uvdb::postgres::detail {

void connection_impl::start_connect() {
    api_scope scope(*this);
    auto parsed = conninfo::parse(opts_);
    if (!parsed) {
        ep_ = endpoint{};
        fail_connect(std::move(parsed).err());
        return;
    }
    info_ = std::move(*parsed);
    stmts_ = statement_cache(info_.statement_cache_size());
    ep_ = info_.first_endpoint();
    connect_started_ = loop_.now();
    attempts_ = 0;
    // One host: the URL's connect_timeout, when shorter, wins: libpq would
    // have honoured it. Several: it is each host's deadline (start_libpq).
    if (const auto url_timeout = info_.url_connect_timeout();
        info_.host_count() <= 1 && url_timeout.count() > 0 &&
        (opts_.connect_timeout.count() <= 0 || url_timeout < opts_.connect_timeout)) {
        opts_.connect_timeout = url_timeout;
    }
    if (opts_.connect_timeout.count() > 0) {
        timer_.start(opts_.connect_timeout, [this] {
            impl_ref keep(this);
            on_connect_timeout();
        });
    }
    if (!info_.needs_dns()) {
        start_libpq();
        return;
    }
    auto& hosts = info_.hosts();
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        if (hosts[i].type != host_entry::kind::name) continue;
        ++resolving_;
        resolve_host(loop_, hosts[i].host,
                     [self = impl_ref(this), i](result<std::vector<resolved_address>> r) mutable {
                         self->on_resolved(i, std::move(r));
                     });
    }
}

void connection_impl::on_resolved(std::size_t host_index, result<std::vector<resolved_address>> r) {
    --resolving_;
    if (phase_ != phase::resolving) return;  // closed or timed out meanwhile
    if (r) {
        for (auto& a : *r) info_.hosts()[host_index].addrs.push_back(std::move(a.address));
    } else {
        resolve_error_ = r.err().message();
        logger().debug("uvdb postgres: {}", resolve_error_);
    }
    if (resolving_ != 0) return;
    if (auto applied = info_.apply_resolved(resolve_error_); !applied) {
        fail_connect(std::move(applied).err());
        return;
    }
    ep_ = info_.first_endpoint();
    start_libpq();
}

void connection_impl::start_libpq() {
    if (attempts_ == 0) {
        // Decided once the names are resolved: one attempt per address.
        attempts_ = info_.host_count();
        attempt_ = 0;
        attempt_errors_.clear();
        standby_pass_ = attempts_ > 1 && info_.target_session_attrs() == "prefer-standby";
        host_timeout_ = info_.url_connect_timeout();
        if (host_timeout_.count() <= 0 && opts_.connect_timeout.count() > 0) {
            host_timeout_ = std::max<std::chrono::milliseconds>(
                std::chrono::seconds(2),
                opts_.connect_timeout / static_cast<long>(std::max<std::size_t>(attempts_, 1)));
        }
    }
    const conninfo* ci = &info_;
    if (attempts_ > 1) {
        const std::string tsa = standby_pass_                                      ? "standby"
                                : info_.target_session_attrs() == "prefer-standby" ? "any"
                                                                                   : "";
        attempt_info_ = info_.for_host(attempt_, tsa);
        ci = &attempt_info_;
        if (host_timeout_.count() > 0) {
            host_expired_ = false;
            host_timer_.start(host_timeout_, [this] {
                impl_ref keep(this);
                on_host_timeout();
            });
        }
    }
    // The one place a connection attempt starts.
    std::vector<const char*> keywords, values;
    ci->arrays(keywords, values);
    conn_.start(keywords.data(), values.data());
    if (!conn_) {
        fail_connect(
            error(errc::internal, "libpq could not allocate a connection (out of memory)"));
        return;
    }
    // Notices go to our logger, never to libpq's default (stderr).
    conn_.set_notice_receiver(&connection_impl::on_notice, this);
    // Verbose errors put the server's SQLSTATE into libpq's error text: the
    // only place libpq reports it for a failed connect, and for a FATAL that
    // arrives just before the socket closes (libpq then replaces the error
    // result by that text). Kept for the connection's life; statement errors
    // are read from the result's fields, which verbosity does not change.
    conn_.set_error_verbosity(PQERRORS_VERBOSE);
    if (conn_.status() == CONNECTION_BAD) {
        next_host(connect_error(conn_.error_message(), current_endpoint()));
        return;
    }
    const int fd = conn_.socket();
    if (fd < 0) {
        next_host(connect_error(conn_.error_message(), current_endpoint()));
        return;
    }
    phase_ = phase::connecting;
    watcher_ = io_watcher(loop_, fd, [this](unsigned events) { on_io(events); });
    if (!watcher_.is_open()) {
        fail_connect(error(errc::internal, "could not watch the socket of the new connection to " +
                                               current_endpoint().where())
                         .with_fatal(true));
        return;
    }
    struct stat st {};
    watched_fd_ = fd;
    watched_ino_ = ::fstat(fd, &st) == 0 ? st.st_ino : 0;
    // libpq's rule: before the first PQconnectPoll, behave as if it had said WRITING.
    watcher_.set_interest(io_writable);
}

// The socket rule. libpq closes its socket and opens a new one when it moves
// to the next address or host, or retries without SSL/GSS; the new one often
// gets the same descriptor number, and a uv_poll_t still registered for the
// old one would never fire again (epoll dropped the closed file). So after
// EVERY PQconnectPoll the watcher is re-targeted (io_watcher::reset_socket:
// close the old handle, watch the new fd) when
//   - PQsocket differs from the watched fd, or
//   - the socket's identity (fstat st_ino, unique among live sockets) differs,
//     which catches a new socket reusing the number, or
//   - libpq reports CONNECTION_STARTED after the poll: it only re-enters that
//     state right after connect() on a fresh socket.
// One fstat per poll, and a handful of polls per connect: cheap.
void connection_impl::follow_socket() {
    const int fd = conn_.socket();
    if (fd < 0) return;  // failed; the caller tears down
    struct stat st {};
    const ino_t ino = ::fstat(fd, &st) == 0 ? st.st_ino : 0;
    if (fd != watched_fd_ || ino != watched_ino_ || conn_.status() == CONNECTION_STARTED) {
        watcher_.reset_socket(fd);
        watched_fd_ = fd;
        watched_ino_ = ino;
    }
}

// PQconnectPoll runs on the threadpool. The TLS handshake and SCRAM's key
// derivation cost the client milliseconds of CPU per step; many connections
// opening at once would otherwise stall the loop for all of them. While a poll
// runs off the loop, the watcher has no interest and nothing on the loop
// thread touches the PGconn (teardown defers PQfinish until the poll is back).
void connection_impl::connect_step() {
    if (poll_running_) return;
    poll_running_ = true;
    watcher_.set_interest(io_none);
    pg_conn* conn = &conn_;
    offload_result(
        loop_, [conn] { return conn->connect_poll(); },
        [self = impl_ref(this)](PostgresPollingStatusType st) { self->on_poll_done(st); });
}

void connection_impl::on_poll_done(PostgresPollingStatusType st) {
    poll_running_ = false;
    if (finish_after_poll_) {
        finish_after_poll_ = false;
        conn_.finish();
    }
    if (phase_ != phase::connecting) return;  // timed out or closed while the poll ran
    if (host_expired_ && st != PGRES_POLLING_OK) {
        host_expired_ = false;
        on_host_timeout();
        return;
    }
    switch (st) {
        case PGRES_POLLING_READING:
            follow_socket();
            watcher_.set_interest(io_readable);
            break;
        case PGRES_POLLING_WRITING:
            follow_socket();
            watcher_.set_interest(io_writable);
            break;
        case PGRES_POLLING_OK:
            on_connected();
            break;
        case PGRES_POLLING_FAILED:
        default:
            next_host(connect_error(conn_.error_message(), current_endpoint()));
            break;
    }
}

void connection_impl::on_connected() {
    // Queries may need to write more than the socket takes at once; in
    // blocking mode PQsendQueryParams would then stall the loop.
    if (!conn_.set_nonblocking()) {
        fail_connect(error(errc::internal, "libpq refused non-blocking mode: " +
                                               libpq_reason(conn_.error_message()))
                         .with_fatal(true));
        return;
    }
    ep_ = current_endpoint();
    pid_ = conn_.backend_pid();
    phase_ = phase::ready;
    note_wanted_role();  // reads the reported role: once ready
    timer_.stop();
    host_timer_.close();
    timer_armed_ = false;
    watcher_.set_interest(
        io_readable);  // stays on while connected: we notice a server that goes away
    if (logger().should_log(spdlog::level::debug)) {
        const char* proto = conn_.ssl_in_use() ? conn_.ssl_attribute("protocol") : nullptr;
        logger().debug(
            "uvdb postgres: connected to {} in {} ms ({})", describe(),
            std::chrono::duration_cast<std::chrono::milliseconds>(loop_.now() - connect_started_)
                .count(),
            proto != nullptr ? proto : "no TLS");
    }
    if (on_connected_) {
        auto cb = std::move(on_connected_);
        on_connected_ = nullptr;
        deliver_to(cb, result<void>());
        if (phase_ != phase::ready) return;  // closed from inside the callback
    }
    pump();  // statements issued while connecting (or fails them if a notice broke us)
}

void connection_impl::on_connect_timeout() {
    if (phase_ != phase::resolving && phase_ != phase::connecting) return;
    const endpoint ep = phase_ == phase::connecting ? current_endpoint() : ep_;
    std::string msg = "connecting to " + ep.where() + " timed out after " +
                      std::to_string(opts_.connect_timeout.count()) + " ms";
    msg += phase_ == phase::resolving ? " while resolving the host name: check DNS"
                                      : ": check that the server is reachable and answering "
                                        "(firewall, load, network)";
    fail_connect(error(errc::timeout, std::move(msg)).with_fatal(true));
}

void connection_impl::on_host_timeout() {
    if (phase_ != phase::connecting) return;
    if (poll_running_) {
        host_expired_ = true;  // the worker owns the PGconn: on_poll_done moves on
        return;
    }
    next_host(error(errc::timeout, "connecting to " + current_endpoint().where() +
                                       " timed out after " + std::to_string(host_timeout_.count()) +
                                       " ms (per host)")
                  .with_fatal(true));
}

void connection_impl::next_host(error e) {
    if (attempts_ <= 1) {
        fail_connect(std::move(e));
        return;
    }
    host_timer_.stop();
    logger().debug("uvdb postgres: host {} of {} failed: {}", attempt_ + 1, attempts_,
                   e.to_string());
    if (!attempt_errors_.empty()) attempt_errors_ += "; ";
    attempt_errors_ += e.message();
    // Not while a poll runs: callers come from on_poll_done or the loop.
    watcher_.close();
    conn_.finish();
    watched_fd_ = -1;
    if (++attempt_ == attempts_) {
        if (!standby_pass_) {
            e.with_message("could not connect to any of the " + std::to_string(attempts_) +
                           " hosts: " + attempt_errors_);
            fail_connect(std::move(e));
            return;
        }
        standby_pass_ = false;  // prefer-standby found no standby: any server will do
        attempt_ = 0;
    }
    start_libpq();
}

void connection_impl::fail_connect(error e) {
    e.with_fatal(true);
    host_timer_.close();
    logger().debug("uvdb postgres: connect failed: {}", e.to_string());
    broken_ = true;
    broken_reason_ = e;
    phase_ = phase::failed;
    teardown_io();
    if (on_connected_) {
        auto cb = std::move(on_connected_);
        on_connected_ = nullptr;
        deliver_to(cb, result<void>(e));
    }
    if (!queue_.empty()) {
        error rest = e;
        rest.with_message("the statement was not run because the connection could not be opened: " +
                          e.message());
        fail_all(queue_.take_all(), rest, rest);
    }
}

endpoint connection_impl::current_endpoint() const {
    endpoint ep = ep_;
    if (!conn_ || poll_running_) return ep;  // the PGconn belongs to the worker thread now
    auto str = [](const char* s) { return s != nullptr ? std::string(s) : std::string(); };
    const std::string host = str(conn_.host());
    if (!host.empty()) {
        ep.host = host;
        ep.addr = str(conn_.hostaddr());
        ep.port = str(conn_.port());
    }
    const std::string user = str(conn_.user());
    if (!user.empty()) ep.user = user;
    const std::string db = str(conn_.db());
    if (!db.empty()) ep.db = db;
    return ep;
}

void connection_impl::on_notice(void* self, const PGresult* notice) {
    auto* c = static_cast<connection_impl*>(self);
    if (c->poll_running_) {
        // On the worker thread during connect: log only (spdlog is thread-safe),
        // leave the loop thread's state alone. A session that ends during the
        // startup fails the connect anyway.
        const char* msg = PQresultErrorField(notice, PG_DIAG_MESSAGE_PRIMARY);
        logger().debug("uvdb postgres: server notice while connecting: {}",
                       msg != nullptr ? msg : "");
        return;
    }
    const char* sev = PQresultErrorField(notice, PG_DIAG_SEVERITY);
    const char* msg = PQresultErrorField(notice, PG_DIAG_MESSAGE_PRIMARY);
    if (logger().should_log(spdlog::level::debug)) {
        logger().debug("uvdb postgres: server notice on {}: {}: {}", c->describe(),
                       sev != nullptr ? sev : "NOTICE", msg != nullptr ? msg : "");
    }
    if (notice_ends_session(notice)) {
        // Usually 57P01 delivered while idle: the socket closes next. Never hand
        // the connection out again, even if PQstatus still says OK.
        c->broken_ = true;
        const char* state = PQresultErrorField(notice, PG_DIAG_SQLSTATE);
        c->fatal_notice_state_ = state != nullptr ? state : "";
        c->fatal_notice_text_ = msg != nullptr ? msg : "";
        c->broken_reason_ =
            error(errc::connection_lost,
                  "the server announced the end of the session; open a new connection");
        c->broken_reason_.with_sqlstate(c->fatal_notice_state_).with_fatal(true);
    }
}

}  // namespace uvdb::postgres::detail
