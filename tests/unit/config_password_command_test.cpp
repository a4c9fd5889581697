// password_command in the configuration: a provider (nothing run at load),
// one password source at a time, shown by describe() without secrets, and
// beaten by a password set in code.

#include <catch2/catch.hpp>
#include <uvdb/credentials.hpp>

#include "unit/config_test_util.hpp"

using namespace config_test;
using Catch::Matchers::Contains;

TEST_CASE("config: password_command becomes a password provider", "[unit][config]") {
    auto c = load(url_only + "password_command = \"vault read -field=pw secret/db\"\n" +
                  "password_command_timeout = \"3s\"\n");
    REQUIRE(c.ok());
    REQUIRE(c->connection().password_provider != nullptr);
    CHECK(c->connection().password_provider->calls() == 0);  // not run at load
    CHECK(c->connection().password_provider->name() ==
          "password_command \"vault read -field=pw secret/db\"");
    CHECK(c->connection().password.empty());
    CHECK(c->password_from == "password_command vault read -field=pw secret/db");
    CHECK_THAT(uvdb::describe(*c),
               Contains("password_command = \"vault read -field=pw secret/db\""));
}

TEST_CASE("config: only one of password_file, password_env, password_command", "[unit][config]") {
    CHECK_THAT(error_of(load(url_only + "password_command = \"x\"\npassword_env = \"PW\"\n",
                             {{"PW", "y"}})),
               Contains("more than one of password_file, password_env and password_command"));
    CHECK_THAT(error_of(load(url_only + "password_command_timeout = \"0s\"\n")),
               Contains("password_command_timeout"));
}

TEST_CASE("config: a password set in code beats password_command", "[unit][config]") {
    auto c = load(url_only + "password_command = \"x\"\n", {},
                  [](uvdb::pool_options& o) { o.connection.password = "from-code"; });
    REQUIRE(c.ok());
    CHECK(c->connection().password_provider == nullptr);
    CHECK(c->password_from == "code");
}
