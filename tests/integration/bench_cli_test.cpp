// uvdb-bench as users run it: against the test server, each scenario with a
// few ops, --json. Checks the JSON lines docs/BENCHMARKS.md promises (required
// keys, null only where allowed, figures consistent with each other) and
// that no op failed. Prints nothing about speed: benchmarks are not timed tests.

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "integration/support/run_program.hpp"
#include "integration/support/test_env.hpp"

namespace {

using namespace std::chrono_literals;

using bench_run = uvdb::test::program_run;

/// Runs uvdb-bench with `args`; stdout and stderr captured apart. The
/// child's environment is ours without DATABASE_URL, plus `extra_env`.
bench_run run_bench(const std::vector<std::string>& args,
                    const std::vector<std::string>& extra_env = {},
                    std::chrono::seconds deadline = 120s) {
#ifndef UVDB_BENCH_EXE
    FAIL("uvdb-bench was not built with the pg tests (configure with UVDB_BUILD_EXAMPLES=ON)");
    return {};
#else
    return uvdb::test::run_program(UVDB_BENCH_EXE, args, extra_env, deadline);
#endif
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

/// A flat JSON object: key → raw value text (strings unescaped, nested
/// objects kept as text). Fails the test on anything that is not JSON.
class json_object {
  public:
    explicit json_object(const std::string& text) : s_(text) {
        ws();
        expect('{');
        ws();
        if (peek() == '}') {
            ++i_;
        } else {
            for (;;) {
                ws();
                std::string key = string_value();
                ws();
                expect(':');
                ws();
                const bool is_string = peek() == '"';
                std::string v = is_string ? string_value() : raw_value();
                if (is_string) strings_.insert(key);
                INFO("duplicate key " << key);
                REQUIRE(values_.emplace(key, v).second);
                ws();
                if (peek() == ',') {
                    ++i_;
                    continue;
                }
                expect('}');
                break;
            }
        }
        ws();
        REQUIRE(i_ == s_.size());
    }

    bool has(const std::string& k) const { return values_.count(k) != 0; }
    bool is_string(const std::string& k) const { return strings_.count(k) != 0; }
    bool is_null(const std::string& k) const { return !is_string(k) && at(k) == "null"; }
    const std::string& at(const std::string& k) const {
        INFO("key " << k);
        REQUIRE(has(k));
        return values_.at(k);
    }
    double number(const std::string& k) const {
        const std::string& v = at(k);
        char* end = nullptr;
        const double d = std::strtod(v.c_str(), &end);
        INFO("key " << k << " = " << v);
        REQUIRE((!v.empty() && end == v.c_str() + v.size()));
        return d;
    }

  private:
    char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
    void ws() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
    }
    void expect(char c) {
        INFO("at offset " << i_ << " of " << s_);
        REQUIRE(peek() == c);
        ++i_;
    }
    std::string string_value() {
        expect('"');
        std::string out;
        while (i_ < s_.size() && s_[i_] != '"') {
            if (s_[i_] == '\\') {
                ++i_;
                REQUIRE(i_ < s_.size());
                out += s_[i_] == 'n' ? '\n' : s_[i_];  // enough for notes and names
            } else {
                REQUIRE(static_cast<unsigned char>(s_[i_]) >= 0x20);
                out += s_[i_];
            }
            ++i_;
        }
        expect('"');
        return out;
    }
    std::string raw_value() {
        const std::size_t start = i_;
        int depth = 0;
        while (i_ < s_.size()) {
            const char c = s_[i_];
            if (c == '"') {
                string_value();
                continue;
            }
            if (c == '{' || c == '[') ++depth;
            if (c == '}' || c == ']') {
                if (depth == 0) break;
                --depth;
            }
            if (c == ',' && depth == 0) break;
            ++i_;
        }
        std::string v = s_.substr(start, i_ - start);
        while (!v.empty() && v.back() == ' ') v.pop_back();
        REQUIRE(!v.empty());
        return v;
    }

    std::string s_;
    std::size_t i_ = 0;
    std::map<std::string, std::string> values_;
    std::set<std::string> strings_;
};

/// Checks one scenario's JSON line against docs/BENCHMARKS.md and returns it.
/// `server_note` is what the notes say about the server: the TLS version on
/// the test server, "SQLite <version> in-process" on SQLite.
json_object check_line(
    const std::string& line, const std::string& scenario, std::size_t ops,
    const std::string& pool_note =
        "pool(20,40,pre_ping,recycle=3600,overflow_delay=auto,pipeline_depth=16)",
    const std::string& server_note = "TLSv1.") {
    INFO("line: " << line);
    json_object j(line);
    for (const char* key : {"peer", "scenario", "ops", "seconds", "ops_per_s", "p50_ms", "p99_ms",
                            "failures", "client_cpu_s", "notes", "mean_ms", "p95_ms", "max_ms",
                            "workers", "queries_per_op", "failures_by_category"}) {
        INFO("key " << key);
        CHECK(j.has(key));
    }
    CHECK(j.at("peer") == "uvdb");
    CHECK(j.at("scenario") == scenario);
    CHECK(j.number("ops") == static_cast<double>(ops));
    CHECK(j.number("failures") == 0);
    CHECK(j.at("failures_by_category") == "{}");
    CHECK(j.number("queries_per_op") == (scenario == "rag" ? 10 : 1));
    // Every figure was measurable in a run without failures.
    for (const char* key : {"seconds", "ops_per_s", "mean_ms", "p50_ms", "p95_ms", "p99_ms",
                            "max_ms", "client_cpu_s"}) {
        INFO("key " << key);
        CHECK_FALSE(j.is_null(key));
    }
    const double seconds = j.number("seconds");
    CHECK(seconds > 0);
    CHECK(j.number("ops_per_s") == Approx(static_cast<double>(ops) / seconds).epsilon(0.01));
    CHECK(j.number("p50_ms") > 0);
    CHECK(j.number("p50_ms") <= j.number("p95_ms"));
    CHECK(j.number("p95_ms") <= j.number("p99_ms"));
    CHECK(j.number("p99_ms") <= j.number("max_ms"));
    CHECK(j.number("mean_ms") <= j.number("max_ms"));
    CHECK(j.number("client_cpu_s") >= 0);
    // Notes say the TLS version (or which server) and what an op costs in round trips.
    const std::string& notes = j.at("notes");
    CHECK(notes.find(server_note) != std::string::npos);
    CHECK(notes.find("TIME-CAPPED") == std::string::npos);
    if (scenario.find("unpooled") != std::string::npos) {
        CHECK(notes.find("new connection per op") != std::string::npos);
    } else {
        CHECK(notes.find(pool_note) != std::string::npos);
        CHECK(notes.find("round trips per") != std::string::npos);
    }
    return j;
}

}  // namespace

