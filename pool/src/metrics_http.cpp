// metrics_server: a deliberately tiny HTTP/1.1 server on libuv TCP. It reads
// one request head per connection, answers it, and closes: that is all a
// Prometheus scrape needs, and it keeps every path short and bounded (no
// keep-alive, no chunked bodies, no request bodies). Everything runs in loop
// callbacks and never blocks; the response is built synchronously from the
// pools' stats (a few µs per pool).
//
// Lifetime: the listener state is freed once (a) its owner stopped it (the
// handle was stopped or destroyed, or the loop is being destroyed) and (b)
// libuv has run the close callback of every handle it opened.

#include <uv.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <uvdb/metrics.hpp>
#include <uvdb/metrics_server.hpp>

#include "intrusive_list.hpp"

namespace uvdb {
namespace detail {

namespace {
constexpr std::size_t max_request_head = std::size_t{8} * 1024;
constexpr std::uint64_t request_timeout_ms = 10'000;
}  // namespace

struct metrics_client;

struct metrics_listener {
    event_loop* loop = nullptr;
    uv_tcp_t server{};
    metrics_server::body_source body;
    intrusive_list<metrics_client> clients;
    std::uint16_t port = 0;
    std::uint64_t responses = 0;
    std::uint64_t closing_hook = 0;
    std::size_t open_handles = 0;  // handles whose close callback has not run yet
    bool stopped = false;
    bool owned = true;  // a metrics_server handle still points here

    void stop() noexcept;
    void handle_closed() noexcept {
        --open_handles;
        maybe_free();
    }
    void maybe_free() noexcept {
        if (stopped && !owned && open_handles == 0) delete this;
    }
};

struct metrics_client : list_node {
    metrics_listener* owner = nullptr;
    uv_tcp_t tcp{};
    uv_timer_t timer{};
    uv_write_t write_req{};
    uv_shutdown_t shutdown_req{};
    std::string head;      // the request read so far
    std::string response;  // kept alive until the write completes
    std::array<char, 2048> buf{};
    int open_handles = 0;
    bool answered = false;  // the response is written or being written
    bool closing = false;

    // Closes both handles; the record goes once both close callbacks ran.
    void close() noexcept {
        if (closing) return;
        closing = true;
        owner->clients.erase(*this);
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp), &on_closed);
        uv_close(reinterpret_cast<uv_handle_t*>(&timer), &on_closed);
    }

    static void on_closed(uv_handle_t* h) {
        auto* c = static_cast<metrics_client*>(h->data);
        metrics_listener* l = c->owner;
        if (--c->open_handles == 0) delete c;
        l->handle_closed();
    }

    void respond(std::string_view status, std::string_view content_type, std::string body) {
        answered = true;
        response.reserve(body.size() + 160);
        response = "HTTP/1.1 ";
        response += status;
        response += "\r\nContent-Type: ";
        response += content_type;
        response += "\r\nContent-Length: ";
        response += std::to_string(body.size());
        response += "\r\nConnection: close\r\n\r\n";
        response += body;
        ++owner->responses;
        uv_buf_t b = uv_buf_init(response.data(), static_cast<unsigned>(response.size()));
        write_req.data = this;
        if (uv_write(&write_req, reinterpret_cast<uv_stream_t*>(&tcp), &b, 1, &on_written) != 0)
            close();
    }

    // One request per connection. Closing at once would make the kernel
    // answer bytes the client sent and we did not read (the rest of an
    // oversized head) with a reset that can destroy the response in flight;
    // so: send FIN, read and drop until the client closes (or the request
    // timer fires), then close.
    static void on_written(uv_write_t* req, int status) {
        auto* c = static_cast<metrics_client*>(req->data);
        if (c->closing) return;
        c->shutdown_req.data = c;
        if (status != 0 || uv_shutdown(&c->shutdown_req, reinterpret_cast<uv_stream_t*>(&c->tcp),
                                       [](uv_shutdown_t*, int) {}) != 0) {
            c->close();
        }
    }

    // Answers once the head is complete ("\r\n\r\n"); only the request line matters.
    void on_head() {
        const std::string_view h(head);
        const auto line_end = h.find("\r\n");
        const std::string_view line = h.substr(0, line_end);
        const auto sp1 = line.find(' ');
        const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
        if (sp2 == std::string_view::npos || line.substr(sp2 + 1).rfind("HTTP/1.", 0) != 0) {
            respond("400 Bad Request", "text/plain; charset=utf-8", "bad request\n");
            return;
        }
        const std::string_view method = line.substr(0, sp1);
        std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
        target = target.substr(0, target.find('?'));  // Prometheus may add parameters
        if (method == "GET" && target == "/metrics") {
            respond("200 OK", metrics::prometheus_content_type, owner->body());
        } else {
            respond("404 Not Found", "text/plain; charset=utf-8",
                    "not found; the metrics are at GET /metrics\n");
        }
    }

    static void on_alloc(uv_handle_t* h, std::size_t /*suggested*/, uv_buf_t* out) {
        auto* c = static_cast<metrics_client*>(h->data);
        *out = uv_buf_init(c->buf.data(), static_cast<unsigned>(c->buf.size()));
    }

