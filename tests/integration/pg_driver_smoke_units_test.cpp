// Server-free checks of the PostgreSQL driver's pure pieces: classification
// of libpq's connect messages, password scrubbing, host expansion, parameter
// encoding, bytea decoding and which statements bypass the statement cache. They include the
// driver's private headers, which is why they live beside the driver's smoke tests and not in
// tests/unit.

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "../../drivers/postgres/src/pg_conninfo.hpp"
#include "../../drivers/postgres/src/pg_error.hpp"
#include "../../drivers/postgres/src/pg_params.hpp"
#include "../../drivers/postgres/src/pg_result.hpp"
#include "../../drivers/postgres/src/pg_statement_cache.hpp"

using uvdb::errc;
namespace d = uvdb::postgres::detail;

namespace {

d::endpoint tcp_endpoint() {
    d::endpoint ep;
    ep.host = "127.0.0.1";
    ep.port = "5433";
    ep.user = "app";
    ep.db = "appdb";
    return ep;
}

}  // namespace

TEST_CASE("smoke-unit: connect failures are classified from libpq's text", "[pg][smoke][unit]") {
    const auto ep = tcp_endpoint();
    struct sample {
        const char* text;
        errc want;
        const char* sqlstate;
    };
    const sample samples[] = {
        {"connection to server at \"127.0.0.1\", port 5433 failed: FATAL:  28P01: password "
         "authentication "
         "failed for user \"app\"\nLOCATION:  auth_failed, auth.c:334\n",
         errc::auth_failed, "28P01"},
        {"connection to server at \"127.0.0.1\", port 5433 failed: FATAL:  3D000: database "
         "\"appdb\" does "
         "not exist\n",
         errc::auth_failed, "3D000"},
        {"connection to server at \"127.0.0.1\", port 5433 failed: Connection refused\n\tIs the "
         "server "
         "running on that host and accepting TCP/IP connections?\n",
         errc::connect_failed, ""},
        {"connection to server at \"127.0.0.1\", port 5433 failed: FATAL:  sorry, too many clients "
         "already\n",
         errc::too_many_connections, ""},
        {"connection to server at \"127.0.0.1\", port 5433 failed: FATAL:  53300: remaining "
         "connection "
         "slots are reserved for non-replication superuser connections\n",
         errc::too_many_connections, "53300"},
        {"connection to server at \"127.0.0.1\", port 5433 failed: FATAL:  57P03: the database "
         "system is "
         "starting up\n",
         errc::server_starting, "57P03"},
        {"connection to server at \"127.0.0.1\", port 5433 failed: SSL error: certificate verify "
         "failed\n",
         errc::tls_failed, ""},
        {"connection to server at \"127.0.0.1\", port 5433 failed: fe_sendauth: no password "
         "supplied\n",
         errc::auth_failed, ""},
        {"invalid sslmode value: \"sometimes\"\n", errc::bad_config, ""},
    };
    for (const auto& s : samples) {
        INFO(s.text);
        const uvdb::error e = d::connect_error(s.text, ep);
        INFO(e.to_string());
        CHECK(e.value() == s.want);
        CHECK(e.sqlstate() == s.sqlstate);
        CHECK(e.is_fatal());
        if (s.want != errc::bad_config)
            CHECK(e.message().find("127.0.0.1:5433") != std::string::npos);
    }
    const uvdb::error refused = d::connect_error(samples[2].text, ep);
    CHECK(refused.message().find("accepts TCP connections on 127.0.0.1:5433") != std::string::npos);
}

TEST_CASE("smoke-unit: passwords are scrubbed from libpq's parse errors", "[pg][smoke][unit]") {
    CHECK(d::scrub_password("invalid percent-encoded token: \"sec%zzret\"",
                            "postgresql://u:sec%zzret@h/db") ==
          "invalid percent-encoded token: \"***\"");
    CHECK(
        d::scrub_password("bad value 'hunter22'", "host=x password='hunter22'").find("hunter22") ==
        std::string::npos);
    CHECK(d::scrub_password("x s@cret y", "postgresql://u:s%40cret@h/db").find("s@cret") ==
          std::string::npos);
    // Too short to replace safely: the text is dropped rather than mangled.
    CHECK(d::scrub_password("abc", "postgresql://u:b@h/db").find('b') == std::string::npos);
    CHECK(d::scrub_password("no secret here", "postgresql://u:longpassword@h/db") ==
          "no secret here");
}

