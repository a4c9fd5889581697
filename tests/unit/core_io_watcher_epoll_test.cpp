// io_watcher and the kernel's epoll set: when a socket reports an error, the
// watcher must have taken the fd out of the loop's epoll set before its
// callback runs, because the driver may then hand the socket to another
// thread that closes it (PQconnectPoll on the threadpool). libuv 1.44 stops
// the watcher on POLLERR without epoll_ctl(DEL) and removes the fd only in a
// later loop iteration, racing with that close (ThreadSanitizer reported it).
// The epoll set is read from /proc/self/fdinfo/<epoll fd>.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>
#include <uvdb/event_loop.hpp>
#include <uvdb/io_watcher.hpp>
#include <uvdb/timer.hpp>

namespace {

/// Whether `fd` is registered in the epoll instance `epfd` ("tfd: N" lines).
bool in_epoll_set(int epfd, int fd) {
    std::ifstream info("/proc/self/fdinfo/" + std::to_string(epfd));
    std::string line;
    while (std::getline(info, line)) {
        int tfd = -1;
        if (std::sscanf(line.c_str(), "tfd: %d", &tfd) == 1 && tfd == fd) return true;
    }
    return false;
}

/// A TCP connection on 127.0.0.1 whose peer has reset it (SO_LINGER 0):
/// the client socket then polls as POLLERR | POLLHUP.
struct reset_connection {
    int client = -1;
    reset_connection() {
        const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(listener >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(listener, 1) == 0);
        socklen_t len = sizeof a;
        REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) == 0);
        client = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(client >= 0);
        REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        const int server = ::accept(listener, nullptr, nullptr);
        REQUIRE(server >= 0);
        const linger hard{1, 0};
        REQUIRE(::setsockopt(server, SOL_SOCKET, SO_LINGER, &hard, sizeof hard) == 0);
        ::close(server);  // RST
        ::close(listener);
    }
    ~reset_connection() {
        if (client >= 0) ::close(client);
    }
    reset_connection(const reset_connection&) = delete;
    reset_connection& operator=(const reset_connection&) = delete;
};

}  // namespace

TEST_CASE("io_watcher: a socket error takes the fd out of epoll before the callback runs",
          "[unit][io_watcher]") {
    uvdb::event_loop loop;
    const int epfd = uv_backend_fd(loop.native());
    REQUIRE(epfd >= 0);
    reset_connection conn;

    unsigned seen = 0;
    int calls = 0;
    bool registered_in_callback = true;
    uvdb::io_watcher w(loop, conn.client, [&](unsigned ev) {
        seen |= ev;
        ++calls;
        registered_in_callback = in_epoll_set(epfd, conn.client);
    });
    REQUIRE(w.is_open());
    w.set_interest(uvdb::io_writable);

    bool timed_out = false;
    uvdb::timer deadline(loop);
    deadline.start(std::chrono::milliseconds(2000), [&] { timed_out = true; });
    while (calls == 0 && !timed_out) loop.run_once();
    deadline.stop();

    REQUIRE(calls >= 1);
    CHECK((seen & uvdb::io_error) != 0);
    // The fd left the epoll set before the driver heard of the error.
    CHECK_FALSE(registered_in_callback);
    CHECK_FALSE(in_epoll_set(epfd, conn.client));
    w.close();
}
