#include "fault/support/fault_proxy.hpp"

#include <uv.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace uvdb::test {

namespace {

// Above this many bytes waiting to be written to one side, the proxy stops
// reading from the other, as a real network path would push back.
constexpr std::size_t high_water = 1 << 20;
// Pause after each byte in one-byte mode: long enough that the client's read
// usually finds a single byte, short enough that a TLS handshake takes well
// under a second.
constexpr std::chrono::microseconds byte_gap{60};

struct link;

struct side {
    uv_tcp_t tcp{};
    link* owner = nullptr;
    bool is_client = false;
    bool open = false;  // initialised and not yet closing
    bool eof = false;   // the peer sent FIN
    std::size_t writes_in_flight = 0;
};

struct chunk {
    std::vector<char> data;
    std::uint64_t due_ms = 0;
};

struct write_op {
    uv_write_t req{};
    std::vector<char> data;
    side* dest = nullptr;
};

}  // namespace

struct fault_proxy::impl {
    uv_loop_t loop{};
    uv_async_t wake{};
    uv_tcp_t* listener = nullptr;
    std::thread thread;
    int port = 0;
    sockaddr_in upstream{};

    std::mutex mu;
    std::deque<std::pair<std::function<void()>, std::promise<void>>> commands;

    // Settings: proxy thread only.
    bool paused = false;
    bool one_byte = false;
    bool silent = false;
    std::uint64_t latency_ms = 0;
    std::size_t stall_after = 0;
    std::set<link*> links;

    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::size_t> open{0};
    std::atomic<std::uint64_t> bytes_to_clients{0};
    std::atomic<std::uint64_t> writes_to_clients{0};

    void run(std::function<void()> fn);
    void listen_on(uv_tcp_t* tcp);
    void start_listening(int fd);
    void stop_listening();
};

namespace {

struct link {
    fault_proxy::impl* p = nullptr;
    side client;
    side server;
    uv_connect_t connect_req{};
    uv_timer_t timer{};
    bool silent = false;
    bool connected = false;  // upstream connection established
    bool closing = false;
    bool stalled = false;
    std::size_t stall_after = 0;  // 0 = never
    std::size_t to_client_bytes = 0;
    int handles = 0;  // handles whose close callback has not run yet
    std::deque<chunk> to_client;
    std::deque<chunk> to_server;

    side& other(side& s) { return &s == &client ? server : client; }
    std::deque<chunk>& queue_to(side& dest) { return &dest == &client ? to_client : to_server; }
};

void release_handle(link* l) {
    if (--l->handles == 0) delete l;
}

// A side's tcp handle carries the side, the timer carries the link.
void on_side_closed(uv_handle_t* h) { release_handle(static_cast<side*>(h->data)->owner); }
void on_timer_closed(uv_handle_t* h) { release_handle(static_cast<link*>(h->data)); }

void close_side(side& s, bool reset) {
    if (!s.open) return;
    s.open = false;
    if (reset) {
        if (uv_tcp_close_reset(&s.tcp, on_side_closed) == 0) return;
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&s.tcp), on_side_closed);
}

void close_link(link* l, bool reset_client) {
    if (l->closing) return;
    l->closing = true;
    l->p->links.erase(l);
    l->p->open.fetch_sub(1);
    close_side(l->client, reset_client);
    close_side(l->server, false);
    uv_close(reinterpret_cast<uv_handle_t*>(&l->timer), on_timer_closed);
}

void start_reading(side& s);

bool drained_towards(link* l, side& dest) {
    return l->queue_to(dest).empty() && dest.writes_in_flight == 0;
}

// A side that sent FIN is finished once everything it sent reached the other
// side; then the other side is closed too (FIN), as a proxy would.
void maybe_finish(link* l) {
    if (l->closing) return;
    if ((l->client.eof && drained_towards(l, l->server)) ||
        (l->server.eof && drained_towards(l, l->client))) {
        close_link(l, false);
    }
}

void on_written(uv_write_t* req, int status) {
    auto* op = static_cast<write_op*>(req->data);
    side& dest = *op->dest;
    link* l = dest.owner;
    --dest.writes_in_flight;
    delete op;
    if (l->closing) return;
    if (status < 0) {
        close_link(l, false);
        return;
    }
    // Below the high-water mark again: let the source speak.
    if (uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(&dest.tcp)) < high_water) {
        start_reading(l->other(dest));
    }
    maybe_finish(l);
}

