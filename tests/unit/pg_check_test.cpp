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
