// The TOML file layer: what a valid file sets, with where each value came
// from, and every way a file is refused (file:line:column, key, reason).

#include <chrono>
#include <string>

#include "unit/config_test_util.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using config_test::error_of_text;
using config_test::load;
using config_test::url_only;

TEST_CASE("config: the issue's example file sets every value it names", "[unit][config]") {
    config_test::temp_dir dir;
    const std::string pw = dir.write("db-password", "pw-from-file\n", 0600);
    const std::string toml =
        "[database]\n"
        "url = \"postgresql://app@db.internal:5432/app?sslmode=verify-full\"\n"
        "password_file = \"" +
        pw +
        "\"\n"
        "application_name = \"writer-api\"\n"
        "connect_timeout = \"5s\"\n"
        "query_timeout = \"30s\"\n"
        "\n"
        "[pool]\n"
        "preset = \"aws-rds\"\n"
        "size = 20\n"
        "max_overflow = 40\n"
        "timeout = \"30s\"\n"
        "recycle = \"1h\"\n"
        "pre_ping = true\n"
        "\n"
        "[log]\n"
        "level = \"info\"\n";
    auto r = load(toml);
    REQUIRE(r.ok());
    const uvdb::config& c = *r;
    CHECK(c.connection().url == "postgresql://app@db.internal:5432/app?sslmode=verify-full");
    CHECK(c.connection().password == "pw-from-file");
    CHECK(c.connection().application_name == "writer-api");
    CHECK(c.connection().connect_timeout == 5s);
    CHECK(c.connection().query_timeout == 30s);
    CHECK(c.preset == "aws-rds");
    CHECK(c.pool.size == 20);
    CHECK(c.pool.max_overflow == 40);
    CHECK(c.pool.timeout == 30s);
    CHECK(c.pool.recycle == 1h);  // the file beats the preset's 600 s
    CHECK(c.pool.pre_ping);
    CHECK(c.log_level == "info");
    CHECK(c.file == "uvdb.toml");
    CHECK(c.password_from == "password_file " + pw);

    CHECK(to_string(c.origin("pool.recycle")) == "file uvdb.toml:13:1");
    CHECK(to_string(c.origin("database.url")) == "file uvdb.toml:2:1");
    CHECK(to_string(c.origin("pool.preset")) == "file uvdb.toml:9:1");
    CHECK(to_string(c.origin("database.password")) == "file uvdb.toml:3:1");
    CHECK(to_string(c.origin("database.extra.keepalives_idle")) == "preset aws-rds");
    CHECK(to_string(c.origin("pool.min_idle")) == "default");
}

TEST_CASE("config: durations take ms, s, m, h or plain seconds", "[unit][config]") {
    struct example {
        std::string text;
        std::chrono::milliseconds expected;
    };
    const example examples[] = {
        {"\"500ms\"", 500ms}, {"\"30s\"", 30s},     {"\"10m\"", 10min}, {"\"1h\"", 1h},
        {"600", 600s},        {"\"600\"", 600s},    {"1.5", 1500ms},    {"\"1.5s\"", 1500ms},
        {"\" 2 m \"", 2min},  {"\"0.25h\"", 15min}, {"\"90M\"", 90min},
    };
    for (const auto& e : examples) {
        INFO("recycle = " << e.text);
        auto r = load(url_only + "[pool]\nrecycle = " + e.text + "\n");
        REQUIRE(r.ok());
        CHECK(r->pool.recycle == e.expected);
    }
}