TEST_CASE("uvdb-bench --json runs each scenario against the server without a failure",
          "[pg][bench]") {
    const auto& e = uvdb::test::env();
    const std::string scenario = GENERATE(as<std::string>{}, "seq_unpooled", "seq_pooled",
                                          "conc_pooled", "conc_unpooled", "rag");
    // The single positional scenario form, as `uvdb-bench --json conc_pooled`.
    const bench_run r = run_bench({"--json", "--ops", "30", "--url", e.url, scenario});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 1);  // nothing else on stdout
    check_line(lines[0], scenario, 30);
    CHECK(r.out.find(e.password) == std::string::npos);
    CHECK(r.err.find(e.password) == std::string::npos);
}

TEST_CASE("uvdb-bench runs every scenario on SQLite, chosen by the URL's scheme",
          "[sqlite][bench]") {
    char dir_template[] = "/tmp/uvdb-bench-sqlite-XXXXXX";
    const char* dir = ::mkdtemp(dir_template);
    REQUIRE(dir != nullptr);
    const std::string db = std::string(dir) + "/bench.db";
    // All five scenarios in their default order; a few ops each, 5 workers.
    const bench_run r =
        run_bench({"--json", "--ops", "30", "--concurrency", "5", "--url", "sqlite://" + db});
    std::remove(db.c_str());
    for (const char* suffix : {"-wal", "-shm", "-journal"}) std::remove((db + suffix).c_str());
    ::rmdir(dir);
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    const auto lines = lines_of(r.out);
    const std::vector<std::string> expected = {"seq_unpooled", "seq_pooled", "conc_pooled",
                                               "conc_unpooled", "rag"};
    REQUIRE(lines.size() == expected.size());
    for (std::size_t i = 0; i < lines.size(); ++i) {
        const json_object j = check_line(
            lines[i], expected[i], 30,
            "pool(20,40,pre_ping,recycle=3600,overflow_delay=auto,pipeline_depth=16)", "SQLite 3.");
        CHECK(j.at("notes").find("in-process") != std::string::npos);
        CHECK(j.at("notes").find("TLS") ==
              std::string::npos);  // nothing PostgreSQL-only is claimed
    }
    // No server limit to warn about, no TLS to miss, no rag skipped.
    CHECK(r.err.find("warning") == std::string::npos);
    CHECK(r.err.find("skipped") == std::string::npos);
}

