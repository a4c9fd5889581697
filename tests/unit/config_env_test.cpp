// The environment layer and the precedence of all layers:
// defaults < preset < file < environment < code.

#include <chrono>
#include <string>

#include "unit/config_test_util.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using config_test::env_map;
using config_test::error_of;
using config_test::load;
using config_test::url_only;

namespace {

uvdb::result<uvdb::config> load_env(env_map env) {
    uvdb::load_options o;
    o.file = std::string("");
    o.env = uvdb::environment_from(std::move(env));
    return uvdb::load_config(o);
}

const std::string url = "postgresql://app@db.internal:5432/app";

}  // namespace

TEST_CASE("config: each environment variable sets its value and is named as its source",
          "[unit][config]") {
    auto r = load_env({{"DATABASE_URL", url},
                       {"DB_POOL_SIZE", "7"},
                       {"DB_MAX_OVERFLOW", "3"},
                       {"DB_POOL_RECYCLE", "600"},
                       {"DB_POOL_PRE_PING", "false"},
                       {"DB_POOL_TIMEOUT", "2.5s"},
                       {"UVDB_LOG_LEVEL", "debug"}});
    REQUIRE(r.ok());
    CHECK(r->connection().url == url);
    CHECK(r->pool.size == 7);
    CHECK(r->pool.max_overflow == 3);
    CHECK(r->pool.recycle == 600s);
    CHECK_FALSE(r->pool.pre_ping);
    CHECK(r->pool.timeout == 2500ms);
    CHECK(r->log_level == "debug");
    CHECK(to_string(r->origin("database.url")) == "environment DATABASE_URL");
    CHECK(to_string(r->origin("pool.size")) == "environment DB_POOL_SIZE");
    CHECK(to_string(r->origin("pool.max_overflow")) == "environment DB_MAX_OVERFLOW");
    CHECK(to_string(r->origin("pool.recycle")) == "environment DB_POOL_RECYCLE");
    CHECK(to_string(r->origin("pool.pre_ping")) == "environment DB_POOL_PRE_PING");
    CHECK(to_string(r->origin("pool.timeout")) == "environment DB_POOL_TIMEOUT");
    CHECK(r->file.empty());
}

TEST_CASE("config: DB_POOL_PRE_PING takes true/false/1/0/yes/no in any case", "[unit][config]") {
    const std::pair<const char*, bool> cases[] = {
        {"true", true},   {"TRUE", true},   {"1", true},  {"yes", true}, {"Yes", true},
        {"false", false}, {"False", false}, {"0", false}, {"no", false}, {"NO", false}};
    for (const auto& [text, expected] : cases) {
        INFO("DB_POOL_PRE_PING=" << text);
        auto r = load_env({{"DATABASE_URL", url}, {"DB_POOL_PRE_PING", text}});
        REQUIRE(r.ok());
        CHECK(r->pool.pre_ping == expected);
    }
    CHECK(error_of(load_env({{"DATABASE_URL", url}, {"DB_POOL_PRE_PING", "maybe"}})) ==
          "environment DB_POOL_PRE_PING=\"maybe\": expected true or false (also 1/0, yes/no)");
}

TEST_CASE("config: an environment value that does not parse is refused naming the variable",
          "[unit][config]") {
    auto bad = [](const char* var, const char* value) {
        return error_of(load_env({{"DATABASE_URL", url}, {var, value}}));
    };
    CHECK(bad("DB_POOL_SIZE", "abc") ==
          "environment DB_POOL_SIZE=\"abc\": expected a whole number \u2265 1");
    CHECK(bad("DB_POOL_SIZE", "0") ==
          "environment DB_POOL_SIZE=\"0\": expected a whole number \u2265 1, got 0");
    CHECK(bad("DB_POOL_SIZE", "-3") ==
          "environment DB_POOL_SIZE=\"-3\": expected a whole number \u2265 1");
    CHECK(bad("DB_POOL_SIZE", "20abc") ==
          "environment DB_POOL_SIZE=\"20abc\": expected a whole number \u2265 1");
    CHECK_THAT(bad("DB_POOL_SIZE", "99999999999999999999"), Contains("is too large"));
    CHECK(bad("DB_MAX_OVERFLOW", "-1") ==
          "environment DB_MAX_OVERFLOW=\"-1\": expected a whole number \u2265 0");
    CHECK(bad("DB_POOL_RECYCLE", "0") ==
          "environment DB_POOL_RECYCLE=\"0\": must be longer than 0, got 0s");
    CHECK_THAT(bad("DB_POOL_RECYCLE", "soon"),
               Contains("environment DB_POOL_RECYCLE=\"soon\": expected a duration"));
    CHECK_THAT(bad("DB_POOL_TIMEOUT", "-1"),
               Contains("environment DB_POOL_TIMEOUT=\"-1\": must not be negative"));
    CHECK_THAT(bad("UVDB_LOG_LEVEL", "chatty"),
               Contains("environment UVDB_LOG_LEVEL=\"chatty\": expected one of"));
    CHECK_THAT(bad("UVDB_PRESET", "aws"),
               Contains("environment UVDB_PRESET=\"aws\": unknown preset"));
    // Control characters are shown escaped, so that the message stays one line.
    CHECK(bad("DB_POOL_SIZE", "2\n0") ==
          "environment DB_POOL_SIZE=\"2\\x0a0\": expected a whole number \u2265 1");
}