    static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* /*b*/) {
        auto* c = static_cast<metrics_client*>(s->data);
        if (n == 0) return;  // EAGAIN
        if (n < 0) {         // the client closed (or failed): done
            c->close();
            return;
        }
        if (c->answered) return;  // lingering after the response: dropped
        const std::size_t scan_from = c->head.size() < 3 ? 0 : c->head.size() - 3;
        c->head.append(c->buf.data(), static_cast<std::size_t>(n));
        if (c->head.find("\r\n\r\n", scan_from) != std::string::npos) {
            c->on_head();
        } else if (c->head.size() > max_request_head) {
            c->respond("431 Request Header Fields Too Large", "text/plain; charset=utf-8",
                       "request head too large\n");
        }
    }

    static void on_timeout(uv_timer_t* t) { static_cast<metrics_client*>(t->data)->close(); }
};

void metrics_listener::stop() noexcept {
    if (stopped) return;
    stopped = true;
    port = 0;
    if (closing_hook != 0) {
        loop->remove_closing_hook(closing_hook);
        closing_hook = 0;
    }
    while (!clients.empty()) clients.front().close();
    uv_close(reinterpret_cast<uv_handle_t*>(&server),
             [](uv_handle_t* h) { static_cast<metrics_listener*>(h->data)->handle_closed(); });
}

namespace {

void on_connection(uv_stream_t* server, int status) {
    auto* l = static_cast<metrics_listener*>(server->data);
    if (status < 0 || l->stopped) return;
    auto* c = new metrics_client;
    c->owner = l;
    uv_tcp_init(l->loop->native(), &c->tcp);
    uv_timer_init(l->loop->native(), &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    l->open_handles += 2;
    l->clients.push_back(*c);
    // A scrape in progress does not keep the application's loop alive either.
    uv_unref(reinterpret_cast<uv_handle_t*>(&c->tcp));
    uv_unref(reinterpret_cast<uv_handle_t*>(&c->timer));
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0 ||
        uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), &metrics_client::on_alloc,
                      &metrics_client::on_read) != 0) {
        c->close();
        return;
    }
    uv_timer_start(&c->timer, &metrics_client::on_timeout, request_timeout_ms, 0);
}

}  // namespace
}  // namespace detail

result<metrics_server> metrics_server::start(event_loop& loop, std::string_view host,
                                             std::uint16_t port, std::vector<const pool*> pools) {
    return start(loop, host, port,
                 [pools = std::move(pools)] { return metrics::render_prometheus(pools); });
}

result<metrics_server> metrics_server::start(event_loop& loop, std::string_view host,
                                             std::uint16_t port, body_source body) {
    const std::string h(host);
    sockaddr_storage addr{};
    if (uv_ip4_addr(h.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr)) != 0 &&
        uv_ip6_addr(h.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0) {
        return error(errc::bad_config, "metrics server: \"" + h +
                                           "\" is not an IPv4 or IPv6 address (e.g. 127.0.0.1)");
    }
    auto l = std::make_unique<detail::metrics_listener>();
    l->loop = &loop;
    l->body = std::move(body);
    uv_tcp_init(loop.native(), &l->server);
    l->server.data = l.get();
    l->open_handles = 1;
    auto fail = [&](const char* what, int rc) -> result<metrics_server> {
        error e(errc::bad_config, std::string("metrics server: ") + what + " " + h + ":" +
                                      std::to_string(port) + " failed: " + uv_strerror(rc));
        // Closed like any other stop; freed by the close callback.
        detail::metrics_listener* raw = l.release();
        raw->owned = false;
        raw->stop();
        return e;
    };
    if (int rc = uv_tcp_bind(&l->server, reinterpret_cast<const sockaddr*>(&addr), 0); rc != 0)
        return fail("binding", rc);
    if (int rc = uv_listen(reinterpret_cast<uv_stream_t*>(&l->server), 64, &detail::on_connection);
        rc != 0)
        return fail("listening on", rc);
    sockaddr_storage bound{};
    int len = sizeof bound;
    uv_tcp_getsockname(&l->server, reinterpret_cast<sockaddr*>(&bound), &len);
    l->port = bound.ss_family == AF_INET6
                  ? ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port)
                  : ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port);
    uv_unref(reinterpret_cast<uv_handle_t*>(&l->server));
    detail::metrics_listener* raw = l.release();
    // When the loop goes first, its handles must close while it still runs.
    raw->closing_hook = loop.add_closing_hook([raw] {
        raw->closing_hook = 0;
        raw->stop();
    });
    return metrics_server(raw);
}

metrics_server::metrics_server(metrics_server&& other) noexcept
    : impl_(std::exchange(other.impl_, nullptr)) {}

metrics_server& metrics_server::operator=(metrics_server&& other) noexcept {
    if (this != &other) {
        stop();
        impl_ = std::exchange(other.impl_, nullptr);
    }
    return *this;
}

metrics_server::~metrics_server() { stop(); }

std::uint16_t metrics_server::port() const noexcept { return impl_ == nullptr ? 0 : impl_->port; }

std::uint64_t metrics_server::responses() const noexcept {
    return impl_ == nullptr ? 0 : impl_->responses;
}

void metrics_server::stop() noexcept {
    if (impl_ == nullptr) return;
    detail::metrics_listener* l = std::exchange(impl_, nullptr);
    l->stop();
    l->owned = false;
    l->maybe_free();
}

}  // namespace uvdb