TEST_CASE("config: malformed or out-of-range durations are refused with their position",
          "[unit][config]") {
    const std::string at = "uvdb.toml:4:11: [pool] recycle: ";
    CHECK(error_of_text(url_only + "[pool]\nrecycle = \"5x\"\n") ==
          at + "expected a duration such as \"500ms\", \"30s\", \"10m\", \"1h\" or a number of "
               "seconds "
               "(the unit must be ms, s, m or h)");
    CHECK_THAT(error_of_text(url_only + "[pool]\nrecycle = \"abc\"\n"),
               Contains(at + "expected a duration"));
    CHECK_THAT(error_of_text(url_only + "[pool]\nrecycle = \"\"\n"),
               Contains("got an empty string"));
    CHECK_THAT(error_of_text(url_only + "[pool]\nrecycle = \"1.5.5s\"\n"),
               Contains(at + "expected a duration"));
    CHECK_THAT(error_of_text(url_only + "[pool]\nrecycle = \"-5s\"\n"),
               Contains(at + "must not be negative"));
    CHECK_THAT(error_of_text(url_only + "[pool]\nrecycle = -5\n"),
               Contains(at + "must not be negative, got -5"));
    CHECK_THAT(error_of_text(url_only + "[pool]\nrecycle = \"99999999999999999999h\"\n"),
               Contains(at + "is too long"));
    CHECK_THAT(error_of_text(url_only + "[pool]\nrecycle = 9223372036854775807\n"),
               Contains(at + "is too long"));
    CHECK_THAT(error_of_text(url_only + "[pool]\nrecycle = 1e300\n"), Contains(at + "is too long"));
    CHECK_THAT(error_of_text(url_only + "[pool]\nrecycle = nan\n"),
               Contains(at + "expected a duration"));
    CHECK_THAT(error_of_text(url_only + "[pool]\nrecycle = true\n"),
               Contains(at + "expected a duration"));
    CHECK_THAT(error_of_text(url_only + "[pool]\nrecycle = \"0.1ms\"\n"),
               Contains("shorter than a millisecond"));
}

TEST_CASE("config: overflow_delay takes \"auto\" or a duration, 0 meaning QueuePool's at once",
          "[unit][config]") {
    auto dflt = load(url_only);
    REQUIRE(dflt.ok());
    CHECK_FALSE(dflt->pool.overflow_delay.has_value());
    auto automatic = load(url_only + "[pool]\noverflow_delay = \"auto\"\n");
    REQUIRE(automatic.ok());
    CHECK_FALSE(automatic->pool.overflow_delay.has_value());
    auto fixed = load(url_only + "[pool]\noverflow_delay = \"50ms\"\n");
    REQUIRE(fixed.ok());
    CHECK(fixed->pool.overflow_delay == 50ms);
    auto zero = load(url_only + "[pool]\noverflow_delay = 0\n");
    REQUIRE(zero.ok());
    CHECK(zero->pool.overflow_delay == 0ms);
    CHECK_THAT(error_of_text(url_only + "[pool]\noverflow_delay = \"soon\"\n"),
               Contains("[pool] overflow_delay: expected a duration") && Contains("or \"auto\""));
    CHECK_THAT(error_of_text(url_only + "[pool]\noverflow_delay = -1\n"),
               Contains("must not be negative"));
}

TEST_CASE("config: reset_query is a statement run on every returned connection, none by default",
          "[unit][config]") {
    auto dflt = load(url_only);
    REQUIRE(dflt.ok());
    CHECK(dflt->pool.reset_query.empty());
    auto discard = load(url_only + "[pool]\nreset_query = \"DISCARD ALL\"\n");
    REQUIRE(discard.ok());
    CHECK(discard->pool.reset_query == "DISCARD ALL");
    auto script = load(url_only + "[pool]\nreset_query = \"\"\"\nRESET ALL;\nUNLISTEN *\"\"\"\n");
    REQUIRE(script.ok());
    CHECK(script->pool.reset_query == "RESET ALL;\nUNLISTEN *");
    CHECK_THAT(error_of_text(url_only + "[pool]\nreset_query = true\n"),
               Contains("[pool] reset_query") && Contains("string"));
}

TEST_CASE("config: recycle and timeout must be longer than zero", "[unit][config]") {
    CHECK(error_of_text(url_only + "[pool]\nrecycle = 0\n") ==
          "uvdb.toml:4:11: [pool] recycle: must be longer than 0, got 0s");
    CHECK(error_of_text(url_only + "[pool]\ntimeout = \"0s\"\n") ==
          "uvdb.toml:4:11: [pool] timeout: must be longer than 0, got 0s");
    CHECK_THAT(error_of_text(url_only + "[pool]\ntimeout = \"0ms\"\n"),
               Contains("[pool] timeout: must be longer than 0"));
    // Zero stays legal where it means "off".
    auto ok =
        load(url_only + "query_timeout = 0\n[pool]\nidle_timeout = 0\nleak_threshold = \"0s\"\n");
    REQUIRE(ok.ok());
    CHECK(ok->pool.idle_timeout == 0ms);
    CHECK(ok->connection().query_timeout == 0ms);
}