TEST_CASE("config: a malformed DATABASE_URL is refused without showing it", "[unit][config]") {
    const std::string msg =
        error_of(load_env({{"DATABASE_URL", "postgresql://app:hunter2@db:port/app"}}));
    CHECK_THAT(msg, Contains("environment DATABASE_URL: malformed connection URL"));
    CHECK_THAT(msg, !Contains("hunter2"));
}

TEST_CASE("config: an empty environment variable counts as unset", "[unit][config]") {
    auto r = load_env(
        {{"DATABASE_URL", url}, {"DB_POOL_SIZE", ""}, {"UVDB_PRESET", ""}, {"UVDB_CONFIG", ""}});
    REQUIRE(r.ok());
    CHECK(r->pool.size == 20);
    CHECK(r->preset == "medium");
}

TEST_CASE("config: defaults < preset < file < environment < code", "[unit][config]") {
    const std::string file = url_only + "[pool]\nsize = 30\n";
    const env_map env = {{"UVDB_PRESET", "high-traffic"}, {"DB_POOL_SIZE", "40"}};
    auto code = [](uvdb::pool_options& p) { p.size = 45; };

    auto all = load(file, env, code);
    REQUIRE(all.ok());
    CHECK(all->pool.size == 45);
    CHECK(to_string(all->origin("pool.size")) == "code");

    auto no_code = load(file, env);
    REQUIRE(no_code.ok());
    CHECK(no_code->pool.size == 40);
    CHECK(to_string(no_code->origin("pool.size")) == "environment DB_POOL_SIZE");

    auto file_only = load(file, {{"UVDB_PRESET", "high-traffic"}});
    REQUIRE(file_only.ok());
    CHECK(file_only->pool.size == 30);
    CHECK(to_string(file_only->origin("pool.size")) == "file uvdb.toml:4:1");
    CHECK(file_only->pool.max_overflow == 50);  // the preset still speaks where nobody else does
    CHECK(to_string(file_only->origin("pool.max_overflow")) == "preset high-traffic");

    auto preset_only = load(url_only, {{"UVDB_PRESET", "high-traffic"}});
    REQUIRE(preset_only.ok());
    CHECK(preset_only->pool.size == 50);
    CHECK(to_string(preset_only->origin("pool.size")) == "preset high-traffic");

    auto defaults = load(url_only);
    REQUIRE(defaults.ok());
    CHECK(defaults->pool.size == 20);
    CHECK(defaults->preset == "medium");
    CHECK(to_string(defaults->origin("pool.preset")) == "default");
    CHECK(defaults->pool.recycle == 3600s);
    CHECK(to_string(defaults->origin("pool.recycle")) == "default");
}

TEST_CASE("config: the preset is chosen by code, else UVDB_PRESET, else the file",
          "[unit][config]") {
    const std::string file = url_only + "[pool]\npreset = \"low-traffic\"\n";
    auto from_file = load(file);
    REQUIRE(from_file.ok());
    CHECK(from_file->preset == "low-traffic");
    CHECK(to_string(from_file->origin("pool.preset")) == "file uvdb.toml:4:1");

    auto from_env = load(file, {{"UVDB_PRESET", "azure"}});
    REQUIRE(from_env.ok());
    CHECK(from_env->preset == "azure");
    CHECK(from_env->pool.size == 20);  // low-traffic's 5 is gone with it
    CHECK(to_string(from_env->origin("pool.preset")) == "environment UVDB_PRESET");

    uvdb::load_options o;
    o.file = std::string("uvdb.toml");
    o.text = file;
    o.env = uvdb::environment_from({{"UVDB_PRESET", "azure"}});
    o.preset = std::string("high-traffic");
    auto from_code = uvdb::load_config(o);
    REQUIRE(from_code.ok());
    CHECK(from_code->preset == "high-traffic");
    CHECK(to_string(from_code->origin("pool.preset")) == "code");

    o.preset = std::string("huge");
    CHECK_THAT(error_of(uvdb::load_config(o)),
               Contains("load_options::preset: unknown preset \"huge\""));
}