TEST_CASE("smoke-unit: resolved hosts expand into aligned host/hostaddr/port entries",
          "[pg][smoke][unit]") {
    uvdb::connect_options o;
    o.url = "user=u dbname=app host=db1.example,/tmp,10.0.0.9 port=5432,6000,7000";
    auto ci = d::conninfo::parse(o);
    REQUIRE(ci.ok());
    REQUIRE(ci->needs_dns());
    auto& hosts = ci->hosts();
    REQUIRE(hosts.size() == 3);
    CHECK(hosts[0].type == d::host_entry::kind::name);
    CHECK(hosts[1].type == d::host_entry::kind::socket);
    CHECK(hosts[2].type == d::host_entry::kind::numeric);
    hosts[0].addrs = {"192.0.2.1", "2001:db8::1"};
    REQUIRE(ci->apply_resolved("").ok());

    std::vector<const char*> kw, vals;
    ci->arrays(kw, vals);
    auto value_of = [&](const char* key) {
        for (std::size_t i = 0; kw[i] != nullptr; ++i) {
            if (std::strcmp(kw[i], key) == 0) return std::string(vals[i]);
        }
        return std::string("<missing>");
    };
    CHECK(value_of("host") == "db1.example,db1.example,/tmp,10.0.0.9");
    CHECK(value_of("hostaddr") == "192.0.2.1,2001:db8::1,,10.0.0.9");
    CHECK(value_of("port") == "5432,5432,6000,7000");
    CHECK(value_of("application_name") == "uvdb");
    CHECK(value_of("dbname") == "app");
}

TEST_CASE("smoke-unit: no host resolved is connect_failed; mismatched ports are bad_config",
          "[pg][smoke][unit]") {
    uvdb::connect_options o;
    o.url = "postgresql://u@nowhere.invalid/app";
    auto ci = d::conninfo::parse(o);
    REQUIRE(ci.ok());
    auto applied = ci->apply_resolved("could not resolve host \"nowhere.invalid\"");
    REQUIRE_FALSE(applied.ok());
    CHECK(applied.err().value() == errc::connect_failed);

    o.url = "host=a,b,c port=1,2";
    auto bad = d::conninfo::parse(o);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.err().value() == errc::bad_config);
}

TEST_CASE("smoke-unit: parameters are encoded in network byte order with exact OIDs",
          "[pg][smoke][unit]") {
    d::param_arrays a;
    uvdb::params p = uvdb::make_params(std::int16_t{-2}, 0x01020304, std::int64_t{1} << 40, 1.5,
                                       true, "txt", nullptr, uvdb::bytes{});
    REQUIRE(a.bind(p));
    REQUIRE(a.count() == 8);
    auto bytes_of = [&](int i) {
        return std::string(a.values()[i], static_cast<std::size_t>(a.lengths()[i]));
    };
    CHECK(a.types()[0] == 21);
    CHECK(bytes_of(0) == std::string("\xff\xfe", 2));
    CHECK(a.types()[1] == 23);
    CHECK(bytes_of(1) == std::string("\x01\x02\x03\x04", 4));
    CHECK(a.types()[2] == 20);
    CHECK(bytes_of(2) == std::string("\x00\x00\x01\x00\x00\x00\x00\x00", 8));
    CHECK(a.types()[3] == 701);
    CHECK(bytes_of(3) == std::string("\x3f\xf8\x00\x00\x00\x00\x00\x00", 8));
    CHECK(a.types()[4] == 16);
    CHECK(bytes_of(4) == std::string("\x01", 1));
    CHECK(a.types()[5] == 0);
    CHECK(a.formats()[5] == 0);
    CHECK(std::string(a.values()[5]) == "txt");
    CHECK(a.values()[6] == nullptr);  // SQL NULL
    CHECK(a.types()[7] == 17);
    CHECK(a.values()[7] != nullptr);  // an empty bytea is not NULL
    CHECK(a.lengths()[7] == 0);

    uvdb::params too_many;
    too_many.resize(d::max_params + 1);  // NULLs
    CHECK_FALSE(a.bind(too_many));
}

TEST_CASE("smoke-unit: bytea text forms decode", "[pg][smoke][unit]") {
    auto hex = d::decode_bytea("\\x00ff7f");
    REQUIRE(hex.ok());
    REQUIRE(hex->data.size() == 3);
    CHECK(hex->data[1] == std::byte{0xff});
    auto esc = d::decode_bytea("a\\\\b\\001");
    REQUIRE(esc.ok());
    REQUIRE(esc->data.size() == 4);
    CHECK(esc->data[1] == std::byte{'\\'});
    CHECK(esc->data[3] == std::byte{1});
    CHECK_FALSE(d::decode_bytea("\\x0").ok());
    CHECK_FALSE(d::decode_bytea("\\xzz").ok());
}

TEST_CASE("smoke-unit: COPY bypasses the statement cache after white space and comments",
          "[pg][smoke][unit]") {
    for (const char* sql :
         {"COPY t FROM STDIN", "  copy t TO STDOUT", "\n\tCoPy(SELECT 1) TO STDOUT",
          "-- load\nCOPY t FROM STDIN", "--\r\nCOPY t FROM STDIN", "/* load */ COPY t FROM STDIN",
          "/* outer /* inner */ still outer */COPY t FROM STDIN",
          "/**/--a\n /* b */\n-- c\n  COPY t FROM STDIN"}) {
        INFO(sql);
        CHECK(d::uncacheable(sql));
    }
    for (const char* sql :
         {"SELECT 1", "", "   ", "COP", "-- COPY t FROM STDIN", "/* COPY */ SELECT 1",
          "/* outer /* inner */ COPY */ SELECT 1", "/* unterminated COPY", "SELECT 'COPY'",
          "- COPY t FROM STDIN", "/ * x */ COPY"}) {
        INFO(sql);
        CHECK_FALSE(d::uncacheable(sql));
    }
}