TEST_CASE("config: size below 1 and negative overflow are refused", "[unit][config]") {
    CHECK(error_of_text(url_only + "[pool]\nsize = 0\n") ==
          "uvdb.toml:4:8: [pool] size: expected a whole number \u2265 1, got 0");
    CHECK(error_of_text(url_only + "[pool]\nmax_overflow = -1\n") ==
          "uvdb.toml:4:16: [pool] max_overflow: expected a whole number \u2265 0, got -1");
    CHECK_THAT(error_of_text(url_only + "[pool]\nsize = 5000000\n"),
               Contains("[pool] size: is too large (at most 1000000)"));
    auto r = load(url_only + "[pool]\nmax_overflow = 0\n");
    REQUIRE(r.ok());
    CHECK(r->pool.max_overflow == 0);
}

TEST_CASE("config: a value of the wrong type is refused naming the type it got", "[unit][config]") {
    CHECK(error_of_text(url_only + "[pool]\nsize = \"20\"\n") ==
          "uvdb.toml:4:8: [pool] size: expected a whole number \u2265 1, got a string (write it "
          "without quotes)");
    CHECK(error_of_text(url_only + "[pool]\npre_ping = \"yes\"\n") ==
          "uvdb.toml:4:12: [pool] pre_ping: expected true or false, got a string (write it without "
          "quotes)");
    CHECK_THAT(error_of_text(url_only + "[pool]\nsize = 2.5\n"),
               Contains("[pool] size: expected a whole number \u2265 1, got 2.5"));
    CHECK_THAT(error_of_text(url_only + "[pool]\nsize = [1, 2]\n"),
               Contains("[pool] size: expected a whole number \u2265 1, got a array"));
    CHECK_THAT(error_of_text(url_only + "[pool]\npre_ping = 1\n"),
               Contains("[pool] pre_ping: expected true or false, got 1"));
    CHECK_THAT(error_of_text("[database]\nurl = 5\n"),
               Contains("uvdb.toml:2:7: [database] url: expected a string, got 5"));
    CHECK_THAT(
        error_of_text(url_only + "[log]\nlevel = \"verbose\"\n"),
        Contains("[log] level: expected one of trace, debug, info, warn, error, critical, off"));
    CHECK_THAT(error_of_text(url_only + "[pool]\norder = \"fifi\"\n"),
               Contains("did you mean \"fifo\"?"));
    CHECK_THAT(error_of_text(url_only + "[pool]\nrecycle_jitter = 1.0\n"),
               Contains("from 0 up to (not including) 1, got 1"));
    CHECK_THAT(error_of_text(url_only + "[pool]\ndate = 1979-05-27\n"),
               Contains("unknown key \"date\""));
    CHECK_THAT(error_of_text("pool = 3\n" + url_only),
               Contains("uvdb.toml:1:1: \"pool\" must be a table ([pool]), got 3"));
}

TEST_CASE("config: an unknown key or table is refused with a suggestion", "[unit][config]") {
    const std::string toml = url_only +
                             "\n"
                             "[pool]\n"
                             "size = 20\n"
                             "sise = 20\n";
    CHECK(error_of_text(toml) ==
          "uvdb.toml:6:1: [pool] unknown key \"sise\"; did you mean \"size\"?");
    CHECK(error_of_text(url_only + "[pool]\nmaxoverflow = 3\n") ==
          "uvdb.toml:4:1: [pool] unknown key \"maxoverflow\"; did you mean \"max_overflow\"?");
    CHECK(error_of_text(url_only + "[pool]\ncolour = 3\n") ==
          "uvdb.toml:4:1: [pool] unknown key \"colour\"");
    CHECK(error_of_text(url_only + "[pol]\nsize = 3\n") ==
          "uvdb.toml:3:2: unknown table [pol]; did you mean [pool]?");
    CHECK_THAT(error_of_text(url_only + "[metrics]\nport = 3\n"),
               Contains("unknown table [metrics] (tables: [database], [pool], [log])"));
    CHECK(error_of_text("size = 3\n" + url_only) ==
          "uvdb.toml:1:1: key \"size\" is outside any table; put it under [pool]");
    CHECK_THAT(error_of_text("[database]\nuri = \"postgresql://h/db\"\n"),
               Contains("did you mean \"url\"?"));
}