TEST_CASE(
    "uvdb-bench reaches SQLite through its own URL forms sqlite::memory: and sqlite:relative.db",
    "[sqlite][bench]") {
    // Neither form has "://": the registry's scheme split must still find the
    // SQLite driver. Each pooled connection of :memory: has its own database,
    // which SELECT 1 does not mind.
    const bench_run mem =
        run_bench({"--json", "--ops", "20", "--concurrency", "4", "--url",
                   "sqlite::memory:", "--scenario", "seq_pooled", "--scenario", "conc_pooled"});
    INFO("stderr: " << mem.err);
    REQUIRE(mem.exit_code == 0);
    const auto mem_lines = lines_of(mem.out);
    REQUIRE(mem_lines.size() == 2);
    check_line(mem_lines[0], "seq_pooled", 20,
               "pool(20,40,pre_ping,recycle=3600,overflow_delay=auto,pipeline_depth=16)",
               "SQLite 3.");
    check_line(mem_lines[1], "conc_pooled", 20,
               "pool(20,40,pre_ping,recycle=3600,overflow_delay=auto,pipeline_depth=16)",
               "SQLite 3.");

    // A relative path is relative to the working directory, as the driver's
    // README says: the file appears there.
    const std::string rel = "uvdb-bench-rel-" + std::to_string(::getpid()) + ".db";
    const bench_run file =
        run_bench({"--json", "--ops", "10", "--url", "sqlite:" + rel, "seq_pooled"});
    const bool created = ::access(rel.c_str(), F_OK) == 0;
    std::remove(rel.c_str());
    for (const char* suffix : {"-wal", "-shm", "-journal"}) std::remove((rel + suffix).c_str());
    INFO("stderr: " << file.err);
    REQUIRE(file.exit_code == 0);
    CHECK(created);
    const auto file_lines = lines_of(file.out);
    REQUIRE(file_lines.size() == 1);
    check_line(file_lines[0], "seq_pooled", 10,
               "pool(20,40,pre_ping,recycle=3600,overflow_delay=auto,pipeline_depth=16)",
               "SQLite 3.");
}

TEST_CASE("uvdb-bench says which schemes it knows when no driver serves the URL",
          "[sqlite][bench]") {
    const bench_run r = run_bench({"--json", "--url", "nosuchdb://x/y", "seq_pooled"});
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find("driver_not_found") != std::string::npos);
    CHECK(r.err.find("postgresql") != std::string::npos);
    CHECK(r.err.find("sqlite") != std::string::npos);
}

