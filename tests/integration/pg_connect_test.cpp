// Connecting to a real PostgreSQL: TLS, authentication, application_name, and
// the error a user gets for each way a connect can fail.

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/url.hpp>

#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
using uvdb::errc;
namespace t = uvdb::test;

namespace {

using clock_type = std::chrono::steady_clock;

// Expects a failed connect with `expected` and returns the error.
uvdb::error expect_connect_error(uvdb::event_loop& loop, const uvdb::connect_options& opts,
                                 errc expected) {
    auto r = t::connect_sync(loop, opts);
    REQUIRE_FALSE(r.ok());
    INFO("error: " << t::describe(r.err()));
    CHECK(r.err().value() == expected);
    CHECK(r.err().is_fatal());
    return r.err();
}

}  // namespace

TEST_CASE("connect over TLS with the default application_name", "[pg][connect]") {
    uvdb::event_loop loop;
    const auto fds = t::open_fd_count();
    {
        auto conn = t::connect_or_fail(loop, t::test_options());
        CHECK(conn->is_ready());
        CHECK_FALSE(conn->is_broken());
        CHECK(conn->is_idle());
        CHECK(conn->transaction_status() == uvdb::tx_status::idle);

        CHECK(t::scalar<bool>(loop, *conn,
                              "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
        CHECK(t::scalar<std::string>(
                  loop, *conn,
                  "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()") ==
              "uvdb");
        CHECK(conn->server_pid() ==
              t::scalar<std::int64_t>(loop, *conn, "SELECT pg_backend_pid()"));

        const std::string desc = conn->describe();
        INFO("describe(): " << desc);
        CHECK_FALSE(desc.empty());
        CHECK_FALSE(t::contains(desc, t::env().password));
        // Enough to find the session in the server's views and logs.
        CHECK(t::contains(desc, t::env().port));
        CHECK(t::contains(desc, std::to_string(conn->server_pid())));
        conn->close();
        CHECK(conn->is_broken());
        CHECK_FALSE(conn->is_ready());
    }
    t::check_fds_return_to(loop, fds);
}

TEST_CASE("application_name: the option, and the URL's when the option is empty", "[pg][connect]") {
    uvdb::event_loop loop;
    const char* sql = "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()";

    auto opts = t::test_options();
    opts.application_name = "uvdb-pgtests-42";
    auto conn = t::connect_or_fail(loop, opts);
    CHECK(t::scalar<std::string>(loop, *conn, sql) == "uvdb-pgtests-42");

    auto from_url = t::test_options();
    from_url.url += "&application_name=from_url";
    from_url.application_name.clear();
    auto conn2 = t::connect_or_fail(loop, from_url);
    CHECK(t::scalar<std::string>(loop, *conn2, sql) == "from_url");
}

TEST_CASE("wrong password: auth_failed, fatal, and no secret in the message", "[pg][connect]") {
    uvdb::event_loop loop;
    const auto fds = t::open_fd_count();
    const std::string wrong_pw = "Wr0ng-pa55word-x7";
    auto opts = t::test_options();
    opts.url = t::make_url({.password = wrong_pw});

    const auto start = clock_type::now();
    const uvdb::error e = expect_connect_error(loop, opts, errc::auth_failed);
    CHECK(t::ms_since(start) < 5000);
    CHECK(e.sqlstate() == "28P01");
    for (const std::string& text : {e.message(), e.to_string(), e.server_message(), e.detail()}) {
        INFO("text: " << text);
        CHECK_FALSE(t::contains(text, wrong_pw));
        CHECK_FALSE(t::contains(text, t::env().password));
        CHECK_FALSE(t::contains(text, opts.url));
    }
    // The user must learn whom the server rejected.
    CHECK(t::contains(e.to_string(), t::env().user));

    // The same through connect_options::password, which overrides the URL's.
    auto opts2 = t::test_options();
    opts2.password = wrong_pw;
    const uvdb::error e2 = expect_connect_error(loop, opts2, errc::auth_failed);
    CHECK_FALSE(t::contains(e2.to_string(), wrong_pw));
    CHECK_FALSE(t::contains(e2.to_string(), t::env().password));

    t::check_fds_return_to(loop, fds);
}

TEST_CASE("connect_options::password overrides a wrong password in the URL", "[pg][connect]") {
    uvdb::event_loop loop;
    auto opts = t::test_options();
    opts.url = t::make_url({.password = "not-the-password"});
    opts.password = t::env().password;
    auto conn = t::connect_or_fail(loop, opts);
    CHECK(t::scalar<int>(loop, *conn, "SELECT 1") == 1);
}

TEST_CASE("a database that does not exist: auth_failed naming the database", "[pg][connect]") {
    uvdb::event_loop loop;
    auto opts = t::test_options();
    opts.url = t::make_url({.db = "uvdb_no_such_db"});
    const uvdb::error e = expect_connect_error(loop, opts, errc::auth_failed);
    CHECK(e.sqlstate() == "3D000");
    CHECK(t::contains(e.to_string(), "uvdb_no_such_db"));
    CHECK_FALSE(t::contains(e.to_string(), t::env().password));
}

TEST_CASE("nothing listening on the port: connect_failed, quickly", "[pg][connect]") {
    uvdb::event_loop loop;
    const auto fds = t::open_fd_count();
    auto opts = t::test_options();
    const int port = t::free_port();
    opts.url = t::make_url({.port = std::to_string(port)});

    const auto start = clock_type::now();
    const uvdb::error e = expect_connect_error(loop, opts, errc::connect_failed);
    const auto took = t::ms_since(start);
    INFO("took " << took << " ms");
    CHECK(took < 2000);
    CHECK(e.retryable());
    CHECK(t::contains(e.to_string(), std::to_string(port)));
    CHECK_FALSE(t::contains(e.to_string(), t::env().password));
    t::check_fds_return_to(loop, fds);
}

TEST_CASE("TLS verify-full against the test CA succeeds", "[pg][connect][tls]") {
    uvdb::event_loop loop;
    auto opts = t::test_options();
    opts.url = t::make_url({.sslmode = "verify-full", .sslrootcert = t::env().ca});
    auto conn = t::connect_or_fail(loop, opts);
    CHECK(t::scalar<bool>(loop, *conn, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));

    // The same through connect_options::extra, which overrides the URL.
    auto via_extra = t::test_options();
    via_extra.url = t::make_url({.sslmode = "require", .sslrootcert = ""});
    via_extra.extra["sslmode"] = "verify-full";
    via_extra.extra["sslrootcert"] = t::env().ca;
    auto conn2 = t::connect_or_fail(loop, via_extra);
    CHECK(t::scalar<int>(loop, *conn2, "SELECT 1") == 1);
}

TEST_CASE("TLS verify-full against an unrelated CA: tls_failed", "[pg][connect][tls]") {
    uvdb::event_loop loop;
    const auto fds = t::open_fd_count();
    REQUIRE_FALSE(t::env().other_ca.empty());
    auto opts = t::test_options();
    opts.url = t::make_url({.sslmode = "verify-full", .sslrootcert = t::env().other_ca});
    const uvdb::error e = expect_connect_error(loop, opts, errc::tls_failed);
    CHECK_FALSE(t::contains(e.to_string(), t::env().password));

    // extra overrides the URL's (good) CA with the unrelated one.
    auto via_extra = t::test_options();
    via_extra.extra["sslrootcert"] = t::env().other_ca;
    (void)expect_connect_error(loop, via_extra, errc::tls_failed);
    t::check_fds_return_to(loop, fds);
}

TEST_CASE("sslmode=disable is refused by the server, saying why", "[pg][connect][tls]") {
    uvdb::event_loop loop;
    auto opts = t::test_options();
    opts.url = t::make_url({.sslmode = "disable", .sslrootcert = ""});
    auto r = t::connect_sync(loop, opts);
    REQUIRE_FALSE(r.ok());
    const uvdb::error& e = r.err();
    INFO("error: " << t::describe(e));
    CHECK(e.value() == errc::auth_failed);
    CHECK(e.is_fatal());
    // pg_hba's reject line: "pg_hba.conf rejects connection for host …, no encryption".
    const std::string text = e.to_string();
    CHECK(t::contains(text, "pg_hba.conf rejects connection"));
    CHECK(t::contains(text, "no encryption"));
    CHECK_FALSE(t::contains(text, t::env().password));
}

TEST_CASE("connect timeout on a server that accepts TCP but never answers",
          "[pg][connect][timeout]") {
    uvdb::event_loop loop;
    t::silent_listener listener;
    const auto fds = t::open_fd_count();
    auto opts = t::test_options();
    opts.url = t::make_url({.port = std::to_string(listener.port())});
    opts.connect_timeout = 500ms;

    const auto start = clock_type::now();
    const uvdb::error e = expect_connect_error(loop, opts, errc::timeout);
    const auto took = t::ms_since(start);
    INFO("took " << took << " ms");
    CHECK(took >= 400);
    CHECK(took < 2000);
    CHECK(e.retryable());
    CHECK_FALSE(t::contains(e.to_string(), t::env().password));
    t::check_fds_return_to(loop, fds);
}

TEST_CASE("destroying a connection while it connects completes the callback with closed",
          "[pg][connect][lifecycle]") {
    uvdb::event_loop loop;
    t::silent_listener listener;
    const auto fds = t::open_fd_count();
    auto opts = t::test_options();
    opts.url = t::make_url({.port = std::to_string(listener.port())});

    auto got = std::make_shared<std::optional<uvdb::result<void>>>();
    auto conn = t::pg_driver()->connect(
        loop, opts, [got](uvdb::result<void> r) { got->emplace(std::move(r)); });
    t::run_for(loop, 100ms);
    REQUIRE_FALSE(got->has_value());
    conn.reset();
    t::run_until(
        loop, [&] { return got->has_value(); }, 2s, "the aborted connect's callback");
    REQUIRE_FALSE(got->value().ok());
    CHECK(got->value().err().value() == errc::closed);
    t::check_fds_return_to(loop, fds);
}

TEST_CASE("connect by host name (localhost) with verify-full", "[pg][connect][dns]") {
    uvdb::event_loop loop;
    // The test certificate names DNS:localhost, so verify-full checks the name too.
    auto opts = t::test_options();
    opts.url = t::make_url({.host = "localhost"});
    auto conn = t::connect_or_fail(loop, opts);
    CHECK(t::scalar<bool>(loop, *conn, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));

    auto bad = t::test_options();
    bad.url = t::make_url({.host = "uvdb-no-such-host.invalid"});
    const uvdb::error e = expect_connect_error(loop, bad, errc::connect_failed);
    CHECK(t::contains(e.to_string(), "uvdb-no-such-host.invalid"));
}

TEST_CASE("multi-host URL: a dead first host is skipped", "[pg][connect]") {
    uvdb::event_loop loop;
    const auto& e = t::env();
    auto opts = t::test_options();
    opts.url = "postgresql://" + uvdb::url_encode(e.user) + ":" + uvdb::url_encode(e.password) +
               "@" + e.host + ":" + std::to_string(t::free_port()) + "," + e.host + ":" + e.port +
               "/" + e.db + "?sslmode=verify-full&sslrootcert=" + uvdb::url_encode(e.ca);
    auto conn = t::connect_or_fail(loop, opts);
    CHECK(t::scalar<int>(loop, *conn, "SELECT 1") == 1);
    CHECK(t::contains(conn->describe(), e.port));

    // target_session_attrs passes through: the server is a primary.
    auto rw = t::test_options();
    rw.url += "&target_session_attrs=read-write";
    auto conn2 = t::connect_or_fail(loop, rw);
    CHECK_FALSE(t::scalar<bool>(loop, *conn2, "SELECT pg_is_in_recovery()"));
}

TEST_CASE("the URL's connect_timeout is honoured when shorter", "[pg][connect][timeout]") {
    uvdb::event_loop loop;
    t::silent_listener listener;
    auto opts = t::test_options();
    // libpq's unit is seconds and its minimum 2.
    opts.url = t::make_url({.port = std::to_string(listener.port())}) + "&connect_timeout=2";
    opts.connect_timeout = 30s;
    const auto start = clock_type::now();
    (void)expect_connect_error(loop, opts, errc::timeout);
    const auto took = t::ms_since(start);
    INFO("took " << took << " ms");
    CHECK(took >= 900);
    CHECK(took < 4000);
}

TEST_CASE("statements queued on a connection that fails to connect fail too",
          "[pg][connect][lifecycle]") {
    uvdb::event_loop loop;
    const auto fds = t::open_fd_count();
    auto opts = t::test_options();
    opts.url = t::make_url({.password = "wrong-password-queued"});
    auto connected = std::make_shared<std::optional<uvdb::result<void>>>();
    auto queried = t::make_query_slot();
    auto pinged = std::make_shared<std::optional<uvdb::result<void>>>();
    {
        auto conn = t::pg_driver()->connect(
            loop, opts, [connected](uvdb::result<void> r) { connected->emplace(std::move(r)); });
        conn->query("SELECT 1", t::store_in(queried));
        conn->ping(1s, [pinged](uvdb::result<void> r) { pinged->emplace(std::move(r)); });
        t::run_until(
            loop,
            [&] { return connected->has_value() && queried->has_value() && pinged->has_value(); },
            10s, "the connect callback and the queued statement's");
        REQUIRE_FALSE(connected->value().ok());
        CHECK(connected->value().err().value() == errc::auth_failed);
        REQUIRE_FALSE(queried->value().ok());
        INFO(t::describe(queried->value().err()));
        CHECK(queried->value().err().is_fatal());
        CHECK_FALSE(pinged->value().ok());
        CHECK(conn->is_broken());
    }
    t::check_fds_return_to(loop, fds);
}
