// embedded_loop: uvdb inside an application's own libuv loop. The
// application already runs a TCP server on its uv_loop_t; uvdb is handed
// that loop, so queries and sockets share one thread and nothing blocks.
// Each line a client sends is answered with the result of SELECT upper($1).
//
//   embedded_loop [--port P] 'postgresql://user:password@host:5432/db?...'   serve until Ctrl-C
//   embedded_loop --self-test 5 ...   also connect 5 clients on the same loop, check their answers,
//   stop
//
// Try it: `nc 127.0.0.1 P`, type a line, get it back in capitals.

#include <arpa/inet.h>
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/uvdb.hpp>
#include <vector>

struct app;

// One client of the server. Shared, because a query callback may outlive the
// socket: it holds a reference and checks `closing` before writing.
struct session {
    app* a = nullptr;
    uv_tcp_t tcp{};
    char buf[4096];
    std::string inbox;
    std::deque<std::string> lines;  // answered one at a time, so answers keep the order of lines
    bool busy = false, closing = false;
    std::shared_ptr<session> self;  // released by the close callback
};

// One self-test client: sends a line, checks the answer.
struct probe {
    app* a = nullptr;
    uv_tcp_t tcp{};
    uv_connect_t connect_req{};
    char buf[256];
    std::string line, expected, received;
    bool closing = false;
};

struct app {
    uv_loop_t* loop = nullptr;
    uvdb::pool* db = nullptr;
    uv_tcp_t server{};
    uv_signal_t sigint{};
    uv_timer_t watchdog{};
    std::set<session*> sessions;
    std::vector<std::unique_ptr<probe>> probes;
    int answers = 0, correct = 0, exit_code = 0;
    bool shutting_down = false;
};

template <class T>
void alloc_in_owner(uv_handle_t* h, size_t, uv_buf_t* out) {
    auto* owner = static_cast<T*>(h->data);
    *out = uv_buf_init(owner->buf, sizeof owner->buf);
}

void write_text(uv_tcp_t& tcp, std::string text) {
    struct write_req {
        uv_write_t req;
        std::string data;
    };
    auto* w = new write_req{{}, std::move(text)};
    w->req.data = w;
    uv_buf_t b = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
    // The callback runs even when the socket closes first (UV_ECANCELED): it frees the request.
    uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp), &b, 1,
             [](uv_write_t* req, int) { delete static_cast<write_req*>(req->data); });
}

void close_session(session& s) {
    if (s.closing) return;
    s.closing = true;
    s.a->sessions.erase(&s);
    uv_close(reinterpret_cast<uv_handle_t*>(&s.tcp), [](uv_handle_t* h) {
        auto keep =
            std::move(static_cast<session*>(h->data)->self);  // freed at the end of this scope
    });
}

// Answers the session's next line through the pool: acquire, query, release in one call.
void answer_next(const std::shared_ptr<session>& s) {
    if (s->busy || s->closing || s->lines.empty()) return;
    s->busy = true;
    std::string line = std::move(s->lines.front());
    s->lines.pop_front();
    s->a->db->query(
        "SELECT upper($1)", uvdb::make_params(line), [s](uvdb::result<uvdb::result_set> r) {
            s->busy = false;
            if (s->closing) return;  // the client left (or we are shutting down): nobody to answer
            write_text(s->tcp,
                       (r ? std::string((*r)[0].text(0)) : "error: " + r.err().to_string()) + "\n");
            answer_next(s);
        });
}

void shut_down(app& a, int exit_code);

void on_server_read(uv_stream_t* stream, ssize_t n, const uv_buf_t*) {
    auto* s = static_cast<session*>(stream->data);
    if (n < 0) return close_session(*s);  // EOF or error
    s->inbox.append(s->buf, static_cast<size_t>(n));
    for (size_t eol; (eol = s->inbox.find('\n')) != std::string::npos; s->inbox.erase(0, eol + 1)) {
        std::string line = s->inbox.substr(0, eol);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        s->lines.push_back(std::move(line));
    }
    answer_next(s->self);
}

void on_connection(uv_stream_t* server, int status) {
    auto& a = *static_cast<app*>(server->data);
    if (status < 0 || a.shutting_down) return;
    auto s = std::make_shared<session>();
    s->a = &a;
    s->self = s;
    uv_tcp_init(a.loop, &s->tcp);
    s->tcp.data = s.get();
    a.sessions.insert(s.get());
    if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&s->tcp)) != 0) return close_session(*s);
    uv_read_start(reinterpret_cast<uv_stream_t*>(&s->tcp), alloc_in_owner<session>, on_server_read);
}

void probe_done(probe& p, bool ok) {
    if (p.closing) return;
    p.closing = true;
    app& a = *p.a;
    a.correct += ok ? 1 : 0;
    std::printf("client: sent \"%s\", got \"%s\"%s\n", p.line.c_str(), p.received.c_str(),
                ok ? "" : "  WRONG");
    // No close callback needed: the probe is freed with a.probes, after the loop ended.
    uv_close(reinterpret_cast<uv_handle_t*>(&p.tcp), nullptr);
    if (++a.answers == static_cast<int>(a.probes.size())) {
        std::printf("%d/%d answers correct\n", a.correct, a.answers);
        shut_down(a, a.correct == a.answers ? 0 : 1);
    }
}