TEST_CASE("config: an unknown preset is refused with a suggestion", "[unit][config]") {
    CHECK_THAT(error_of_text(url_only + "[pool]\npreset = \"aws_rds\"\n"),
               Contains("uvdb.toml:4:10: [pool] preset: unknown preset \"aws_rds\"; did you mean "
                        "\"aws-rds\"? (presets: "
                        "low-traffic, medium, high-traffic, aws-rds, rds-proxy, gcp-cloudsql, "
                        "azure, pgbouncer)"));
    CHECK_THAT(error_of_text(url_only + "[pool]\npreset = 3\n"),
               Contains("[pool] preset: expected a string, got 3"));
}

TEST_CASE("config: a malformed or missing URL is refused without echoing it", "[unit][config]") {
    const std::string msg =
        error_of_text("[database]\nurl = \"postgresql://app:hunter2@db.internal:port/app\"\n");
    CHECK_THAT(msg, Contains("uvdb.toml:2:7: [database] url: malformed connection URL"));
    CHECK_THAT(msg, !Contains("hunter2"));
    CHECK_THAT(error_of_text("[database]\nurl = \"\"\n"), Contains("[database] url: is empty"));
    CHECK_THAT(error_of_text("[pool]\nsize = 3\n"), Contains("no database URL: set DATABASE_URL"));
}

TEST_CASE("config: a TOML syntax error is reported with its position", "[unit][config]") {
    CHECK_THAT(error_of_text("[database]\nurl = postgresql://app:hunter2@db/app\n"),
               Contains("uvdb.toml:2:7: TOML syntax error:"));
    CHECK_THAT(error_of_text("[pool\nsize = 3\n"), Contains("uvdb.toml:1:6: TOML syntax error:"));
    CHECK_THAT(error_of_text(url_only + "[pool]\nsize = 1\nsize = 2\n"), Contains("uvdb.toml:5:"));
}

TEST_CASE("config: every problem of a file is listed, in the order of the file", "[unit][config]") {
    const std::string msg = error_of_text(url_only +
                                          "[pool]\n"
                                          "size = 0\n"
                                          "recycle = \"soon\"\n"
                                          "sise = 3\n"
                                          "[log]\n"
                                          "level = \"loud\"\n");
    const auto a = msg.find("uvdb.toml:4:");
    const auto b = msg.find("uvdb.toml:5:");
    const auto c = msg.find("uvdb.toml:6:");
    const auto d = msg.find("uvdb.toml:8:");
    REQUIRE(a != std::string::npos);
    REQUIRE(b != std::string::npos);
    REQUIRE(c != std::string::npos);
    REQUIRE(d != std::string::npos);
    CHECK(a < b);
    CHECK(b < c);
    CHECK(c < d);
}

TEST_CASE("config: [database.extra] passes backend parameters and refuses a password",
          "[unit][config]") {
    auto r = load(
        url_only +
        "[database.extra]\nsslmode = \"verify-full\"\nkeepalives_idle = 30\nkeepalives = true\n");
    REQUIRE(r.ok());
    CHECK(r->connection().extra.at("sslmode") == "verify-full");
    CHECK(r->connection().extra.at("keepalives_idle") == "30");
    CHECK(r->connection().extra.at("keepalives") == "1");
    CHECK(to_string(r->origin("database.extra.sslmode")) == "file uvdb.toml:4:1");
    CHECK_THAT(error_of_text(url_only + "[database.extra]\npassword = \"hunter2\"\n"),
               Contains("uvdb.toml:4:12: [database.extra] \"password\": a password does not belong "
                        "in [database.extra]"));
    CHECK_THAT(error_of_text(url_only + "[database.extra]\nx = [1]\n"),
               Contains("expected a string, a number or a boolean"));
}

