#include <sys/socket.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <uvdb/event_loop.hpp>
#include <uvdb/offload.hpp>

TEST_CASE("offload runs work off the loop thread and done on it", "[unit][offload]") {
    uvdb::event_loop loop;
    auto loop_thread = std::this_thread::get_id();
    std::thread::id work_thread;
    std::thread::id done_thread;
    bool done = false;
    uvdb::offload(
        loop, [&] { work_thread = std::this_thread::get_id(); },
        [&] {
            done_thread = std::this_thread::get_id();
            done = true;
        });
    CHECK_FALSE(done);
    loop.run();
    CHECK(done);
    CHECK(work_thread != loop_thread);
    CHECK(done_thread == loop_thread);
}

TEST_CASE("offload_result hands the work's value to done", "[unit][offload]") {
    uvdb::event_loop loop;
    std::string got;
    uvdb::offload_result(
        loop, [] { return std::string("computed"); }, [&](std::string s) { got = std::move(s); });
    loop.run();
    CHECK(got == "computed");
}

namespace {

std::vector<uvdb::resolved_address> resolve(uvdb::event_loop& loop, const std::string& host,
                                            uvdb::error* err) {
    std::vector<uvdb::resolved_address> out;
    bool called = false;
    uvdb::resolve_host(loop, host, [&](uvdb::result<std::vector<uvdb::resolved_address>> r) {
        called = true;
        if (r)
            out = std::move(*r);
        else
            *err = r.err();
    });
    CHECK_FALSE(called);  // never inline
    loop.run();
    CHECK(called);
    return out;
}

bool has(const std::vector<uvdb::resolved_address>& v, const std::string& a) {
    return std::any_of(v.begin(), v.end(), [&](const auto& x) { return x.address == a; });
}

}  // namespace

TEST_CASE("resolve_host answers numeric addresses", "[unit][offload]") {
    uvdb::event_loop loop;
    uvdb::error err;
    auto v4 = resolve(loop, "127.0.0.1", &err);
    REQUIRE(v4.size() == 1);
    CHECK(v4[0].address == "127.0.0.1");
    CHECK(v4[0].family == AF_INET);
    auto v6 = resolve(loop, "::1", &err);
    REQUIRE(v6.size() == 1);
    CHECK(v6[0].address == "::1");
    CHECK(v6[0].family == AF_INET6);
    auto bracketed = resolve(loop, "[::1]", &err);
    REQUIRE(bracketed.size() == 1);
    CHECK(bracketed[0].address == "::1");
}

TEST_CASE("resolve_host resolves localhost from the hosts file", "[unit][offload]") {
    uvdb::event_loop loop;
    uvdb::error err;
    auto addrs = resolve(loop, "localhost", &err);
    CHECK((has(addrs, "127.0.0.1") || has(addrs, "::1")));
    // Deduplicated: one entry per address even though getaddrinfo may list
    // several socket types.
    for (const auto& a : addrs) {
        CHECK(std::count_if(addrs.begin(), addrs.end(),
                            [&](const auto& b) { return b.address == a.address; }) == 1);
    }
}

TEST_CASE("resolve_host fails with connect_failed naming the host", "[unit][offload]") {
    uvdb::event_loop loop;
    uvdb::error err;
    auto addrs = resolve(loop, "no-such-host.invalid", &err);
    CHECK(addrs.empty());
    CHECK(err.code() == uvdb::errc::connect_failed);
    CHECK_THAT(err.message(),
               Catch::Contains("no-such-host.invalid") && Catch::Contains("check the host name"));

    uvdb::error dir_err;
    CHECK(resolve(loop, "/var/run/postgresql", &dir_err).empty());
    CHECK(dir_err.code() == uvdb::errc::bad_input);

    uvdb::error empty_err;
    auto none = resolve(loop, "", &empty_err);
    CHECK(none.empty());
    CHECK(empty_err.code() == uvdb::errc::connect_failed);
}

TEST_CASE("a resolve in flight when the event_loop is destroyed never calls back",
          "[unit][offload]") {
    bool called = false;
    {
        uvdb::event_loop loop;
        uvdb::resolve_host(loop, "localhost", [&](auto) { called = true; });
        uvdb::resolve_host(loop, "127.0.0.1", [&](auto) { called = true; });
    }
    CHECK_FALSE(called);
}
