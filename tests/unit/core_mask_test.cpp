#include <catch2/catch.hpp>
#include <string>
#include <uvdb/url.hpp>

using uvdb::mask_password;

TEST_CASE("mask_password hides the password of a URL and keeps the rest", "[unit][mask]") {
    CHECK(mask_password("postgresql://app:s3cret@db:5432/app?sslmode=require") ==
          "postgresql://app:***@db:5432/app?sslmode=require");
    CHECK(mask_password("postgresql://app:@db/app") == "postgresql://app:***@db/app");
    CHECK(mask_password("postgresql://app@db/app") == "postgresql://app@db/app");
    CHECK(mask_password("postgresql://db/app") == "postgresql://db/app");
    CHECK(mask_password("postgresql://h1:5432,h2:5433/app") == "postgresql://h1:5432,h2:5433/app");
    CHECK(mask_password("postgresql://[::1]:5432/app") == "postgresql://[::1]:5432/app");
}

TEST_CASE("mask_password hides password query parameters", "[unit][mask]") {
    CHECK(mask_password("postgresql://db/app?password=s3cret&sslmode=require") ==
          "postgresql://db/app?password=***&sslmode=require");
    CHECK(mask_password("postgresql://db/app?sslmode=require&sslpassword=k3y") ==
          "postgresql://db/app?sslmode=require&sslpassword=***");
    CHECK(mask_password("postgresql://u:a@db/app?PASSWORD=b") ==
          "postgresql://u:***@db/app?PASSWORD=***");
    CHECK(mask_password("postgresql://db/app?pass%77ord=s3cret") ==
          "postgresql://db/app?pass%77ord=***");
}

TEST_CASE("mask_password hides key=value passwords, quoted or not", "[unit][mask]") {
    CHECK(mask_password("host=db password=s3cret user=me") == "host=db password=*** user=me");
    CHECK(mask_password("host=db password='s3 cr\\'et' user=me") == "host=db password=*** user=me");
    CHECK(mask_password("host=db password = s3cret") == "host=db password = ***");
    CHECK(mask_password("password=a\\ b user=me") == "password=*** user=me");
    CHECK(mask_password("sslpassword=k3y host=db") == "sslpassword=*** host=db");
    CHECK(mask_password("host=db user=me") == "host=db user=me");
}

TEST_CASE("mask_password masks aggressively when the input is malformed", "[unit][mask]") {
    // An unencoded '@' or '/' in the password: everything up to the last '@' goes.
    CHECK(mask_password("postgresql://u:p@ss@host/db") == "postgresql://u:***@host/db");
    CHECK(mask_password("postgresql://u:pa/ss@host/db") == "postgresql://u:***@host/db");
    CHECK(mask_password("postgresql://u:pa?ss@host/db") == "postgresql://u:***@host/db");
    // No '@' but a suspicious ':' in the authority.
    CHECK(mask_password("postgresql://u:s3cret") == "postgresql://u:***");
    // Unterminated quote: the rest of the string could be the password.
    CHECK(mask_password("host=db password='s3cret user=me") == "host=db password=***");
    // An unquoted space splits the password; the tail must not survive.
    CHECK(mask_password("host=db password=s3 cret") == "host=db password=***");
    CHECK(mask_password("password s3cret") == "password ***");
    // No scheme at all.
    CHECK(mask_password("u:s3cret@host/db") == "u:***@host/db");
}

TEST_CASE("mask_password never throws and leaves harmless text alone", "[unit][mask]") {
    CHECK(mask_password("").empty());
    CHECK(mask_password("just text") == "just text");
    CHECK(mask_password("://") == "://");
    CHECK(mask_password("@@@") == "@@@");
    CHECK(mask_password("password=") == "password=***");
    CHECK(mask_password("password='") == "password=***");
    CHECK(mask_password("x=\\") == "x=\\");
    std::string binary("\0\xff=\x01@:", 6);
    CHECK_NOTHROW(mask_password(binary));
}
