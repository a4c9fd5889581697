#include "integration/support/test_env.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <uvdb/error.hpp>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/url.hpp>

namespace uvdb::test {

namespace {

std::string getenv_str(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::string();
}

// Callbacks may outlive the helper's frame (a driver may complete them from a
// deferred function after the test already failed), so they write into a
// shared slot rather than into a local.
template <class T>
using slot = std::shared_ptr<std::optional<T>>;

template <class T>
slot<T> make_slot() {
    return std::make_shared<std::optional<T>>();
}

}  // namespace

const pg_env& env() {
    static const pg_env e = [] {
        pg_env v;
        v.url = getenv_str("UVDB_TEST_URL");
        v.admin_url = getenv_str("UVDB_TEST_ADMIN_URL");
        v.ca = getenv_str("UVDB_TEST_CA");
        v.other_ca = getenv_str("UVDB_TEST_OTHER_CA");
        v.host = getenv_str("UVDB_TEST_HOST");
        v.port = getenv_str("UVDB_TEST_PORT");
        v.user = getenv_str("UVDB_TEST_USER");
        v.password = getenv_str("UVDB_TEST_PASSWORD");
        v.db = getenv_str("UVDB_TEST_DB");
        v.pgdata = getenv_str("UVDB_TEST_PGDATA");
        v.pgctl = getenv_str("UVDB_TEST_PGCTL");
        return v;
    }();
    if (e.url.empty()) {
        FAIL(
            "UVDB_TEST_URL is not set: these [pg] tests need a PostgreSQL server. Run them "
            "through scripts/test.sh, or start one with `scripts/pg-test-server.sh start DIR` "
            "and `. DIR/env.sh` first.");
    }
    return e;
}

std::shared_ptr<uvdb::driver> pg_driver() {
    static const std::shared_ptr<uvdb::driver> d = uvdb::postgres::make_driver();
    return d;
}

connect_options test_options() {
    connect_options o;
    o.url = env().url;
    if (!check_timing) o.connect_timeout = std::chrono::seconds(60);
    return o;
}

connect_options admin_options() {
    connect_options o;
    o.url = env().admin_url;
    if (o.url.empty()) FAIL("UVDB_TEST_ADMIN_URL is not set (see scripts/pg-test-server.sh)");
    return o;
}

std::string make_url(const url_parts& parts) {
    const pg_env& e = env();
    auto pick = [](const std::optional<std::string>& v,
                   const std::string& def) -> const std::string& { return v ? *v : def; };
    const std::string& host = pick(parts.host, e.host);
    std::string url = "postgresql://" + url_encode(pick(parts.user, e.user));
    const std::string& pw = pick(parts.password, e.password);
    if (!pw.empty()) url += ":" + url_encode(pw);
    url += "@";
    url += host.find(':') != std::string::npos ? "[" + host + "]" : host;
    const std::string& port = pick(parts.port, e.port);
    if (!port.empty()) url += ":" + port;
    url += "/" + url_encode(pick(parts.db, e.db));
    url += "?sslmode=" + url_encode(parts.sslmode ? *parts.sslmode : std::string("verify-full"));
    const std::string& ca = pick(parts.sslrootcert, e.ca);
    if (!ca.empty()) url += "&sslrootcert=" + url_encode(ca);
    return url;
}

result<std::unique_ptr<connection>> connect_sync(event_loop& loop, const connect_options& opts,
                                                 std::chrono::milliseconds deadline) {
    auto got = make_slot<result<void>>();
    auto conn =
        pg_driver()->connect(loop, opts, [got](result<void> r) { got->emplace(std::move(r)); });
    REQUIRE(conn != nullptr);
    run_until(
        loop, [&] { return got->has_value(); }, deadline, "the connect callback");
    if (!**got) return (*got)->err();
    return conn;
}

std::unique_ptr<connection> connect_or_fail(event_loop& loop, const connect_options& opts) {
    auto r = connect_sync(loop, opts);
    if (!r) fail_with("connect", r.err());
    return std::move(r).value();
}

result<result_set> query_sync(event_loop& loop, connection& conn, std::string_view sql, params p,
                              const query_options& opts, std::chrono::milliseconds deadline) {
    auto got = make_slot<result<result_set>>();
    conn.query(sql, std::move(p), opts,
               [got](result<result_set> r) { got->emplace(std::move(r)); });
    run_until(
        loop, [&] { return got->has_value(); }, deadline, "a query callback");
    return std::move(**got);
}

result<std::vector<result_set>> execute_sync(event_loop& loop, connection& conn,
                                             std::string_view script, const query_options& opts,
                                             std::chrono::milliseconds deadline) {
    auto got = make_slot<result<std::vector<result_set>>>();
    conn.execute(script, opts,
                 [got](result<std::vector<result_set>> r) { got->emplace(std::move(r)); });
    run_until(
        loop, [&] { return got->has_value(); }, deadline, "an execute callback");
    return std::move(**got);
}

result<void> ping_sync(event_loop& loop, connection& conn, std::chrono::milliseconds ping_deadline,
                       std::chrono::milliseconds deadline) {
    auto got = make_slot<result<void>>();
    conn.ping(ping_deadline, [got](result<void> r) { got->emplace(std::move(r)); });
    run_until(
        loop, [&] { return got->has_value(); }, deadline, "a ping callback");
    return std::move(**got);
}

result<void> reset_sync(event_loop& loop, connection& conn, std::chrono::milliseconds deadline) {
    auto got = make_slot<result<void>>();
    conn.reset([got](result<void> r) { got->emplace(std::move(r)); });
    run_until(
        loop, [&] { return got->has_value(); }, deadline, "a reset callback");
    return std::move(**got);
}

void fail_with(std::string_view what, const error& e) {
    FAIL(what << " failed: " << describe(e));
    throw std::logic_error("unreachable");  // FAIL throws; keeps [[noreturn]] honest
}

void terminate_backend(event_loop& loop, std::int64_t pid) {
    REQUIRE(pid != 0);
    auto admin = connect_or_fail(loop, admin_options());
    // With a timeout, pg_terminate_backend waits until the backend has gone.
    auto r =
        query_sync(loop, *admin, "SELECT pg_terminate_backend($1::int, 5000)", make_params(pid));
    if (!r) fail_with("pg_terminate_backend", r.err());
    REQUIRE(r->value<bool>());
}

query_slot make_query_slot() { return std::make_shared<std::optional<result<result_set>>>(); }

connection::query_callback store_in(const query_slot& slot) {
    return [slot](result<result_set> r) {
        if (slot->has_value()) {
            slot->emplace(error(errc::internal, "callback called twice"));
            return;
        }
        slot->emplace(std::move(r));
    };
}

void wait_all(event_loop& loop, const std::vector<query_slot>& slots,
              std::chrono::milliseconds limit, std::string_view what) {
    run_until(
        loop,
        [&] {
            for (const auto& s : slots) {
                if (!s->has_value()) return false;
            }
            return true;
        },
        limit, what);
}

long long ms_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start)
        .count();
}

