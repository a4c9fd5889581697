#pragma once
/// \file
/// `uvdb::test::fault_proxy`: a TCP proxy for fault tests that sits between
/// uvdb and the real server and can pass traffic through, pause it, add
/// latency, deliver the server's bytes one at a time, reset every connection
/// (RST, SO_LINGER 0), close them with FIN, accept and never answer, or stop
/// listening (connects refused).
///
/// The proxy runs its own libuv loop on its own thread. It plays the network,
/// so it must keep moving while the test thread is busy or blocked (pg_ctl,
/// admin statements on a private loop, a test loop that is not being run),
/// and its handles must not keep the test's loop alive or show up in the
/// pool's loop. Every method is called from the test thread; it hands the
/// change to the proxy thread and returns once it is in effect, so "reset
/// now" means the RSTs have been sent when reset_all() returns.
///
/// TLS passes through untouched (the proxy never looks inside the bytes), so
/// a client verifies the server's certificate as it would without the proxy:
/// connect to 127.0.0.1:port() with sslmode=verify-full.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace uvdb::test {

class fault_proxy {
  public:
    /// Listens on 127.0.0.1 (an ephemeral port) and forwards every accepted
    /// connection to upstream_host:upstream_port (an IPv4 address).
    fault_proxy(std::string upstream_host, int upstream_port);
    /// Takes over `listen_fd`, a TCP socket already bound (and possibly made
    /// inside another network namespace, see fault_netns); the proxy owns it.
    fault_proxy(int listen_fd, std::string upstream_host, int upstream_port);
    /// Closes every connection and the listener and joins the thread.
    ~fault_proxy();
    fault_proxy(const fault_proxy&) = delete;
    fault_proxy& operator=(const fault_proxy&) = delete;

    /// The port clients connect to.
    int port() const noexcept;

    /// Normal forwarding: no pause, no latency, whole chunks, answers new
    /// connections. Connections already accepted silently stay silent.
    void pass();
    /// Stops (true) or resumes (false) reading on both sides of every
    /// connection: bytes wait in the kernel's buffers, as in a stalled path.
    void set_paused(bool paused);
    /// Every chunk, in both directions, is delivered this long after it arrived.
    void set_latency(std::chrono::milliseconds latency);
    /// Bytes from the server reach the client one per write, with a short
    /// pause after each so that the client reads them one at a time.
    void set_one_byte_chunks(bool on);
    /// Connections opened from now on forward their first `bytes` bytes from
    /// the server to the client and then nothing more in either direction
    /// (a handshake that stalls half-way). 0 = off.
    void set_stall_after(std::size_t bytes);
    /// New connections are accepted and then never answered (no upstream
    /// connection, nothing read or written) until pass() or close_all().
    void set_silent(bool on);

    /// Resets every open connection: RST (SO_LINGER 0) towards the client,
    /// plain close towards the server. Returns after the RSTs went out.
    void reset_all();
    /// Closes every open connection with FIN on both sides.
    void close_all();
    /// Closes the listener: new connects are refused. Open connections stay.
    void stop_listening();
    /// Listens again on the same port.
    void start_listening();

    /// Connections accepted since the start.
    std::uint64_t accepted() const;
    /// Connections open right now (client side).
    std::size_t open_connections() const;
    /// Bytes delivered to clients since the start.
    std::uint64_t bytes_to_clients() const;
    /// Writes towards clients since the start (each 1-byte write counts once).
    std::uint64_t writes_to_clients() const;

    struct impl;

  private:
    std::unique_ptr<impl> impl_;
};

}  // namespace uvdb::test