TEST_CASE("config: code overrides are recorded as code and validated", "[unit][config]") {
    auto r = load(url_only, {}, [](uvdb::pool_options& p) {
        p.connection.application_name = "billing";
        p.connection.extra["sslmode"] = "require";
        p.leak_threshold = 30s;
    });
    REQUIRE(r.ok());
    CHECK(to_string(r->origin("database.application_name")) == "code");
    CHECK(to_string(r->origin("database.extra.sslmode")) == "code");
    CHECK(to_string(r->origin("pool.leak_threshold")) == "code");
    CHECK(to_string(r->origin("pool.size")) == "default");

    CHECK(error_of(load(url_only, {}, [](uvdb::pool_options& p) { p.min_idle = 100; })) ==
          "code: [pool] min_idle 100 is larger than size 20 (size from default)");
    CHECK_THAT(
        error_of(load(url_only, {},
                      [](uvdb::pool_options& p) { p.connection.url = "postgresql://h:x/db"; })),
        Contains("code: [database] url: malformed connection URL"));
    CHECK_THAT(error_of(load(url_only, {}, [](uvdb::pool_options& p) { p.recycle_jitter = 2; })),
               Contains("recycle_jitter"));
}

TEST_CASE("config: load_options::base replaces the defaults and keeps hooks", "[unit][config]") {
    uvdb::load_options o;
    o.file = std::string("uvdb.toml");
    o.text = url_only;
    o.env = uvdb::environment_from({});
    o.base.connection.application_name = "my-service";
    bool hook_called = false;
    o.base.on_checkout = [&hook_called](uvdb::connection&) { hook_called = true; };
    o.base.random_seed = 42;
    auto r = uvdb::load_config(o);
    REQUIRE(r.ok());
    CHECK(r->connection().application_name == "my-service");
    CHECK(to_string(r->origin("database.application_name")) == "default (application)");
    CHECK(to_string(r->origin("pool.size")) == "default");
    REQUIRE(r->pool.on_checkout);
    CHECK(r->pool.random_seed == 42);
}

TEST_CASE("config: pipeline_depth from the file or DB_PIPELINE_DEPTH, checked and described",
          "[unit][config]") {
    auto off = load_env({{"DATABASE_URL", url}});
    REQUIRE(off.ok());
    CHECK(off->pool.pipeline_depth == 16);  // on by default
    CHECK(off->pool.pipeline_max_front_age == 5ms);

    auto env = load_env({{"DATABASE_URL", url}, {"DB_PIPELINE_DEPTH", "8"}});
    REQUIRE(env.ok());
    CHECK(env->pool.pipeline_depth == 8);
    CHECK(to_string(env->origin("pool.pipeline_depth")) == "environment DB_PIPELINE_DEPTH");
    CHECK_THAT(describe(*env), Contains("pipeline_depth = 8"));

    auto file = load("[database]\nurl = \"" + url +
                         "\"\n[pool]\npipeline_depth = 4\npipeline_max_front_age = \"10ms\"\n",
                     {});
    REQUIRE(file.ok());
    CHECK(file->pool.pipeline_depth == 4);
    CHECK(file->pool.pipeline_max_front_age == 10ms);
    CHECK_THAT(describe(*file), Contains("pipeline_max_front_age = \"10ms\""));

    CHECK_THAT(error_of(load_env({{"DATABASE_URL", url}, {"DB_PIPELINE_DEPTH", "5000"}})),
               Contains("DB_PIPELINE_DEPTH") && Contains("more than 1024"));
    CHECK_THAT(error_of(load_env({{"DATABASE_URL", url}, {"DB_PIPELINE_DEPTH", "deep"}})),
               Contains("expected a whole number"));
    CHECK_THAT(error_of(load("[database]\nurl = \"" + url +
                                 "\"\n[pool]\npipeline_depth = 4\npipeline_max_front_age = 0\n",
                             {})),
               Contains("pipeline_max_front_age"));
}
