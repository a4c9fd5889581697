// Passwords: from a file or an environment variable, a warning for a file
// others can read, and never a password in a log line, an error or a printed
// configuration.

#include <string>

#include "unit/config_test_util.hpp"
#include "unit/core_log_capture.hpp"

using Catch::Matchers::Contains;
using config_test::error_of;
using config_test::load;
using config_test::temp_dir;

namespace {

const std::string secret = "S3cr3t-Pa55w0rd";

std::string database(const std::string& extra_lines) {
    return "[database]\nurl = \"postgresql://app@db.internal:5432/app\"\n" + extra_lines;
}

}  // namespace

TEST_CASE("config: password_file is read, its trailing newline dropped", "[unit][config]") {
    temp_dir dir;
    const std::string path = dir.write("pw", secret + "\n");
    auto r = load(database("password_file = \"" + path + "\"\n"));
    REQUIRE(r.ok());
    CHECK(r->connection().password == secret);
    CHECK(r->password_from == "password_file " + path);
    CHECK(to_string(r->origin("database.password")) == "file uvdb.toml:3:1");
    CHECK(r->warnings.empty());
}

TEST_CASE("config: a relative password_file is found next to the configuration file",
          "[unit][config]") {
    temp_dir dir;
    dir.write("pw", secret + "\r\n");
    const std::string cfg_path = dir.write("uvdb.toml", database("password_file = \"pw\"\n"));
    uvdb::load_options o;
    o.file = cfg_path;
    o.env = uvdb::environment_from({});
    auto r = uvdb::load_config(o);
    REQUIRE(r.ok());
    CHECK(r->connection().password == secret);
}

TEST_CASE("config: a password_file others can read draws a warning", "[unit][config]") {
    temp_dir dir;
    const std::string path = dir.write("pw", secret, 0644);
    uvdb_test::log_capture logs;
    auto r = load(database("password_file = \"" + path + "\"\n"));
    REQUIRE(r.ok());
    REQUIRE(r->warnings.size() == 1);
    CHECK_THAT(r->warnings[0], Contains("password_file \"" + path +
                                        "\" is open to its group or others (mode 0644)"));
    CHECK_THAT(r->warnings[0], Contains("chmod 600"));
    CHECK(logs.contains("warning uvdb config: password_file"));
    CHECK_FALSE(logs.contains(secret));

    const std::string group = dir.write("pw-group", secret, 0640);
    auto g = load(database("password_file = \"" + group + "\"\n"));
    REQUIRE(g.ok());
    CHECK(g->warnings.size() == 1);
}

TEST_CASE("config: an unreadable, empty or odd password_file is refused with its position",
          "[unit][config]") {
    temp_dir dir;
    const std::string missing = dir.path() + "/nope";
    CHECK(error_of(load(database("password_file = \"" + missing + "\"\n"))) ==
          "uvdb.toml:3:1: [database] cannot read password_file \"" + missing +
              "\": No such file or directory");
    CHECK_THAT(error_of(load(database("password_file = \"" + dir.path() + "\"\n"))),
               Contains("uvdb.toml:3:1: [database] password_file \"" + dir.path() +
                        "\" is not a regular file"));
    const std::string empty = dir.write("empty", "\n");
    CHECK_THAT(error_of(load(database("password_file = \"" + empty + "\"\n"))),
               Contains("is empty"));
    const std::string two = dir.write("two", "line one\nline two\n");
    CHECK_THAT(error_of(load(database("password_file = \"" + two + "\"\n"))),
               Contains("holds more than one line"));
    CHECK_THAT(error_of(load(database("password_file = \"\"\n"))),
               Contains("uvdb.toml:3:17: [database] password_file: is empty"));
}

TEST_CASE("config: password_env names the variable that holds the password", "[unit][config]") {
    auto r = load(database("password_env = \"APP_DB_PASSWORD\"\n"), {{"APP_DB_PASSWORD", secret}});
    REQUIRE(r.ok());
    CHECK(r->connection().password == secret);
    CHECK(r->password_from == "password_env APP_DB_PASSWORD");

    CHECK(error_of(load(database("password_env = \"APP_DB_PASSWORD\"\n"))) ==
          "uvdb.toml:3:1: [database] password_env: APP_DB_PASSWORD is not set or empty");
    CHECK_THAT(error_of(load(database("password_env = \"APP DB\"\n"))),
               Contains("expected the name of an environment variable"));
    temp_dir dir;
    const std::string path = dir.write("pw", secret);
    CHECK_THAT(error_of(load(database("password_env = \"X\"\npassword_file = \"" + path + "\"\n"),
                             {{"X", "y"}})),
               Contains("password_file and password_env are both set; keep one"));
}

TEST_CASE("config: the password appears in no log line, error or printed configuration",
          "[unit][config]") {
    temp_dir dir;
    const std::string pw_file = dir.write("pw", secret + "\n", 0644);  // the warning path logs too
    uvdb_test::log_capture logs;

    // From a file, from the environment, in the URL, in a backend parameter.
    auto from_file = load(database("password_file = \"" + pw_file + "\"\n"));
    REQUIRE(from_file.ok());
    auto from_env = load(database("password_env = \"PW\"\n"), {{"PW", secret}});
    REQUIRE(from_env.ok());
    auto in_url = load("[database]\nurl = \"postgresql://app:" + secret +
                       "@db:5432/app\"\n"
                       "[database.extra]\nsslpassword = \"" +
                       secret + "\"\n");
    REQUIRE(in_url.ok());
    auto url_from_env = load("", {{"DATABASE_URL", "postgresql://app:" + secret + "@db:5432/app"}});
    REQUIRE(url_from_env.ok());

    std::string printed;
    for (const auto* c : {&*from_file, &*from_env, &*in_url, &*url_from_env}) {
        // The secret is really there to leak.
        REQUIRE((c->connection().password + c->connection().url).find(secret) != std::string::npos);
        printed += describe(*c);
        printed += engine_configured_line(c->pool);
        uvdb::log_sources(*c);
    }
    CHECK_THAT(printed, !Contains(secret));
    CHECK_THAT(printed, Contains("sslpassword = \"***\""));
    CHECK(logs.contains("database_config_source key=database.password value=***"));
    CHECK(logs.contains(
        "database_config_source key=database.url value=\"postgresql://app:***@db:5432/app\""));
    for (const auto& line : logs.lines()) CHECK_THAT(line, !Contains(secret));

    // Errors: a malformed URL holding the password, in the file and in the environment.
    const std::string bad_url = "postgresql://app:" + secret + "@db:port/app";
    CHECK_THAT(error_of(load("[database]\nurl = \"" + bad_url + "\"\n")), !Contains(secret));
    CHECK_THAT(error_of(load("", {{"DATABASE_URL", bad_url}})), !Contains(secret));
    CHECK_THAT(error_of(load("[database]\nurl = \"" + bad_url + "\n")),
               !Contains(secret));  // TOML syntax error
    CHECK_THAT(error_of(load(database("password = \"" + secret + "\"\n"))), !Contains(secret));
}