TEST_CASE(
    "uvdb-bench runs repeated --scenario options in order and finds the server in DATABASE_URL",
    "[pg][bench]") {
    const auto& e = uvdb::test::env();
    const bench_run r = run_bench({"--json", "--ops", "20", "--concurrency", "5", "--scenario",
                                   "rag", "--scenario", "seq_pooled"},
                                  {"DATABASE_URL=" + e.url});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 2);
    const json_object rag = check_line(lines[0], "rag", 20);
    CHECK(rag.number("workers") == 5);
    const json_object seq = check_line(lines[1], "seq_pooled", 20);
    CHECK(seq.number("workers") == 1);  // --concurrency leaves the sequential scenarios alone
}

TEST_CASE("uvdb-bench without --json prints the pooling tables and writes an SVG chart",
          "[pg][bench]") {
    const auto& e = uvdb::test::env();
    const std::string svg = "/tmp/uvdb-bench-test-" + std::to_string(::getpid()) + ".svg";
    const bench_run r = run_bench({"--ops", "20", "--url", e.url, "--svg", svg, "--scenario",
                                   "seq_unpooled", "--scenario", "seq_pooled"});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("| Metric") != std::string::npos);
    CHECK(r.out.find("Without pooling") != std::string::npos);
    CHECK(r.out.find("Connection overhead") != std::string::npos);
    CHECK(r.out.find("Failed requests") != std::string::npos);
    CHECK(r.out.find(e.password) == std::string::npos);
    CHECK(r.out.find("{\"peer\"") == std::string::npos);

    std::FILE* f = std::fopen(svg.c_str(), "r");
    REQUIRE(f != nullptr);
    std::string text;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
    std::fclose(f);
    std::remove(svg.c_str());
    CHECK(text.rfind("<svg", 0) == 0);
    CHECK(text.find("</svg>") != std::string::npos);
    CHECK(text.find("<polyline") != std::string::npos);
    CHECK(text.find("seq_unpooled") != std::string::npos);
    CHECK(text.find("seq_pooled") != std::string::npos);
}

TEST_CASE("uvdb-bench prints the sizing advice for conc_pooled and rag", "[pg][bench]") {
    const auto& e = uvdb::test::env();
    const bench_run r = run_bench(
        {"--ops", "200", "--url", e.url, "--scenario", "conc_pooled", "--scenario", "rag"});
    INFO("stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.find("sizing advice for conc_pooled: size = ") != std::string::npos);
    CHECK(r.out.find("sizing advice for rag: size = ") != std::string::npos);
    CHECK(r.out.find("Little's law") != std::string::npos);
    CHECK(r.out.find("server max_connections ") != std::string::npos);  // read from the server
    CHECK(r.out.find(e.password) == std::string::npos);
}

TEST_CASE("uvdb-bench fails clearly, with nothing on stdout, when the server rejects the password",
          "[pg][bench]") {
    const auto& e = uvdb::test::env();
    const std::string wrong = "not-the-password-42";
    const bench_run r = run_bench(
        {"--json", "--ops", "5", "--url", uvdb::test::make_url({.password = wrong}), "seq_pooled"});
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK(r.err.find("auth_failed") != std::string::npos);
    CHECK(r.err.find(wrong) == std::string::npos);
    (void)e;
}

TEST_CASE("uvdb-bench rejects an unknown scenario before connecting", "[pg][bench]") {
    const bench_run r = run_bench({"--json", "no_such_scenario"});
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find("seq_unpooled, seq_pooled, conc_pooled, conc_unpooled, rag") !=
          std::string::npos);
}

