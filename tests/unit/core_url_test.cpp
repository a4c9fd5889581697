// Core's part of connection strings: the scheme split, masking and
// percent-encoding. Parsing is the drivers' (see pg_check_test.cpp).

#include <catch2/catch.hpp>
#include <string>
#include <uvdb/percent.hpp>
#include <uvdb/url.hpp>
#include <vector>

TEST_CASE("url_scheme finds an RFC 3986 scheme and nothing else", "[unit][url]") {
    CHECK(uvdb::url_scheme("postgresql://x") == "postgresql");
    CHECK(uvdb::url_scheme("  postgres://x") == "postgres");
    CHECK(uvdb::url_scheme("POSTGRESQL://localhost/app") ==
          "POSTGRESQL");  // compared case-insensitively
    CHECK(uvdb::url_scheme("mysql+tls://root@127.0.0.1/test") == "mysql+tls");
    CHECK(uvdb::url_scheme("host=x").empty());
    CHECK(uvdb::url_scheme("1pg://x").empty());
    CHECK(uvdb::url_scheme("postgresql:/x") == "postgresql");  // RFC 3986: "scheme:" is enough
    CHECK(uvdb::url_scheme("").empty());
}

TEST_CASE("no masked string ever contains the password", "[unit][url]") {
    const std::string secret = "S3cr3tPW";
    const std::vector<std::string> inputs = {
        "postgresql://u:" + secret + "@host:/db",
        "postgresql://u:" + secret + "/x@host/db",
        "postgresql://u:" + secret + "@ss@host/db",
        "postgresql://u:" + secret + "%zz@host/db",
        "postgresql://u:" + secret + "?@host/db",
        "postgresql://u:" + secret,
        "postgresql://u:" + secret + "@[::1/db",
        "postgresql://u@host/db?password=" + secret + "&sslmode",
        "postgresql://u@host/db?password=" + secret + "%0",
        "host=a password=" + secret + " port=x",
        "host=a password='" + secret,
        "password " + secret,
        "host=a password=" + secret + " junk",
        "u:" + secret + "@host",
    };
    for (const auto& in : inputs) {
        INFO(in);
        CHECK_THAT(uvdb::mask_password(in), !Catch::Contains(secret));
    }
}

TEST_CASE("url_encode escapes everything but unreserved characters", "[unit][url]") {
    CHECK(uvdb::url_encode("abcXYZ019-._~") == "abcXYZ019-._~");
    CHECK(uvdb::url_encode("p@ss/w:rd %") == "p%40ss%2Fw%3Ard%20%25");
    CHECK(uvdb::url_encode("\xff") == "%FF");
    // Round trip through the decoder the drivers use.
    const std::string pw = "a@b/c?d#e%f g:h";
    auto d = uvdb::percent_decode(uvdb::url_encode(pw));
    REQUIRE(d.ok());
    CHECK(d.text == pw);
}
