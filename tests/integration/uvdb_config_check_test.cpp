// uvdb-config --check against the test server (reached, and the stage named
// when it is not: authentication, TCP refused; never the password) and
// --advise on a fixed snapshot.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "integration/support/run_program.hpp"
#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
namespace t = uvdb::test;

namespace {

std::string tool_path() {
#ifdef UVDB_EXAMPLES_DIR
    std::string path(UVDB_EXAMPLES_DIR);
    path += "/uvdb-config";
    return path;
#else
    return {};
#endif
}

t::program_run run_tool(const std::vector<std::string>& args, const std::string& url) {
    const std::string path = tool_path();
    if (path.empty() || ::access(path.c_str(), X_OK) != 0)
        FAIL("uvdb-config not found at '" << path << "': build the examples");
    std::vector<std::string> env = {"DB_POOL_SIZE=2", "DB_MAX_OVERFLOW=1"};
    if (!url.empty()) env.push_back("DATABASE_URL=" + url);
    return t::run_program(path, args, env, 30s);
}

bool has(const std::string& text, const std::string& what) {
    return text.find(what) != std::string::npos;
}

std::string shown(const t::program_run& r) {
    std::string text =
        "exit " + std::to_string(r.exit_code) + "\n--- stdout\n" + r.out + "--- stderr\n" + r.err;
    const std::string& pw = t::env().password;
    for (std::size_t at; !pw.empty() && (at = text.find(pw)) != std::string::npos;)
        text.replace(at, pw.size(), "***");
    return text;
}

void no_secret(const t::program_run& r, const std::string& secret) {
    REQUIRE_FALSE(secret.empty());
    CHECK_FALSE(has(r.out, secret));
    CHECK_FALSE(has(r.err, secret));
}

}  // namespace

TEST_CASE("uvdb-config --check reaches the test server and reports it", "[pg][uvdb-config]") {
    const auto r = run_tool({"--check", "--instances", "3"}, t::env().url);
    INFO(shown(r));
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "reached: yes (connected in "));
    CHECK(has(r.out, "server: PostgreSQL "));
    CHECK(has(r.out, "transport: TLSv1."));
    CHECK(has(r.out, ", cipher "));
    CHECK(has(r.out, "(size 2 + max_overflow 1) x 3 instance(s) = 9: fits"));
    CHECK(has(r.out, "ms median of 5 pings"));
    no_secret(r, t::env().password);
}

TEST_CASE("uvdb-config --check names authentication for a wrong password", "[pg][uvdb-config]") {
    const std::string wrong = "not-the-password-7f3a";
    const auto r = run_tool({"--check"}, t::make_url({.password = wrong}));
    INFO(shown(r));
    CHECK(r.exit_code == 1);
    CHECK(has(r.out, "reached: no"));
    CHECK(has(r.out, "stage: authentication"));
    CHECK(has(r.out, "error: auth_failed"));
    no_secret(r, wrong);
    no_secret(r, t::env().password);
}

TEST_CASE("uvdb-config --check names TCP for a port nobody listens on", "[pg][uvdb-config]") {
    const auto r = run_tool({"--check"}, t::make_url({.port = "1"}));
    INFO(shown(r));
    CHECK(r.exit_code == 1);
    CHECK(has(r.out, "reached: no"));
    CHECK(has(r.out, "stage: TCP (connection refused"));
    no_secret(r, t::env().password);
}

TEST_CASE("uvdb-config --advise prints the advice for a snapshot", "[pg][uvdb-config]") {
    const std::string file = "/tmp/uvdb-advise-" + std::to_string(::getpid()) + ".txt";
    {
        std::ofstream f(file);
        f << "# uvdb advisor snapshot\nwindow_s = 60\narrival_rate = 1000\nmean_hold_ms = 10\n"
             "peak_in_use = 14\nsize = 20\nmax_overflow = 40\n";
    }
    auto r = run_tool({"--advise", file, "--instances", "4", "--max-connections", "100"}, "");
    INFO(shown(r));
    CHECK(r.exit_code == 0);
    CHECK(has(r.out, "advice: size = 17, max_overflow = 5"));
    CHECK(has(r.out, "Little's law: 1000.0/s x 10.000 ms = 10.00 connections"));
    CHECK(has(r.out, "= 24 per instance: 17 + 5 fits"));
    r = run_tool({"--advise", file + ".missing"}, "");
    CHECK(r.exit_code == 1);
    std::remove(file.c_str());
}
