#include <catch2/catch.hpp>
#include <string>
#include <uvdb/url.hpp>
#include <vector>

namespace {

uvdb::parsed_url parse_ok(const std::string& text) {
    auto r = uvdb::parse_url(text);
    INFO(text);
    if (!r) FAIL(r.err().message());
    return std::move(r).value();
}

std::string parse_error(const std::string& text) {
    auto r = uvdb::parse_url(text);
    INFO(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().code() == uvdb::errc::bad_config);
    return r.err().message();
}

}  // namespace

TEST_CASE("parse_url reads a full PostgreSQL URL", "[unit][url]") {
    auto u = parse_ok(
        "postgresql://app_user:s3cret@db.example.com:6432/"
        "appdb?sslmode=verify-full&application_name=svc");
    CHECK(u.scheme == "postgresql");
    CHECK(u.user == "app_user");
    CHECK(u.password == "s3cret");
    CHECK(u.has_password);
    REQUIRE(u.hosts.size() == 1);
    CHECK(u.hosts[0].host == "db.example.com");
    CHECK(u.hosts[0].port == "6432");
    CHECK(u.database == "appdb");
    CHECK(u.params == std::map<std::string, std::string>{{"application_name", "svc"},
                                                         {"sslmode", "verify-full"}});
}

TEST_CASE("parse_url accepts other schemes and lower-cases them", "[unit][url]") {
    CHECK(parse_ok("postgres://localhost/app").scheme == "postgres");
    CHECK(parse_ok("POSTGRESQL://localhost/app").scheme == "postgresql");
    auto m = parse_ok("mysql+tls://root@127.0.0.1/test");
    CHECK(m.scheme == "mysql+tls");
    CHECK(m.user == "root");
    CHECK_FALSE(m.has_password);
    CHECK(uvdb::url_scheme("postgresql://x") == "postgresql");
    CHECK(uvdb::url_scheme("  postgres://x") == "postgres");
    CHECK(uvdb::url_scheme("host=x").empty());
    CHECK(uvdb::url_scheme("1pg://x").empty());
    CHECK(uvdb::url_scheme("postgresql:/x") == "postgresql");  // RFC 3986: "scheme:" is enough
    CHECK(uvdb::url_scheme("").empty());
}

TEST_CASE("parse_url decodes percent-escapes", "[unit][url]") {
    auto u = parse_ok("postgresql://us%65r:p%40ss%2Fw%3Ard@h/my%20db?application_name=a%26b");
    CHECK(u.user == "user");
    CHECK(u.password == "p@ss/w:rd");
    CHECK(u.database == "my db");
    CHECK(u.params.at("application_name") == "a&b");
    auto empty_pw = parse_ok("postgresql://u:@h");
    CHECK(empty_pw.has_password);
    CHECK(empty_pw.password.empty());
}

TEST_CASE("parse_url reads host lists, IPv6 and Unix socket directories", "[unit][url]") {
    auto multi = parse_ok("postgresql://h1:5432,h2:5433,h3/db?target_session_attrs=read-write");
    REQUIRE(multi.hosts.size() == 3);
    CHECK(multi.hosts[0].host == "h1");
    CHECK(multi.hosts[0].port == "5432");
    CHECK(multi.hosts[1].host == "h2");
    CHECK(multi.hosts[1].port == "5433");
    CHECK(multi.hosts[2].host == "h3");
    CHECK(multi.hosts[2].port.empty());
    CHECK(multi.params.at("target_session_attrs") == "read-write");

    auto v6 = parse_ok("postgresql://[::1]:5432,[fe80::1%25eth0]/db");
    REQUIRE(v6.hosts.size() == 2);
    CHECK(v6.hosts[0].host == "::1");
    CHECK(v6.hosts[0].port == "5432");
    CHECK(v6.hosts[1].host == "fe80::1%eth0");
    CHECK(v6.hosts[1].port.empty());

    auto sock = parse_ok("postgresql://%2Fvar%2Frun%2Fpostgresql/db");
    REQUIRE(sock.hosts.size() == 1);
    CHECK(sock.hosts[0].host == "/var/run/postgresql");

    auto param = parse_ok("postgresql:///db?host=/tmp&port=5433");
    REQUIRE(param.hosts.size() == 1);
    CHECK(param.hosts[0].host == "/tmp");
    CHECK(param.hosts[0].port == "5433");
    CHECK(param.database == "db");
    CHECK(param.params.empty());

    auto port_list = parse_ok("postgresql://h1,h2/db?port=1,2");
    REQUIRE(port_list.hosts.size() == 2);
    CHECK(port_list.hosts[0].port == "1");
    CHECK(port_list.hosts[1].port == "2");

    auto port_only = parse_ok("postgresql://:5433/db");
    REQUIRE(port_only.hosts.size() == 1);
    CHECK(port_only.hosts[0].host.empty());
    CHECK(port_only.hosts[0].port == "5433");

    auto bare = parse_ok("postgresql://");
    CHECK(bare.hosts.empty());
    CHECK(bare.database.empty());
}

TEST_CASE("query parameters override the URL's user, password and database", "[unit][url]") {
    auto u = parse_ok("postgresql://u@h/db?user=other&password=pw&dbname=x&&sslmode=disable&");
    CHECK(u.user == "other");
    CHECK(u.password == "pw");
    CHECK(u.has_password);
    CHECK(u.database == "x");
    CHECK(u.params == std::map<std::string, std::string>{{"sslmode", "disable"}});
}