TEST_CASE("config: a file named by load_options or UVDB_CONFIG is read from disk",
          "[unit][config]") {
    config_test::temp_dir dir;
    const std::string path = dir.write("uvdb.toml", url_only + "[pool]\nsize = 7\n");
    uvdb::load_options o;
    o.env = uvdb::environment_from({{"UVDB_CONFIG", path}});
    auto r = uvdb::load_config(o);
    REQUIRE(r.ok());
    CHECK(r->pool.size == 7);
    CHECK(r->file == path);
    CHECK(to_string(r->origin("pool.size")) == "file " + path + ":4:1");

    o.file = std::string("");  // code says: no file, whatever UVDB_CONFIG says
    auto none = uvdb::load_config(o);
    REQUIRE_FALSE(none.ok());  // and so no URL
    CHECK_THAT(none.err().message(), Contains("no database URL"));

    o.file = std::nullopt;
    o.env = uvdb::environment_from({{"UVDB_CONFIG", dir.path() + "/missing.toml"}});
    auto missing = uvdb::load_config(o);
    REQUIRE_FALSE(missing.ok());
    CHECK_THAT(missing.err().message(), Contains("cannot read configuration file \"" + dir.path() +
                                                 "/missing.toml\" (named by UVDB_CONFIG): "
                                                 "No such file or directory"));
}

TEST_CASE("config: non-ASCII text is fine in strings and comments, refused elsewhere",
          "[unit][config]") {
    auto ok = load(
        "# Café, 東京、ありがとう\n[database]\nurl = \"postgresql://app@db/app\"\n"
        "application_name = \"café-東京、\"\n");
    REQUIRE(ok.ok());
    CHECK(ok->connection().application_name == "café-東京、");
    // toml++ 3.3 would reach __builtin_unreachable() on these (upstream #190, #295).
    CHECK(error_of_text(url_only + "[pool]\nsize = 20\u3001\n") ==
          "uvdb.toml:4:10: character U+3001 outside a string or comment (TOML allows it only in "
          "those)");
    CHECK_THAT(error_of_text("\xcc\xaa"),
               Contains("uvdb.toml:1:1: character U+032A outside a string or comment"));
    CHECK_THAT(
        error_of_text(url_only + "application_name = \"\"\"\\\n  \u00e9\"\"\"\n"),
        Contains("uvdb.toml:4:3: character U+00E9 cannot follow a line-ending backslash here"));
    auto escaped = load(url_only + "application_name = \"\"\"\\\n  \\u00e9 caf\u00e9\"\"\"\n");
    REQUIRE(escaped.ok());
    CHECK(escaped->connection().application_name == "\u00e9 caf\u00e9");
}

TEST_CASE("config: a quote inside a bare value does not hide what follows", "[unit][config]") {
    // toml++ reads `1e3'x` as one bare value, so the é after it is outside any string.
    CHECK_THAT(error_of_text(url_only + "[pool]\ntimeout = 1e3'x\u00e9'\n"),
               Contains("uvdb.toml:4:16: character U+00E9 outside a string or comment"));
    CHECK_THAT(error_of_text(url_only + "[pool]\ntimeout = [1.'\u00e9']\n"),
               Contains("uvdb.toml:4:15: character U+00E9 outside a string or comment"));
    CHECK_THAT(error_of_text(url_only + "application_name = \"a\\\u00e9\"\n"),
               Contains("uvdb.toml:3:23: character U+00E9 after a backslash"));
    auto dotted = load(url_only + "[database.extra]\n\"x\".'\u00e9' = 1\n");
    CHECK_THAT(config_test::error_of(dotted),
               Contains("uvdb.toml:4:"));  // a valid TOML key, but not one of ours
}

TEST_CASE("config: quotes inside bare values and inline tables are scanned as toml++ reads them",
          "[unit][config]") {
    // Both found by the fuzzer: the quote belongs to a bare value, so é is outside any string.
    CHECK_THAT(error_of_text("s = +1e618=\"\u00a7\"\n"),
               Contains("uvdb.toml:1:13: character U+00A7 outside a string"));
    CHECK_THAT(error_of_text(url_only + "[pool]\nx = [\n  1.'\u00e9',\n]\n"),
               Contains("uvdb.toml:5:6: character U+00E9 outside a string"));
    // Strings in arrays and inline tables keep their Unicode (the keys are simply not ours).
    CHECK_THAT(
        error_of_text(url_only + "[database.extra]\nx = [\"\u00e9\", '\u00e9']\n"),
        Contains("[database.extra] \"x\": expected a string, a number or a boolean, got a array"));
    CHECK_THAT(error_of_text(url_only + "[database.extra]\nx = {a=\"\u00e9\", \"\u00e9\" = 1}\n"),
               Contains("got a table"));
}