void write_all(side& dest, const char* data, std::size_t n) {
    auto* op = new write_op;
    op->data.assign(data, data + n);
    op->dest = &dest;
    op->req.data = op;
    uv_buf_t buf = uv_buf_init(op->data.data(), static_cast<unsigned>(op->data.size()));
    ++dest.writes_in_flight;
    if (uv_write(&op->req, reinterpret_cast<uv_stream_t*>(&dest.tcp), &buf, 1, on_written) != 0) {
        --dest.writes_in_flight;
        delete op;
        close_link(dest.owner, false);
    }
}

void deliver(side& dest, std::vector<char>& data) {
    link* l = dest.owner;
    fault_proxy::impl* p = l->p;
    if (l->stalled) return;
    if (dest.is_client && l->stall_after != 0 &&
        l->to_client_bytes + data.size() >= l->stall_after) {
        // Forward up to the limit, then fall silent for good.
        data.resize(l->stall_after - l->to_client_bytes);
        l->stalled = true;
        for (side* s : {&l->client, &l->server}) {
            if (s->open) uv_read_stop(reinterpret_cast<uv_stream_t*>(&s->tcp));
        }
        if (data.empty()) return;
    }
    if (dest.is_client) l->to_client_bytes += data.size();
    if (dest.is_client) p->bytes_to_clients.fetch_add(data.size());
    if (dest.is_client && p->one_byte && dest.writes_in_flight == 0) {
        // One byte per write, each followed by a short pause, so the client's
        // reads see them one at a time. Blocking here stalls only the proxy.
        std::size_t i = 0;
        for (; i < data.size(); ++i) {
            uv_buf_t b = uv_buf_init(&data[i], 1);
            if (uv_try_write(reinterpret_cast<uv_stream_t*>(&dest.tcp), &b, 1) != 1) break;
            p->writes_to_clients.fetch_add(1);
            std::this_thread::sleep_for(byte_gap);
        }
        if (i < data.size()) {
            p->writes_to_clients.fetch_add(1);
            write_all(dest, data.data() + i, data.size() - i);
        }
        return;
    }
    if (dest.is_client) p->writes_to_clients.fetch_add(1);
    write_all(dest, data.data(), data.size());
    if (uv_stream_get_write_queue_size(reinterpret_cast<uv_stream_t*>(&dest.tcp)) >= high_water) {
        side& src = l->other(dest);
        if (src.open) uv_read_stop(reinterpret_cast<uv_stream_t*>(&src.tcp));
    }
}

void flush_due(link* l);

void arm_timer(link* l) {
    std::uint64_t next = UINT64_MAX;
    if (!l->to_client.empty()) next = std::min(next, l->to_client.front().due_ms);
    if (!l->to_server.empty()) next = std::min(next, l->to_server.front().due_ms);
    if (next == UINT64_MAX || l->closing) return;
    const std::uint64_t now = uv_now(l->timer.loop);
    uv_timer_start(
        &l->timer, [](uv_timer_t* t) { flush_due(static_cast<link*>(t->data)); },
        next > now ? next - now : 0, 0);
}

void flush_due(link* l) {
    if (l->closing || l->p->paused) return;
    const std::uint64_t now = uv_now(l->timer.loop);
    for (side* dest : {&l->client, &l->server}) {
        auto& q = l->queue_to(*dest);
        while (!q.empty() && q.front().due_ms <= now && dest->open) {
            deliver(*dest, q.front().data);
            q.pop_front();
            if (l->closing) return;
        }
    }
    arm_timer(l);
    maybe_finish(l);
}

void on_alloc(uv_handle_t*, size_t suggested, uv_buf_t* buf) {
    buf->base = new char[suggested];
    buf->len = suggested;
}

void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* s = static_cast<side*>(stream->data);
    std::unique_ptr<char[]> owned(buf->base);
    link* l = s->owner;
    if (nread == 0) return;
    if (nread < 0) {
        uv_read_stop(stream);
        if (nread == UV_EOF) {
            s->eof = true;
            maybe_finish(l);
        } else {
            close_link(l, false);
        }
        return;
    }
    side& dest = l->other(*s);
    auto& q = l->queue_to(dest);
    chunk c;
    c.data.assign(buf->base, buf->base + nread);
    if (l->p->latency_ms == 0 && q.empty()) {
        deliver(dest, c.data);
        return;
    }
    c.due_ms = uv_now(stream->loop) + l->p->latency_ms;
    q.push_back(std::move(c));
    arm_timer(l);
}