TEST_CASE("parse_url reads libpq key=value strings", "[unit][url]") {
    auto kv =
        parse_ok("host=localhost port=5432 dbname=app user=me password=secret sslmode=require");
    CHECK(kv.scheme.empty());
    REQUIRE(kv.hosts.size() == 1);
    CHECK(kv.hosts[0].host == "localhost");
    CHECK(kv.hosts[0].port == "5432");
    CHECK(kv.database == "app");
    CHECK(kv.user == "me");
    CHECK(kv.password == "secret");
    CHECK(kv.params == std::map<std::string, std::string>{{"sslmode", "require"}});

    auto quoted = parse_ok(
        R"(  user='a b'  password = 'it\'s \\ here'  application_name =svc host=/var/run/postgresql )");
    CHECK(quoted.user == "a b");
    CHECK(quoted.password == R"(it's \ here)");
    CHECK(quoted.params.at("application_name") == "svc");
    REQUIRE(quoted.hosts.size() == 1);
    CHECK(quoted.hosts[0].host == "/var/run/postgresql");

    auto escaped = parse_ok(R"(password=a\ b user=x)");
    CHECK(escaped.password == "a b");
    CHECK(escaped.user == "x");

    auto empty = parse_ok("password='' user=x");
    CHECK(empty.has_password);
    CHECK(empty.password.empty());

    auto multi = parse_ok("host=h1,h2 port=5432,5433");
    REQUIRE(multi.hosts.size() == 2);
    CHECK(multi.hosts[1].host == "h2");
    CHECK(multi.hosts[1].port == "5433");
}

TEST_CASE("malformed URLs are rejected with the position and what was expected", "[unit][url]") {
    CHECK(parse_error("postgresql://host:/db") ==
          "malformed connection URL at position 17: expected a port number after ':'");
    CHECK_THAT(parse_error("postgresql://host:abc/db"),
               Catch::StartsWith(
                   "malformed connection URL at position 17: expected a port number after ':'"));
    CHECK(parse_error("postgresql://host:70000/db") ==
          "malformed connection URL at position 18: port number out of range (1-65535)");
    CHECK_THAT(parse_error("postgresql://host:0/db"), Catch::Contains("out of range"));
    CHECK(parse_error("postgresql://[::1/db") ==
          "malformed connection URL at position 13: missing ']' after an IPv6 address");
    CHECK_THAT(parse_error("postgresql://[]:5432"), Catch::Contains("empty IPv6 address"));
    CHECK(parse_error("postgresql://[::1]x/db") ==
          "malformed connection URL at position 18: expected ':' or ',' after ']'");
    CHECK(parse_error("postgresql://h1,,h2/db") ==
          "malformed connection URL at position 16: empty entry in the host list");
    CHECK_THAT(
        parse_error("postgresql://u:p@ss@host/db"),
        Catch::StartsWith("malformed connection URL at position 19: unexpected '@' in the host") &&
            Catch::Contains("%40"));
    CHECK(parse_error("postgresql://h/db?sslmode") ==
          "malformed connection URL at position 18: expected key=value in the query string");
    CHECK_THAT(parse_error("postgresql://h/db?a=1&=x"),
               Catch::Contains("position 22: empty parameter name"));
    CHECK_THAT(
        parse_error("postgresql://h/d%zzb"),
        Catch::StartsWith(
            "malformed connection URL at position 16: '%' must be followed by two hex digits"));
    CHECK_THAT(parse_error("postgresql://h/db%0"), Catch::Contains("position 17"));
    CHECK_THAT(parse_error("postgresql://h/db%00"), Catch::Contains("NUL"));
    CHECK_THAT(parse_error("postgresql://h1,h2/db?port=1,2,3"),
               Catch::Contains("3 ports given for 2 hosts"));
    CHECK_THAT(parse_error("postgresql://h/db?port=x"), Catch::Contains("expected a port number"));
    CHECK_THAT(parse_error("1pg://h/db"),
               Catch::Contains("position 0: the scheme must start with a letter"));
    CHECK_THAT(parse_error(""), Catch::StartsWith("empty connection string"));
    CHECK_THAT(parse_error("   "), Catch::StartsWith("empty connection string"));
    CHECK_THAT(parse_error("db.example.com"), Catch::Contains("neither a URL"));
}

TEST_CASE("malformed key=value strings are rejected with the position", "[unit][url]") {
    CHECK(parse_error("host=a port") ==
          "malformed connection string at position 11: expected '=' after a parameter name");
    CHECK(parse_error("host=a =b") ==
          "malformed connection string at position 7: expected a parameter name before '='");
    CHECK(parse_error("host=a password='unterminated") ==
          "malformed connection string at position 16: unterminated quoted value (missing closing "
          "')");
    CHECK_THAT(parse_error("port=abc"), Catch::Contains("a port must be a number"));
    CHECK_THAT(parse_error("port=99999"), Catch::Contains("out of range"));
}

TEST_CASE("no error message ever contains the password", "[unit][url]") {
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
        auto r = uvdb::parse_url(in);
        if (!r) CHECK_THAT(r.err().to_string(), !Catch::Contains(secret));
        CHECK_THAT(uvdb::mask_password(in), !Catch::Contains(secret));
    }
}

TEST_CASE("url_encode escapes everything but unreserved characters", "[unit][url]") {
    CHECK(uvdb::url_encode("abcXYZ019-._~") == "abcXYZ019-._~");
    CHECK(uvdb::url_encode("p@ss/w:rd %") == "p%40ss%2Fw%3Ard%20%25");
    CHECK(uvdb::url_encode("\xff") == "%FF");
    // Round trip through the parser.
    std::string pw = "a@b/c?d#e%f g:h";
    auto u = uvdb::parse_url("postgresql://u:" + uvdb::url_encode(pw) + "@h/db");
    REQUIRE(u);
    CHECK(u->password == pw);
}
