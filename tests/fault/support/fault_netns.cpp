#include "fault/support/fault_netns.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace uvdb::test {

namespace {

int sh(const std::string& cmd) {
    const std::string quiet = cmd + " >/dev/null 2>&1";
    return std::system(quiet.c_str());
}

void must(const std::string& cmd) {
    if (sh(cmd) != 0) throw std::runtime_error("fault_netns: `" + cmd + "` failed");
}

std::atomic<int> counter{0};

// Namespaces left by an earlier run that died before its destructors ran
// (a crash, a kill): their names carry the pid, so those of dead processes go.
// Deleting a namespace deletes the veth pair with it.
void remove_leftovers() {
    DIR* d = ::opendir("/run/netns");
    if (d == nullptr) return;
    std::vector<std::string> stale;
    while (const dirent* ent = ::readdir(d)) {
        int pid = 0;
        int n = 0;
        if (std::sscanf(ent->d_name, "uvdbf%dn%d", &pid, &n) == 2 && pid > 0 &&
            ::kill(pid, 0) != 0 && errno == ESRCH) {
            stale.emplace_back(ent->d_name);
        }
    }
    ::closedir(d);
    for (const auto& name : stale) sh("ip netns del " + name);
}

}  // namespace

const std::string& fault_netns::unavailable_reason() {
    static const std::string reason = []() -> std::string {
        if (::geteuid() != 0)
            return "network namespaces need root (running as uid " + std::to_string(::geteuid()) +
                   ")";
        if (sh("ip -V") != 0) return "iproute2's `ip` is not installed";
        remove_leftovers();
        try {
            fault_netns probe;
        } catch (const std::exception& e) {
            return std::string("cannot create a network namespace: ") + e.what();
        }
        return {};
    }();
    return reason;
}

fault_netns::fault_netns() {
    const int pid = static_cast<int>(::getpid());
    const int n = counter.fetch_add(1) % 64;
    const std::string tag = std::to_string(pid % 100000) + "n" + std::to_string(n);
    ns_ = "uvdbf" + std::to_string(pid) + "n" + std::to_string(n);
    outside_dev_ = "uvf" + tag + "a";  // at most 15 characters
    inside_dev_ = "uvf" + tag + "b";
    // A /30 of 10.64.0.0/10 picked by pid and counter, so parallel runs differ.
    const std::string net =
        "10." + std::to_string(64 + (pid >> 8) % 64) + "." + std::to_string(pid & 255) + ".";
    outside_ = net + std::to_string(4 * n + 1);
    inside_ = net + std::to_string(4 * n + 2);
    const std::string mac_out = "02:75:64:" + std::to_string(10 + n) + ":00:01";
    const std::string mac_in = "02:75:64:" + std::to_string(10 + n) + ":00:02";

    sh("ip netns del " + ns_);  // a leftover of an earlier process with our pid
    try {
        must("ip netns add " + ns_);
        must("ip link add " + outside_dev_ + " address " + mac_out + " type veth peer name " +
             inside_dev_ + " address " + mac_in + " netns " + ns_);
        must("ip addr add " + outside_ + "/30 dev " + outside_dev_);
        must("ip link set " + outside_dev_ + " up");
        must("ip -n " + ns_ + " addr add " + inside_ + "/30 dev " + inside_dev_);
        must("ip -n " + ns_ + " link set " + inside_dev_ + " up");
        must("ip -n " + ns_ + " link set lo up");
        must("ip neigh replace " + inside_ + " lladdr " + mac_in + " dev " + outside_dev_ +
             " nud permanent");
        must("ip -n " + ns_ + " neigh replace " + outside_ + " lladdr " + mac_out + " dev " +
             inside_dev_ + " nud permanent");
    } catch (...) {
        sh("ip link del " + outside_dev_);
        sh("ip netns del " + ns_);
        throw;
    }
}

fault_netns::~fault_netns() {
    sh("ip link del " + outside_dev_);
    sh("ip netns del " + ns_);
}

int fault_netns::listen_inside() const {
    // Network namespaces are per thread: enter, make the socket, come back.
    const int home = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    const int target = ::open(("/run/netns/" + ns_).c_str(), O_RDONLY | O_CLOEXEC);
    if (home < 0 || target < 0) {
        if (home >= 0) ::close(home);
        if (target >= 0) ::close(target);
        throw std::runtime_error("fault_netns: cannot open the namespace files: " +
                                 std::string(std::strerror(errno)));
    }
    int fd = -1;
    std::string err;
    if (::setns(target, CLONE_NEWNET) != 0) {
        err = std::string("setns: ") + std::strerror(errno);
    } else {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        ::inet_pton(AF_INET, inside_.c_str(), &a.sin_addr);
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::listen(fd, 64) != 0) {
            err = std::string("socket/bind/listen inside: ") + std::strerror(errno);
            if (fd >= 0) ::close(fd);
            fd = -1;
        }
        if (::setns(home, CLONE_NEWNET) != 0) {
            // The thread would stay in the wrong namespace: nothing sensible is left to do.
            std::fprintf(stderr, "fault_netns: cannot return to the original namespace: %s\n",
                         std::strerror(errno));
            std::abort();
        }
    }
    ::close(home);
    ::close(target);
    if (fd < 0) throw std::runtime_error("fault_netns: " + err);
    return fd;
}

void fault_netns::black_hole() { must("ip -n " + ns_ + " link set " + inside_dev_ + " down"); }

void fault_netns::heal() { must("ip -n " + ns_ + " link set " + inside_dev_ + " up"); }

}  // namespace uvdb::test
