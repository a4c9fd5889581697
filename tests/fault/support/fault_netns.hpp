#pragma once
/// \file
/// `uvdb::test::fault_netns`: a network namespace joined to this one by a
/// veth pair, for black holes. These machines have no iptables and no tc
/// netem; taking the far end of a veth link down drops every packet (SYNs
/// included) without a RST or an ICMP error, which is what a dead route or a
/// silent firewall looks like to a client.
///
/// The client stays in this process's namespace and connects to the inside
/// address; the listener is made inside the namespace (a socket keeps the
/// namespace it was created in) and handed to a fault_proxy running here,
/// which forwards to the server on 127.0.0.1. Black-holing the link leaves
/// the proxy's side towards the server untouched.
///
/// Needs root and iproute2's `ip`; unavailable_reason() says why not, so
/// tests can skip with a printed reason. Every name carries the process id
/// and a counter; the destructor removes the namespace and the veth pair
/// even when the test failed, and namespaces left by a process that died
/// (crash, kill) are removed the first time a later run checks availability.

#include <string>

namespace uvdb::test {

class fault_netns {
  public:
    /// Why namespaces cannot be used here (not root, no `ip`, creation
    /// refused), or empty when they can. Tries once per process.
    static const std::string& unavailable_reason();

    /// Creates the namespace, the veth pair, addresses on a /30 and
    /// permanent neighbour entries (so a black hole is not turned into a
    /// quick "host unreachable" by failed ARP). Throws std::runtime_error
    /// naming the command that failed.
    fault_netns();
    /// Deletes the veth pair and the namespace.
    ~fault_netns();
    fault_netns(const fault_netns&) = delete;
    fault_netns& operator=(const fault_netns&) = delete;

    /// The address inside the namespace, e.g. "10.77.12.2".
    const std::string& inside_address() const noexcept { return inside_; }
    /// A listening TCP socket created inside the namespace, bound to
    /// inside_address() on an ephemeral port. The caller owns it (give it to
    /// fault_proxy). Throws on failure.
    int listen_inside() const;

    /// Takes the inside end of the link down: every packet is dropped.
    void black_hole();
    /// Brings it back up.
    void heal();

  private:
    std::string ns_;
    std::string outside_dev_;
    std::string inside_dev_;
    std::string outside_;
    std::string inside_;
};

}  // namespace uvdb::test
