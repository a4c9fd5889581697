// Connection strings naming several hosts: each host gets its own connect
// deadline (the URL's connect_timeout, as libpq's blocking connect applies
// it), so a first host that never answers costs that much and the next host
// is tried; when every host fails, the error names each failure.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>

#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
namespace t = uvdb::test;

namespace {

// The test server's URL with `first` (host:port) put before its host.
std::string url_with_first_host(const std::string& first, const std::string& extra) {
    const t::pg_env& e = t::env();
    std::string url = t::make_url({});
    const std::string at = "@" + e.host + ":" + e.port + "/";
    const auto pos = url.find(at);
    REQUIRE(pos != std::string::npos);
    url.replace(pos, at.size(), "@" + first + "," + e.host + ":" + e.port + "/");
    return url + extra;
}

}  // namespace

TEST_CASE("multi-host URL: a first host that never answers costs its own deadline only",
          "[pg][connect][multihost]") {
    uvdb::event_loop loop;
    t::silent_listener black_hole;  // accepts TCP, then never says a word
    auto opts = t::test_options();
    opts.url =
        url_with_first_host("127.0.0.1:" + std::to_string(black_hole.port()), "&connect_timeout=2");
    opts.connect_timeout = 20s;  // the cap over every host
    const auto start = std::chrono::steady_clock::now();
    auto conn = t::connect_sync(loop, opts);
    const long long took = t::ms_since(start);
    INFO("connect took " << took << " ms");
    REQUIRE(conn.ok());
    CHECK(t::scalar<std::string>(loop, **conn, "SELECT inet_server_port()::text") == t::env().port);
    CHECK(took >= 1900);
    if (t::check_timing) CHECK(took < 8000);
}

TEST_CASE("multi-host URL: every host failing gives each host's error",
          "[pg][connect][multihost]") {
    uvdb::event_loop loop;
    auto opts = t::test_options();
    const std::string a = "127.0.0.1:" + std::to_string(t::free_port());
    const std::string b = "127.0.0.1:" + std::to_string(t::free_port());
    opts.url = "postgresql://" + t::env().user + "@" + a + "," + b + "/" + t::env().db +
               "?sslmode=verify-full&sslrootcert=" + t::env().ca;
    auto r = t::connect_sync(loop, opts);
    REQUIRE_FALSE(r.ok());
    INFO(t::describe(r.err()));
    CHECK(r.err().value() == uvdb::errc::connect_failed);
    CHECK(t::contains(r.err().message(), "any of the 2 hosts"));
}