TEST_CASE("uvdb-bench --min-idle pre-fills the pool, so the timed phase opens no connection",
          "[pg][bench]") {
    const auto& e = uvdb::test::env();
    // No warm-up: without --min-idle the timed phase opens all four (no
    // pipelining, which would serve 8 workers with fewer).
    auto conc_pooled = [&](std::vector<std::string> extra, const std::string& pool_note) {
        std::vector<std::string> args = {"--json", "--url",
                                         e.url,    "--ops",
                                         "200",    "--concurrency",
                                         "8",      "--pool-size",
                                         "4",      "--max-overflow",
                                         "0",      "--warmup",
                                         "0",      "--pipeline-depth",
                                         "0"};
        args.insert(args.end(), extra.begin(), extra.end());
        args.emplace_back("conc_pooled");
        const bench_run r = run_bench(args);
        INFO("stderr: " << r.err);
        REQUIRE(r.exit_code == 0);
        const auto lines = lines_of(r.out);
        REQUIRE(lines.size() == 1);
        return check_line(lines[0], "conc_pooled", 200, pool_note).at("notes");
    };
    const std::string lazy = conc_pooled({}, "pool(4,0,pre_ping,recycle=3600,overflow_delay=auto)");
    INFO("notes without --min-idle: " << lazy);
    CHECK(lazy.find("4 connections opened during the timed phase") != std::string::npos);
    const std::string filled = conc_pooled(
        {"--min-idle", "4"}, "pool(4,0,pre_ping,recycle=3600,overflow_delay=auto,min_idle=4)");
    INFO("notes with --min-idle 4: " << filled);
    CHECK(filled.find("opened during the timed phase") == std::string::npos);

    // More pre-filled connections than the pool holds: refused, saying why.
    const bench_run bad =
        run_bench({"--json", "--url", e.url, "--pool-size", "4", "--min-idle", "5", "seq_pooled"});
    CHECK(bad.exit_code != 0);
    CHECK(bad.out.empty());
    CHECK(bad.err.find("min_idle 5 is larger than size 4") != std::string::npos);
}

TEST_CASE("uvdb-bench stops starting ops after BENCH_MAX_SECONDS and says TIME-CAPPED",
          "[pg][bench]") {
    const auto& e = uvdb::test::env();
    // 1000 new TLS + SCRAM connections take far longer than 0.3 s.
    const bench_run r =
        run_bench({"--json", "--url", e.url, "seq_unpooled"}, {"BENCH_MAX_SECONDS=0.3"});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 1);
    json_object j(lines[0]);
    CHECK(j.at("notes").rfind("TIME-CAPPED", 0) == 0);
    CHECK(j.number("ops") >= 1);
    CHECK(j.number("ops") < 1000);
    CHECK(j.number("failures") == 0);
    // No op starts after the cap, so the phase ends within one op of it (plus
    // scheduling slack: a wall-clock bound, so not under ThreadSanitizer).
    CHECK(j.number("seconds") >= 0.3);
    if (uvdb::test::check_timing) {
        CHECK(j.number("seconds") < 0.3 + j.number("max_ms") / 1000.0 + 0.25);
    }
}

TEST_CASE("uvdb-bench --rss-soak keeps a pool of live TLS connections busy and reports its RSS",
          "[pg][bench]") {
    const auto& e = uvdb::test::env();
    const bench_run r =
        run_bench({"--json", "--rss-soak", "1.5", "--pool-size", "3", "--url", e.url});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    const auto lines = lines_of(r.out);
    REQUIRE(lines.size() == 1);
    const json_object o(lines[0]);
    CHECK(o.at("scenario") == "rss_soak");
    CHECK(o.number("connections") == 3);
    CHECK(o.number("live_at_end") == 3);
    CHECK(o.number("failures") == 0);
    CHECK(o.number("queries") >= 3);  // every connection ran at least once
    CHECK(o.number("rss_start_kb") > 0);
    CHECK(o.number("rss_end_kb") > 0);
    CHECK(o.number("rss_max_kb") >= o.number("rss_end_kb"));
    CHECK(r.out.find(e.password) == std::string::npos);
    CHECK(r.err.find(e.password) == std::string::npos);
}
