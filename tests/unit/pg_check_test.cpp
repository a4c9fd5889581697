// The PostgreSQL driver's accepts() and check(): which strings it claims and
// how it refuses a bad one without I/O (libpq's PQconninfoParse plus the
// ports and uvdb's own statement_cache_size), never showing the password.
// No server: the unit tests link the driver for the configuration loader.

#include <catch2/catch.hpp>
#include <string>
#include <uvdb/driver_registry.hpp>
#include <uvdb/postgres/driver.hpp>

using Catch::Matchers::Contains;

namespace {

std::string refusal(std::string_view conn) {
    auto r = uvdb::postgres::make_driver()->check(conn);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().value() == uvdb::errc::bad_config);
    CHECK_THAT(r.err().message(), !Contains("hunter2"));
    return r.err().message();
}

}  // namespace

TEST_CASE("pg driver: accepts claims libpq key=value strings only", "[unit][pg_check]") {
    auto d = uvdb::postgres::make_driver();
    CHECK(d->accepts("host=db dbname=app"));
    CHECK(d->accepts("  hostaddr = ::1 port=5432"));
    CHECK_FALSE(d->accepts("postgresql://h/db"));
    CHECK_FALSE(d->accepts("sqlite::memory:"));
    CHECK_FALSE(d->accepts("just words"));
    CHECK_FALSE(d->accepts(""));
    uvdb::driver_registry reg;
    REQUIRE(reg.add(d).ok());
    CHECK(*reg.for_url("host=db dbname=app") == d);
}

TEST_CASE("pg driver: check passes what libpq reads", "[unit][pg_check]") {
    auto d = uvdb::postgres::make_driver();
    for (const char* ok :
         {"postgresql://u:pw@h:5432/db?sslmode=require", "postgres://h1:5432,h2:5433/db",
          "postgresql:///db?host=/var/run/postgresql", "host=h port=5432 dbname=db",
          "host=a,b port=5432", "hostaddr=::1", "postgresql://h/db?statement_cache_size=0"}) {
        INFO(ok);
        CHECK(d->check(ok).ok());
    }
}

TEST_CASE("pg driver: check refuses a bad string and says what, never the password",
          "[unit][pg_check]") {
    CHECK_THAT(refusal("postgresql://app:hunter2@db:port/app"),
               Contains("malformed connection URL: port 1 of 1 is not a number from 1 to 65535"));
    // libpq reads "hunter2" as the port here: it is never echoed.
    CHECK_THAT(refusal("postgresql://app:hunter2/db"), Contains("port 1 of 1"));
    CHECK_THAT(refusal("host=a,b port=1,2,3 password=hunter2"),
               Contains("malformed connection string: it names 2 hosts but 3 ports"));
    CHECK_THAT(refusal("host=h password=hunter2 bogus=1"), Contains("bogus"));
    CHECK_THAT(refusal("postgresql://u:hunter2@h/db?statement_cache_size=lots"),
               Contains("statement_cache_size"));
    CHECK_THAT(refusal("host=h port=70000"), Contains("not a number from 1 to 65535"));
}

// Ported from core's former URL parser tests (core_url_test.cpp): the forms
// libpq reads the same way, now checked where the string is really read.
// (That parser also took "POSTGRESQL://"; libpq does not, and check() is libpq.)
TEST_CASE("pg driver: check passes percent-escapes, IPv6, socket directories and port lists",
          "[unit][pg_check]") {
    auto d = uvdb::postgres::make_driver();
    const char* const good[] = {
        "postgresql://us%65r:p%40ss%2Fw%3Ard@h/my%20db?application_name=a%26b",
        "postgresql://u:@h",
        "postgresql://[::1]:5432,[fe80::1%25eth0]/db",
        "postgresql://%2Fvar%2Frun%2Fpostgresql/db",
        "postgresql:///db?host=/tmp&port=5433",
        "postgresql://h1,h2/db?port=1,2",
        "postgresql://:5433/db",
        "postgresql://",
        "postgresql://h1:5432,h2:5433,h3/db?target_session_attrs=read-write",
        R"(  user='a b'  password = 'it\'s \\ here'  application_name =svc host=/tmp )",
        R"(password=a\ b user=x)",
        "password='' user=x",
        "host=h1,h2 port=5432,5433",
    };
    for (const char* ok : good) {
        INFO(ok);
        CHECK(d->check(ok).ok());
    }
}

TEST_CASE("pg driver: check refuses malformed hosts, ports, escapes and quoting",
          "[unit][pg_check]") {
    CHECK_THAT(refusal("postgresql://u:hunter2@host:70000/db"), Contains("port 1 of 1"));
    CHECK_THAT(refusal("postgresql://u:hunter2@host:0/db"), Contains("port 1 of 1"));
    CHECK_THAT(refusal("postgresql://h1,h2/db?port=1,2,3&password=hunter2"),
               Contains("2 hosts but 3 ports"));
    refusal("postgresql://u:hunter2@[::1/db");
    refusal("postgresql://u:hunter2@h/d%zzb");
    refusal("postgresql://u:hunter2@h/db%00");
    refusal("host=a password=hunter2 port");
    refusal("host=a password='hunter2");
    refusal("host=a password=hunter2 port=abc");
}
