#pragma once
/// \file
/// `uvdb::metrics_server`: a minimal HTTP/1.1 endpoint on the application's
/// own loop (libuv TCP, nothing else) that answers `GET /metrics` with
/// metrics::render_prometheus of the given pools, and 404 to anything else.
///
///     auto server = uvdb::metrics_server::start(loop, "127.0.0.1", 9187, {&db});
///     if (!server) ... server.err() ...
///     // serves until server->stop() or its destruction
///
/// One request per connection (the response says `Connection: close`); a
/// request head over 8 KiB is answered 431, one not complete within 10 s
/// is dropped. The server does not keep the loop alive: run() returns when
/// the application's own work is done. Loop thread only. The pools must
/// outlive the server.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <uvdb/event_loop.hpp>
#include <uvdb/result.hpp>
#include <vector>

namespace uvdb {

class pool;

namespace detail {
struct metrics_listener;
}

class metrics_server {
  public:
    /// Produces the body of a /metrics response.
    using body_source = std::function<std::string()>;

    /// Listens on host:port (an IPv4 or IPv6 address; port 0 picks a free
    /// one, see port()). The error says which address could not be bound and why.
    static result<metrics_server> start(event_loop& loop, std::string_view host, std::uint16_t port,
                                        std::vector<const pool*> pools);
    /// The same with any body (the pools' text is one such source).
    static result<metrics_server> start(event_loop& loop, std::string_view host, std::uint16_t port,
                                        body_source body);

    metrics_server(metrics_server&& other) noexcept;
    metrics_server& operator=(metrics_server&& other) noexcept;
    metrics_server(const metrics_server&) = delete;
    metrics_server& operator=(const metrics_server&) = delete;
    /// Stops serving (as stop()).
    ~metrics_server();

    /// The port it listens on (the one chosen when started with 0); 0 once stopped.
    std::uint16_t port() const noexcept;
    /// Responses sent so far (any status).
    std::uint64_t responses() const noexcept;
    /// Closes the listening socket and every connection; idempotent.
    void stop() noexcept;

  private:
    explicit metrics_server(detail::metrics_listener* impl) noexcept : impl_(impl) {}
    detail::metrics_listener* impl_ = nullptr;
};

}  // namespace uvdb