void start_reading(side& s) {
    link* l = s.owner;
    if (!s.open || s.eof || l->closing || l->silent || l->stalled || !l->connected || l->p->paused)
        return;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&s.tcp), on_alloc, on_read);
}

void on_upstream(uv_connect_t* req, int status) {
    auto* l = static_cast<link*>(req->data);
    if (l->closing) return;
    if (status < 0) {
        close_link(l, false);
        return;
    }
    l->connected = true;
    start_reading(l->client);
    start_reading(l->server);
}

void on_connection(uv_stream_t* server, int status) {
    auto* p = static_cast<fault_proxy::impl*>(server->data);
    if (status < 0) return;
    auto* l = new link;
    l->p = p;
    l->client.owner = l->server.owner = l;
    l->client.is_client = true;
    uv_tcp_init(&p->loop, &l->client.tcp);
    l->client.tcp.data = &l->client;
    l->client.open = true;
    l->handles = 1;
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&l->client.tcp)) != 0) {
        close_side(l->client, false);
        return;
    }
    uv_timer_init(&p->loop, &l->timer);
    l->timer.data = l;
    ++l->handles;
    p->links.insert(l);
    p->accepted.fetch_add(1);
    p->open.fetch_add(1);
    uv_tcp_nodelay(&l->client.tcp, 1);
    // Probes find clients that vanished behind a black hole once it heals.
    uv_tcp_keepalive(&l->client.tcp, 1, 1);
    l->stall_after = p->stall_after;
    if (p->silent) {
        l->silent = true;  // accepted, and then nothing, ever
        return;
    }
    uv_tcp_init(&p->loop, &l->server.tcp);
    l->server.tcp.data = &l->server;
    l->server.open = true;
    ++l->handles;
    uv_tcp_nodelay(&l->server.tcp, 1);
    l->connect_req.data = l;
    if (uv_tcp_connect(&l->connect_req, &l->server.tcp,
                       reinterpret_cast<const sockaddr*>(&p->upstream), on_upstream) != 0) {
        close_link(l, false);
    }
}

// Handle close callbacks for the listener and the async, which belong to impl.
void free_listener(uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); }

}  // namespace

void fault_proxy::impl::run(std::function<void()> fn) {
    std::promise<void> done;
    auto fut = done.get_future();
    {
        std::lock_guard<std::mutex> lock(mu);
        commands.emplace_back(std::move(fn), std::move(done));
    }
    uv_async_send(&wake);
    fut.wait();
}

void fault_proxy::impl::listen_on(uv_tcp_t* tcp) {
    tcp->data = this;
    const int rc = uv_listen(reinterpret_cast<uv_stream_t*>(tcp), 128, on_connection);
    if (rc != 0)
        throw std::runtime_error(std::string("fault_proxy: listen failed: ") + uv_strerror(rc));
    listener = tcp;
}

void fault_proxy::impl::start_listening(int fd) {
    if (listener != nullptr) return;
    auto* tcp = new uv_tcp_t;
    uv_tcp_init(&loop, tcp);
    int rc = 0;
    if (fd >= 0) {
        rc = uv_tcp_open(tcp, fd);
    } else {
        sockaddr_in addr{};
        uv_ip4_addr("127.0.0.1", port, &addr);
        rc = uv_tcp_bind(tcp, reinterpret_cast<const sockaddr*>(&addr), 0);
    }
    if (rc == 0) {
        sockaddr_storage name{};
        int len = sizeof name;
        rc = uv_tcp_getsockname(tcp, reinterpret_cast<sockaddr*>(&name), &len);
        if (rc == 0) port = ntohs(reinterpret_cast<sockaddr_in*>(&name)->sin_port);
    }
    if (rc != 0) {
        uv_close(reinterpret_cast<uv_handle_t*>(tcp), free_listener);
        throw std::runtime_error(std::string("fault_proxy: cannot listen: ") + uv_strerror(rc));
    }
    listen_on(tcp);
}

void fault_proxy::impl::stop_listening() {
    if (listener == nullptr) return;
    uv_close(reinterpret_cast<uv_handle_t*>(listener), free_listener);
    listener = nullptr;
}

