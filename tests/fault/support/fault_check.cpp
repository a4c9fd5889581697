#include "fault/support/fault_check.hpp"

#include <dirent.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "fault/support/fault_pool.hpp"
#include "integration/support/test_env.hpp"

namespace uvdb::test {

using namespace std::chrono_literals;

namespace {

std::set<unsigned long> own_socket_inodes() {
    std::set<unsigned long> out;
    DIR* d = ::opendir("/proc/self/fd");
    if (d == nullptr) return out;
    while (const dirent* ent = ::readdir(d)) {
        if (ent->d_name[0] == '.') continue;
        char target[128] = {};
        const std::string link = std::string("/proc/self/fd/") + ent->d_name;
        const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
        unsigned long inode = 0;
        if (n > 0 && std::sscanf(target, "socket:[%lu]", &inode) == 1) out.insert(inode);
    }
    ::closedir(d);
    return out;
}

bool pool_settled(pool& db) {
    const auto st = db.stats();
    return st.connecting == 0 && st.pending == 0 && st.waiting == 0;
}

}  // namespace

namespace {

/// This process's sockets towards remote `port`, one "local -> remote state inode" line each.
std::vector<std::string> sockets_to(int port) {
    const auto inodes = own_socket_inodes();
    std::vector<std::string> out;
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream in(table);
        std::string line;
        std::getline(in, line);  // header
        while (std::getline(in, line)) {
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            std::istringstream fields(line);
            std::string sl, local, remote, state, queues, timer, retr, uid, timeout;
            unsigned long inode = 0;
            fields >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >>
                inode;
            const auto colon = remote.rfind(':');
            if (colon == std::string::npos || state == "0A") continue;  // 0A: listening
            const int rport = static_cast<int>(std::stoul(remote.substr(colon + 1), nullptr, 16));
            if (rport == port && inodes.count(inode) != 0) {
                out.push_back(local + " -> " + remote + " state " + state + " inode " +
                              std::to_string(inode));
            }
        }
    }
    return out;
}

}  // namespace

std::size_t client_sockets_to(int port) { return sockets_to(port).size(); }

void check_after_fault(event_loop& loop, pool& db, const std::string& app_name,
                       const after_fault& how) {
    // Let connects, pings and resets the fault set off come to an end.
    (void)wait_until(
        loop, [&] { return pool_settled(db); }, how.settle);
    auto st = db.stats();
    INFO("after the fault: checked_out "
         << st.checked_out << ", idle " << st.idle << ", connecting " << st.connecting
         << ", pending " << st.pending << ", waiting " << st.waiting << ", total " << st.total);
    CHECK(pool_settled(db));
    CHECK(st.checked_out == how.live_leases);

    if (how.serves_queries) {
        auto r = pool_query_sync(loop, db, "SELECT 41 + 1", {}, 30s);
        INFO("query after the fault: " << (r ? std::string("ok") : describe(r.err())));
        REQUIRE(r);
        CHECK(r->value<int>() == 42);
        (void)wait_until(
            loop, [&] { return pool_settled(db); }, how.settle);
        CHECK(db.stats().checked_out == how.live_leases);
    }

    // The server's view: one admin connection, polled until it agrees or the
    // time is up (backends exit a moment after their client went away).
    auto admin = connect_or_fail(loop, admin_options());
    int on_server = -1;
    std::size_t pool_total = 0;
    const auto deadline = std::chrono::steady_clock::now() + how.settle;
    for (;;) {
        auto r = query_sync(
            loop, *admin, "SELECT count(*)::int FROM pg_stat_activity WHERE application_name = $1",
            make_params(app_name));
        if (!r) fail_with("counting the pool's connections on the server", r.err());
        on_server = r->value<int>();
        pool_total = db.stats().total;
        if (on_server == static_cast<int>(pool_total) ||
            std::chrono::steady_clock::now() >= deadline)
            break;
        run_for(loop, 100ms);
    }
    admin.reset();
    INFO("server connections named " << app_name << ": " << on_server
                                     << ", pool total: " << pool_total);
    CHECK(on_server == static_cast<int>(pool_total));

    if (how.port != 0) {
        std::size_t sockets = 0;
        (void)wait_until(
            loop,
            [&] {
                sockets = client_sockets_to(how.port);
                return sockets == db.stats().total;
            },
            how.settle);
        std::string lines;
        for (const auto& l : sockets_to(how.port)) lines += "  " + l + "\n";
        INFO("this process's sockets to port " << how.port << ": " << sockets
                                               << ", pool total: " << db.stats().total << "\n"
                                               << lines << describe_open_fds());
        CHECK(sockets == db.stats().total);
    }
}

fd_scope::fd_scope() : before_(fd_baseline()) {}

void fd_scope::check() const { check_fds_return_to(before_, 5s); }

}  // namespace uvdb::test
