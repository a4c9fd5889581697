#pragma once
/// \file
/// The checks docs/FAULTS.md asks for after every fault scenario:
///  - no lease leaked: checked_out equals the leases the test still holds;
///  - the server's count of connections carrying the pool's application_name
///    equals the pool's own count (total);
///  - no file descriptor leaked: while the pool lives, this process's TCP
///    sockets towards the pool's server port equal the pool's count; after
///    the test, /proc/self/fd is back to its count from before (fd_scope);
///  - the pool serves queries again.
///
/// Counts that settle asynchronously (a backend exits after its client
/// closed, a socket closes after libuv's close callback) are polled for a few
/// seconds before they are asserted, and both numbers are printed on failure.

#include <cstddef>
#include <string>
#include <uvdb/event_loop.hpp>
#include <uvdb/pool.hpp>

namespace uvdb::test {

struct after_fault {
    /// Leases the test still holds (normally none).
    std::size_t live_leases = 0;
    /// The port the pool's connections go to (a proxy's, or the server's
    /// when no proxy is in between); 0 skips the socket count, e.g. when
    /// other sockets of this process go to the same port.
    int port = 0;
    /// Whether to check that the pool serves a query (false for a closed pool).
    bool serves_queries = true;
    /// How long the asynchronous counts may take to settle.
    std::chrono::milliseconds settle = std::chrono::seconds(10);
};

/// Runs every check above on `db` (whose connections carry `app_name`).
void check_after_fault(event_loop& loop, pool& db, const std::string& app_name,
                       const after_fault& how = {});

/// TCP sockets of this process (in this network namespace) connected or
/// connecting to remote `port`.
std::size_t client_sockets_to(int port);

/// Records /proc/self/fd's count when made; check() waits up to 5 s for the
/// count to come back to it and CHECKs, listing the open descriptors on
/// failure. Make it before the loop, the proxy and the pool; check after
/// they are gone.
class fd_scope {
  public:
    fd_scope();
    void check() const;

  private:
    std::size_t before_;
};

}  // namespace uvdb::test