namespace {

void make_impl(fault_proxy::impl& p, int listen_fd, const std::string& host, int upstream_port) {
    if (uv_ip4_addr(host.c_str(), upstream_port, &p.upstream) != 0) {
        throw std::invalid_argument("fault_proxy: upstream must be an IPv4 address, got " + host);
    }
    uv_loop_init(&p.loop);
    uv_async_init(&p.loop, &p.wake, [](uv_async_t* a) {
        auto* self = static_cast<fault_proxy::impl*>(a->data);
        std::deque<std::pair<std::function<void()>, std::promise<void>>> todo;
        {
            std::lock_guard<std::mutex> lock(self->mu);
            todo.swap(self->commands);
        }
        for (auto& [fn, done] : todo) {
            fn();
            done.set_value();
        }
    });
    p.wake.data = &p;
    // Before the thread starts, the loop is ours to touch from this thread.
    p.start_listening(listen_fd);
    p.thread = std::thread([&p] { uv_run(&p.loop, UV_RUN_DEFAULT); });
}

}  // namespace

fault_proxy::fault_proxy(std::string upstream_host, int upstream_port)
    : impl_(std::make_unique<impl>()) {
    make_impl(*impl_, -1, upstream_host, upstream_port);
}

fault_proxy::fault_proxy(int listen_fd, std::string upstream_host, int upstream_port)
    : impl_(std::make_unique<impl>()) {
    make_impl(*impl_, listen_fd, upstream_host, upstream_port);
}

fault_proxy::~fault_proxy() {
    impl& p = *impl_;
    p.run([&p] {
        while (!p.links.empty()) close_link(*p.links.begin(), false);
        p.stop_listening();
        uv_close(reinterpret_cast<uv_handle_t*>(&p.wake), nullptr);
    });
    p.thread.join();
    uv_loop_close(&p.loop);
}

int fault_proxy::port() const noexcept { return impl_->port; }

void fault_proxy::pass() {
    impl& p = *impl_;
    p.run([&p] {
        p.silent = false;
        p.one_byte = false;
        p.latency_ms = 0;
        p.stall_after = 0;
        const bool was_paused = p.paused;
        p.paused = false;
        for (link* l : std::set<link*>(p.links)) {
            start_reading(l->client);
            start_reading(l->server);
            if (was_paused) flush_due(l);
        }
    });
}

void fault_proxy::set_paused(bool paused) {
    impl& p = *impl_;
    p.run([&p, paused] {
        p.paused = paused;
        for (link* l : std::set<link*>(p.links)) {
            if (paused) {
                for (side* s : {&l->client, &l->server}) {
                    if (s->open) uv_read_stop(reinterpret_cast<uv_stream_t*>(&s->tcp));
                }
            } else {
                start_reading(l->client);
                start_reading(l->server);
                flush_due(l);
            }
        }
    });
}

void fault_proxy::set_latency(std::chrono::milliseconds latency) {
    impl& p = *impl_;
    p.run([&p, latency] { p.latency_ms = static_cast<std::uint64_t>(latency.count()); });
}

void fault_proxy::set_one_byte_chunks(bool on) {
    impl& p = *impl_;
    p.run([&p, on] { p.one_byte = on; });
}

void fault_proxy::set_stall_after(std::size_t bytes) {
    impl& p = *impl_;
    p.run([&p, bytes] { p.stall_after = bytes; });
}

void fault_proxy::set_silent(bool on) {
    impl& p = *impl_;
    p.run([&p, on] { p.silent = on; });
}

void fault_proxy::reset_all() {
    impl& p = *impl_;
    p.run([&p] {
        while (!p.links.empty()) close_link(*p.links.begin(), true);
    });
}

void fault_proxy::close_all() {
    impl& p = *impl_;
    p.run([&p] {
        while (!p.links.empty()) close_link(*p.links.begin(), false);
    });
}

void fault_proxy::stop_listening() {
    impl& p = *impl_;
    p.run([&p] { p.stop_listening(); });
}

void fault_proxy::start_listening() {
    impl& p = *impl_;
    std::string err;
    p.run([&p, &err] {
        try {
            p.start_listening(-1);
        } catch (const std::exception& e) {
            err = e.what();
        }
    });
    if (!err.empty()) throw std::runtime_error(err);
}

std::uint64_t fault_proxy::accepted() const { return impl_->accepted.load(); }
std::size_t fault_proxy::open_connections() const { return impl_->open.load(); }
std::uint64_t fault_proxy::bytes_to_clients() const { return impl_->bytes_to_clients.load(); }
std::uint64_t fault_proxy::writes_to_clients() const { return impl_->writes_to_clients.load(); }

}  // namespace uvdb::test