std::string describe(const error& e) {
    std::string s = e.to_string();
    if (!e.sqlstate().empty()) s += " [sqlstate " + std::string(e.sqlstate()) + "]";
    s += e.is_fatal() ? " [fatal]" : " [not fatal]";
    return s;
}

std::size_t fd_baseline() {
    { event_loop warm_up; }
    return open_fd_count();
}

std::string describe_open_fds() {
    std::string out;
    DIR* d = ::opendir("/proc/self/fd");
    if (d == nullptr) return "(cannot open /proc/self/fd)";
    const int own = ::dirfd(d);
    while (const dirent* ent = ::readdir(d)) {
        if (ent->d_name[0] == '.' || std::atoi(ent->d_name) == own) continue;
        char target[256] = {};
        const std::string link = std::string("/proc/self/fd/") + ent->d_name;
        const ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
        out += std::string(ent->d_name) + " -> " +
               (n > 0 ? std::string(target, static_cast<std::size_t>(n)) : "?") + "\n";
    }
    ::closedir(d);
    return out;
}

std::size_t open_fd_count() {
    std::size_t n = 0;
    DIR* d = ::opendir("/proc/self/fd");
    if (d == nullptr) throw std::runtime_error("cannot open /proc/self/fd");
    while (const dirent* ent = ::readdir(d)) {
        if (ent->d_name[0] != '.') ++n;
    }
    ::closedir(d);
    return n - 1;  // the directory stream's own fd
}

void check_fds_return_to(event_loop& loop, std::size_t expected,
                         std::chrono::milliseconds timeout) {
    (void)wait_until(
        loop, [&] { return open_fd_count() <= expected; }, timeout);
    const std::size_t now = open_fd_count();
    INFO("open fds: " << now << ", expected " << expected);
    if (now != expected) UNSCOPED_INFO("open now:\n" << describe_open_fds());
    CHECK(now == expected);
}

void check_fds_return_to(std::size_t expected, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (open_fd_count() > expected && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
    }
    const std::size_t now = open_fd_count();
    INFO("open fds: " << now << ", expected " << expected);
    if (now != expected) UNSCOPED_INFO("open now:\n" << describe_open_fds());
    CHECK(now == expected);
}

namespace {

int bound_loopback_socket(int& port_out) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        const int err = errno;
        ::close(fd);
        throw std::runtime_error(std::string("bind on 127.0.0.1: ") + std::strerror(err));
    }
    port_out = ntohs(addr.sin_port);
    return fd;
}

}  // namespace

int free_port() {
    int port = 0;
    ::close(bound_loopback_socket(port));
    return port;
}

silent_listener::silent_listener() {
    fd_ = bound_loopback_socket(port_);
    if (::listen(fd_, 4) != 0) {
        const int err = errno;
        ::close(fd_);
        throw std::runtime_error(std::string("listen: ") + std::strerror(err));
    }
}

silent_listener::~silent_listener() {
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace uvdb::test
