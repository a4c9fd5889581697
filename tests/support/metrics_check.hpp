#pragma once
/// \file
/// Checking metrics output the way a monitoring system would, for the unit
/// and pg suites (header-only: both link libuv, neither needs more):
/// - prometheus_parse: Debian's python3-prometheus-client parses the text
///   (a real Prometheus text parser, not ours); its samples come back as
///   lines "family|type|sample|k=v,k=v|value";
/// - http_get: a plain libuv TCP client that sends one request and reads the
///   whole response on the test's loop (no sleeps, no threads).

#include <unistd.h>
#include <uv.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <uvdb/event_loop.hpp>

namespace uvdb::test {

/// The python to use: Debian's own first (a pyenv or venv python on PATH
/// may lack the Debian module), then whatever `python3` is.
inline std::optional<std::string> python_with_prometheus_client() {
    for (const char* py : {"/usr/bin/python3", "python3"}) {
        const std::string cmd =
            std::string(py) + " -c 'import prometheus_client.parser' >/dev/null 2>&1";
        if (std::system(cmd.c_str()) == 0) return std::string(py);
    }
    return std::nullopt;
}

struct parse_outcome {
    bool ok = false;     // the parser accepted the text
    std::string output;  // one line per sample, or the parser's error
};

/// Parses `text` with prometheus_client.parser.text_string_to_metric_families.
inline parse_outcome prometheus_parse(const std::string& python, const std::string& text) {
    char in_path[] = "/tmp/uvdb-metrics-XXXXXX";
    const int fd = mkstemp(in_path);
    if (fd < 0) return {false, "mkstemp failed"};
    (void)!::write(fd, text.data(), text.size());
    ::close(fd);
    const std::string script =
        "import sys\n"
        "from prometheus_client.parser import text_string_to_metric_families\n"
        "for f in text_string_to_metric_families(sys.stdin.read()):\n"
        "    for s in f.samples:\n"
        "        labels = ','.join(k + '=' + v for k, v in sorted(s.labels.items()))\n"
        "        print(f'{f.name}|{f.type}|{s.name}|{labels}|{s.value!r}')\n";
    const std::string cmd = python + " -c \"" + script + "\" < " + in_path + " 2>&1";
    parse_outcome out;
    if (FILE* p = ::popen(cmd.c_str(), "r")) {
        std::array<char, 4096> buf{};
        std::size_t n = 0;
        while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.output.append(buf.data(), n);
        out.ok = ::pclose(p) == 0;
    }
    std::remove(in_path);
    return out;
}

/// The value of the sample line "…|sample|labels|value" in parse output, if present.
inline std::optional<double> parsed_value(const std::string& output, const std::string& sample,
                                          const std::string& labels) {
    std::istringstream in(output);
    std::string line;
    const std::string key = "|" + sample + "|" + labels + "|";
    while (std::getline(in, line)) {
        const auto at = line.find(key);
        if (at != std::string::npos) return std::stod(line.substr(at + key.size()));
    }
    return std::nullopt;
}

struct http_response {
    bool done = false;  // the server closed the connection after answering
    int error = 0;      // a libuv error before that
    std::string raw;    // everything received
    int status() const { return raw.size() > 12 ? std::atoi(raw.c_str() + 9) : 0; }
    std::string body() const {
        const auto at = raw.find("\r\n\r\n");
        return at == std::string::npos ? std::string() : raw.substr(at + 4);
    }
    bool has_header(const std::string& line) const {
        return raw.find("\r\n" + line + "\r\n") != std::string::npos;
    }
};

/// Sends `request` to 127.0.0.1:port and reads until the server closes.
/// Starts the exchange on `loop`; the caller runs the loop until
/// `response.done || response.error` (run_until / loop.run()). The client's
/// handles keep the loop alive until they are closed.
class http_client {
  public:
    http_client(event_loop& loop, std::uint16_t port, std::string request)
        : request_(std::move(request)) {
        sockaddr_in addr{};
        uv_ip4_addr("127.0.0.1", port, &addr);
        uv_tcp_init(loop.native(), &tcp_);
        tcp_.data = this;
        connect_.data = this;
        uv_tcp_connect(&connect_, &tcp_, reinterpret_cast<const sockaddr*>(&addr), &on_connect);
    }
    /// The loop must have run the close callback (finished()) before this goes.
    ~http_client() = default;
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    http_response response;
    bool closed = false;
    bool finished() const { return closed; }

  private:
    static void on_connect(uv_connect_t* req, int status) {
        auto* c = static_cast<http_client*>(req->data);
        if (status != 0) {
            c->fail(status);
            return;
        }
        uv_buf_t b = uv_buf_init(c->request_.data(), static_cast<unsigned>(c->request_.size()));
        c->write_.data = c;
        uv_write(&c->write_, reinterpret_cast<uv_stream_t*>(&c->tcp_), &b, 1,
                 [](uv_write_t*, int) {});
        uv_read_start(
            reinterpret_cast<uv_stream_t*>(&c->tcp_),
            [](uv_handle_t* h, std::size_t, uv_buf_t* out) {
                auto* self = static_cast<http_client*>(h->data);
                *out = uv_buf_init(self->buf_.data(), static_cast<unsigned>(self->buf_.size()));
            },
            [](uv_stream_t* s, ssize_t n, const uv_buf_t*) {
                auto* self = static_cast<http_client*>(s->data);
                if (n > 0) {
                    self->response.raw.append(self->buf_.data(), static_cast<std::size_t>(n));
                } else if (n == UV_EOF) {
                    self->response.done = true;
                    self->close();
                } else if (n < 0) {
                    self->fail(static_cast<int>(n));
                }
            });
    }
    void fail(int status) {
        response.error = status;
        close();
    }
    void close() {
        if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp_)) != 0) return;
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp_),
                 [](uv_handle_t* h) { static_cast<http_client*>(h->data)->closed = true; });
    }

    std::string request_;
    uv_tcp_t tcp_{};
    uv_connect_t connect_{};
    uv_write_t write_{};
    std::array<char, 16384> buf_{};
};

}  // namespace uvdb::test