void on_probe_read(uv_stream_t* stream, ssize_t n, const uv_buf_t*) {
    auto& p = *static_cast<probe*>(stream->data);
    if (n < 0) return probe_done(p, false);
    p.received.append(p.buf, static_cast<size_t>(n));
    if (auto eol = p.received.find('\n'); eol != std::string::npos) {
        p.received.resize(eol);
        probe_done(p, p.received == p.expected);
    }
}

void on_probe_connected(uv_connect_t* req, int status) {
    auto& p = *static_cast<probe*>(req->data);
    if (status < 0) return probe_done(p, false);
    write_text(p.tcp, p.line + "\n");
    uv_read_start(reinterpret_cast<uv_stream_t*>(&p.tcp), alloc_in_owner<probe>, on_probe_read);
}

void start_probe(app& a, const sockaddr_in& addr, int id) {
    auto& p = *a.probes.emplace_back(std::make_unique<probe>());
    p.a = &a;
    p.line = "hello from client " + std::to_string(id);
    p.expected = "HELLO FROM CLIENT " + std::to_string(id);
    uv_tcp_init(a.loop, &p.tcp);
    p.tcp.data = p.connect_req.data = &p;
    uv_tcp_connect(&p.connect_req, &p.tcp, reinterpret_cast<const sockaddr*>(&addr),
                   on_probe_connected);
}

// Step 1 and 2 of a clean shutdown, from inside a callback: close the pool
// (idle connections close, waiting callers fail with pool_closed, nothing new
// starts), then close the application's handles. Once all of them closed,
// uv_run in main() returns and main() does the rest.
void shut_down(app& a, int exit_code) {
    if (a.shutting_down) return;
    a.shutting_down = true;
    a.exit_code = exit_code;
    a.db->close();
    uv_close(reinterpret_cast<uv_handle_t*>(&a.server), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&a.sigint), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&a.watchdog), nullptr);
    for (session* s : std::set<session*>(a.sessions)) close_session(*s);
    for (auto& p : a.probes) probe_done(*p, false);  // only those still waiting for an answer
}

int main(int argc, char** argv) {
    const char* url = std::getenv("DATABASE_URL");
    int port = 0, self_test = 0;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = std::atoi(argv[++i]);
        } else if (std::strcmp(argv[i], "--self-test") == 0 && i + 1 < argc) {
            self_test = std::atoi(argv[++i]);
        } else {
            url = argv[i];
        }
    }
    if (url == nullptr || *url == '\0' || port < 0 || port > 65535 || self_test < 0) {
        std::fprintf(stderr,
                     "usage: %s [--port P] [--self-test N] postgresql://user:password@host:port/db"
                     "  (or set DATABASE_URL)\n",
                     argv[0]);
        return 2;
    }
    std::printf("connecting to %s\n", uvdb::mask_password(url).c_str());

    // The application's loop, created the application's way.
    uv_loop_t loop;
    uv_loop_init(&loop);
    app a;
    a.loop = &loop;

    // uvdb borrows the loop: it adds its handles to it and never runs or closes it.
    // Both live in optionals because they must go before the loop does, in order.
    std::optional<uvdb::event_loop> uvdb_loop(std::in_place, &loop);
    uvdb::pool_options opts;
    opts.connection.url = url;
    opts.connection.application_name = "uvdb-embedded-loop";
    std::optional<uvdb::pool> db;
    try {
        db.emplace(*uvdb_loop, uvdb::postgres::make_driver(), opts);
    } catch (const std::invalid_argument& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    a.db = &*db;

    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", port, &addr);
    uv_tcp_init(&loop, &a.server);
    a.server.data = &a;
    int rc = uv_tcp_bind(&a.server, reinterpret_cast<const sockaddr*>(&addr), 0);
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&a.server), 128, on_connection);
    if (rc != 0) {
        std::fprintf(stderr, "error: cannot listen on 127.0.0.1:%d: %s\n", port, uv_strerror(rc));
        a.exit_code = 1;
    } else {
        int len = sizeof addr;
        uv_tcp_getsockname(&a.server, reinterpret_cast<sockaddr*>(&addr), &len);
        std::printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    }
    std::fflush(stdout);

    uv_signal_init(&loop, &a.sigint);
    a.sigint.data = &a;
    uv_signal_start(
        &a.sigint, [](uv_signal_t* h, int) { shut_down(*static_cast<app*>(h->data), 0); }, SIGINT);
    uv_timer_init(&loop, &a.watchdog);
    a.watchdog.data = &a;
    if (rc != 0) {
        shut_down(a, 1);
    } else if (self_test > 0) {
        // A self-test that hangs fails instead of serving forever.
        uv_timer_start(
            &a.watchdog,
            [](uv_timer_t* t) {
                std::fprintf(stderr, "error: the self-test took longer than 30 s\n");
                shut_down(*static_cast<app*>(t->data), 1);
            },
            30'000, 0);
        for (int i = 1; i <= self_test; ++i) start_probe(a, addr, i);
    }

    uv_run(&loop, UV_RUN_DEFAULT);  // the application's loop; uvdb's work runs inside it

    // Steps 3 to 5: the pool object and then uvdb's loop state go (their
    // handles start closing), one more run lets the close callbacks finish,
    // and the loop closes with nothing left open.
    db.reset();
    uvdb_loop.reset();
    uv_run(&loop, UV_RUN_DEFAULT);
    rc = uv_loop_close(&loop);
    std::printf("uv_loop_close: %s\n", rc == 0 ? "0 (every handle closed)" : uv_strerror(rc));
    return rc == 0 ? a.exit_code : 1;
}
