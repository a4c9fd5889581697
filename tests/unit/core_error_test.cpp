#include <catch2/catch.hpp>
#include <string>
#include <system_error>
#include <uvdb/error.hpp>

TEST_CASE("uvdb errors have their own category and names", "[unit][error]") {
    std::error_code ec = uvdb::errc::pool_timeout;
    CHECK(std::string(ec.category().name()) == "uvdb");
    CHECK(ec == uvdb::errc::pool_timeout);
    CHECK(ec != uvdb::errc::timeout);
    CHECK_FALSE(ec.message().empty());
    CHECK(uvdb::to_string(uvdb::errc::connection_lost) == "connection_lost");
    CHECK(uvdb::to_string(uvdb::errc::pool_timeout) == "pool_timeout");
    for (int i = static_cast<int>(uvdb::errc::connect_failed);
         i <= static_cast<int>(uvdb::errc::not_run); ++i) {
        auto e = static_cast<uvdb::errc>(i);
        CHECK(uvdb::to_string(e) != "unknown");
        CHECK(uvdb::uvdb_category().message(i) != "unknown uvdb error");
    }
    // Appended codes keep the earlier numbers stable.
    CHECK(static_cast<int>(uvdb::errc::commit_unknown) ==
          static_cast<int>(uvdb::errc::internal) + 1);
    CHECK(uvdb::to_string(uvdb::errc::commit_unknown) == "commit_unknown");
    CHECK(uvdb::to_string(uvdb::errc::transaction_rolled_back) == "transaction_rolled_back");
    CHECK(uvdb::to_string(uvdb::errc::no_rows) == "no_rows");
    CHECK(uvdb::to_string(uvdb::errc::not_run) == "not_run");
    // A COMMIT lost with its connection must never look worth retrying, even
    // though the SQLSTATE it carries says the server went away.
    uvdb::error unknown(uvdb::errc::commit_unknown, "lost during COMMIT");
    unknown.with_sqlstate("57P01");
    CHECK_FALSE(unknown.retryable());
}

TEST_CASE("error carries code, SQLSTATE, our message and the server's text apart",
          "[unit][error]") {
    uvdb::error e(uvdb::errc::server_error, "the statement failed");
    e.with_sqlstate("23505").with_server_text(
        "duplicate key value violates unique constraint \"t_pkey\"", "Key (id)=(1) already exists.",
        "");
    CHECK(e.code() == uvdb::errc::server_error);
    CHECK(e.value() == uvdb::errc::server_error);
    CHECK(e.sqlstate() == "23505");
    CHECK(e.message() == "the statement failed");
    CHECK(e.detail() == "Key (id)=(1) already exists.");
    CHECK(e.hint().empty());
    CHECK(e.to_string() ==
          "server_error: the statement failed (SQLSTATE 23505: duplicate key value violates unique "
          "constraint "
          "\"t_pkey\"; detail: Key (id)=(1) already exists.)");

    uvdb::error plain(uvdb::errc::pool_timeout, "no connection became free within 30 s");
    CHECK(plain.to_string() == "pool_timeout: no connection became free within 30 s");
}

TEST_CASE("error::to_string shows SQLSTATE, detail and hint", "[unit][error]") {
    uvdb::error e(uvdb::errc::connection_lost, "the server closed the connection");
    e.with_sqlstate("57P01").with_server_text("terminating connection due to administrator command",
                                              "d", "h");
    CHECK(e.to_string() ==
          "connection_lost: the server closed the connection (SQLSTATE 57P01: terminating "
          "connection due to administrator command; detail: d; hint: h)");
}

TEST_CASE("with_sqlstate keeps at most five characters", "[unit][error]") {
    uvdb::error e(uvdb::errc::server_error, "x");
    e.with_sqlstate("4000123");
    CHECK(e.sqlstate() == "40001");
    e.with_sqlstate("08");
    CHECK(e.sqlstate() == "08");
    e.with_sqlstate("");
    CHECK(e.sqlstate().empty());
}

TEST_CASE("fatal by default for connection-level errors only", "[unit][error]") {
    using uvdb::errc;
    for (auto c :
         {errc::connect_failed, errc::auth_failed, errc::tls_failed, errc::too_many_connections,
          errc::server_starting, errc::connection_lost, errc::protocol_error, errc::closed}) {
        CHECK(uvdb::fatal_by_default(c));
        CHECK(uvdb::error(c, "m").is_fatal());
    }
    for (auto c : {errc::timeout, errc::cancelled, errc::server_error, errc::bad_input,
                   errc::conversion_error, errc::bad_config, errc::pool_timeout, errc::pool_closed,
                   errc::pool_full}) {
        CHECK_FALSE(uvdb::fatal_by_default(c));
        CHECK_FALSE(uvdb::error(c, "m").is_fatal());
    }
    CHECK(uvdb::error(errc::timeout, "m").with_fatal(true).is_fatal());
    CHECK(uvdb::error().value() == errc::internal);
}

TEST_CASE("server_gone recognises restarts and lost connections", "[unit][error]") {
    using uvdb::errc;
    CHECK(uvdb::error(errc::connection_lost, "m").server_gone());
    for (const char* s : {"57P01", "57P02", "57P03", "08006", "08001"}) {
        CHECK(uvdb::error(errc::server_error, "m").with_sqlstate(s).server_gone());
    }
    CHECK_FALSE(uvdb::error(errc::server_error, "m").with_sqlstate("23505").server_gone());
    CHECK_FALSE(uvdb::error(errc::timeout, "m").server_gone());
    CHECK_FALSE(uvdb::error(errc::server_error, "m").with_sqlstate("57014").server_gone());
}

TEST_CASE("retryable covers transient failures only", "[unit][error]") {
    using uvdb::errc;
    for (auto c : {errc::connect_failed, errc::too_many_connections, errc::server_starting,
                   errc::timeout, errc::pool_timeout, errc::connection_lost}) {
        CHECK(uvdb::error(c, "m").retryable());
    }
    for (auto c : {errc::auth_failed, errc::tls_failed, errc::bad_config, errc::server_error,
                   errc::bad_input, errc::conversion_error}) {
        CHECK_FALSE(uvdb::error(c, "m").retryable());
    }
    CHECK(uvdb::error(errc::server_error, "m").with_sqlstate("57P01").retryable());
    CHECK_FALSE(uvdb::error(errc::auth_failed, "m").with_sqlstate("08004").retryable());
}

TEST_CASE("sqlstate_name comes from PostgreSQL's errcodes.txt", "[unit][error]") {
    CHECK(uvdb::sqlstate_name("23505") == "unique_violation");
    CHECK(uvdb::sqlstate_name("57P01") == "admin_shutdown");
    CHECK(uvdb::sqlstate_name("40001") == "serialization_failure");
    CHECK(uvdb::sqlstate_name("00000") == "successful_completion");
    CHECK(uvdb::sqlstate_name("53300") == "too_many_connections");
    CHECK(uvdb::sqlstate_name("XX000") == "internal_error");
    CHECK(uvdb::sqlstate_name("ZZZZZ").empty());
    CHECK(uvdb::sqlstate_name("").empty());
    CHECK(uvdb::sqlstate_name("2350").empty());
}
