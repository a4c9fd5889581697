// Per-statement hooks, statement durations (pool_stats::operation_time) and
// the slow-query log with its parameter masking, on the fake driver and the
// manual clock (durations are exact there, so no timing can fail a test).

#include <catch2/catch.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <uvdb/hooks.hpp>
#include <uvdb/pool.hpp>
#include <vector>

#include "slow_query_log.hpp"  // pool/src: the masking rule
#include "unit/support/pool_harness.hpp"

using namespace uvdb;
using namespace uvdb::test;
using Catch::Matchers::Contains;

namespace {

/// What the hooks saw, in order.
struct seen_statement {
    std::string phase;  // "before" / "after"
    std::string sql;
    std::size_t params = 0;
    bool script = false;
    std::string conn;
    std::string file;
    std::uint_least32_t line = 0;
    std::chrono::microseconds duration{0};
    std::uint64_t rows = 0;
    std::optional<errc> err;
};

std::shared_ptr<query_hooks> recording_hooks(std::vector<seen_statement>& out) {
    auto h = std::make_shared<query_hooks>();
    auto base = [](const char* phase, const statement_info& i) {
        seen_statement s;
        s.phase = phase;
        s.sql = std::string(i.sql);
        s.params = i.param_count;
        s.script = i.script;
        s.conn = i.conn != nullptr ? i.conn->describe() : "";
        s.file = i.where.file_name() != nullptr ? i.where.file_name() : "";
        s.line = i.where.line();
        return s;
    };
    h->before = [&out, base](const statement_info& i) { out.push_back(base("before", i)); };
    h->after = [&out, base](const statement_info& i, const statement_outcome& o) {
        seen_statement s = base("after", i);
        s.duration = o.duration;
        s.rows = o.rows;
        if (o.err != nullptr) s.err = o.err->value();
        out.push_back(std::move(s));
    };
    return h;
}

}  // namespace

TEST_CASE("hooks see pool.query before and after, with its fields", "[unit][pool][hooks]") {
    pool_harness h;
    std::vector<seen_statement> seen;
    auto opts = test_pool_options();
    opts.hooks = recording_hooks(seen);
    h.make(opts);
    h.fake().query_latency = std::chrono::milliseconds{7};

    std::optional<result<result_set>> got;
    const auto line = __LINE__ + 1;
    h.get().query("SELECT $1::int + $2", 40, 2, [&](result<result_set> r) {
        // The after hook ran before the caller's callback.
        CHECK(seen.size() == 2);
        got.emplace(std::move(r));
    });
    h.advance(std::chrono::milliseconds{7});
    REQUIRE(got);
    REQUIRE(got->ok());
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].phase == "before");
    CHECK(seen[1].phase == "after");
    for (const auto& s : seen) {
        CHECK(s.sql == "SELECT $1::int + $2");
        CHECK(s.params == 2);
        CHECK_FALSE(s.script);
        CHECK_THAT(s.conn, Contains("fake#"));
        CHECK_THAT(s.file, Contains("pool_hooks_test.cpp"));
        CHECK(s.line == line);
    }
    CHECK(seen[1].duration >= std::chrono::milliseconds{7});  // the manual clock: exactly 7 ms
    CHECK(seen[1].rows == 1);
    CHECK_FALSE(seen[1].err);
    CHECK(h.stats().operation_time.total() == 1);
}

TEST_CASE("hooks see errors, lease statements and scripts", "[unit][pool][hooks]") {
    pool_harness h;
    std::vector<seen_statement> seen;
    auto opts = test_pool_options();
    opts.hooks = recording_hooks(seen);
    h.make(opts);

    { lease warm = h.acquire_now(); }
    h.settle();
    const auto line = __LINE__ + 1;
    std::optional<lease> acquired = h.get().try_acquire();
    REQUIRE(acquired);
    lease l = std::move(*acquired);
    std::optional<result<result_set>> failed;
    l.query("FAIL", [&](result<result_set> r) { failed.emplace(std::move(r)); });
    std::optional<result<std::vector<result_set>>> script;
    l.execute("SELECT 1; SELECT 2",
              [&](result<std::vector<result_set>> r) { script.emplace(std::move(r)); });
    h.settle();
    REQUIRE(failed);
    CHECK_FALSE(failed->ok());
    REQUIRE(script);
    REQUIRE(seen.size() == 4);
    // Both were sent before either answered; the driver runs them in order.
    CHECK(seen[0].phase == "before");
    CHECK(seen[0].sql == "FAIL");
    CHECK(seen[0].line == line);  // a lease's statements: where it was acquired
    CHECK(seen[1].phase == "before");
    CHECK(seen[1].sql == "SELECT 1; SELECT 2");
    CHECK(seen[1].script);
    CHECK(seen[2].phase == "after");
    CHECK(seen[2].sql == "FAIL");
    CHECK(seen[2].err == errc::server_error);
    CHECK(seen[2].rows == 0);
    CHECK(seen[3].phase == "after");
    CHECK(seen[3].script);
    CHECK_FALSE(seen[3].err);

    // Straight on the driver's connection: not seen (documented).
    CHECK(h.run(l, "SELECT 1").ok());
    CHECK(seen.size() == 4);
    CHECK(h.stats().operation_time.total() == 2);
}

TEST_CASE("hooks see a transaction's BEGIN, statements and COMMIT", "[unit][pool][hooks]") {
    pool_harness h;
    std::vector<seen_statement> seen;
    auto opts = test_pool_options();
    opts.hooks = recording_hooks(seen);
    h.make(opts);

    std::optional<result<void>> done;
    h.get().transaction(
        [](lease& l, pool::done_callback d) {
            l.query("UPDATE t SET x = 1", [d = std::move(d)](result<result_set> r) mutable {
                if (!r) return d(std::move(r).err());
                d({});
            });
        },
        [&](result<void> r) { done.emplace(std::move(r)); });
    h.settle();
    REQUIRE(done);
    CHECK(done->ok());
    std::vector<std::string> afters;
    for (const auto& s : seen) {
        if (s.phase == "after") afters.push_back(s.sql);
    }
    CHECK(afters == std::vector<std::string>{"BEGIN", "UPDATE t SET x = 1", "COMMIT"});

    seen.clear();
    std::optional<result<::uvdb::transaction>> tx;
    h.get().begin({}, [&](result<::uvdb::transaction> t) { tx.emplace(std::move(t)); });
    h.settle();
    REQUIRE(tx);
    REQUIRE(tx->ok());
    std::optional<result<result_set>> in_tx;
    (*tx)->query("SELECT 2", [&](result<result_set> r) { in_tx.emplace(std::move(r)); });
    h.settle();
    REQUIRE(in_tx);
    CHECK(seen.size() == 4);  // BEGIN and SELECT 2, before and after each
    CHECK(seen.back().sql == "SELECT 2");
}

TEST_CASE("an exception from a hook is logged and the statement goes on", "[unit][pool][hooks]") {
    pool_harness h;
    auto hooks = std::make_shared<query_hooks>();
    int afters = 0;
    hooks->before = [](const statement_info&) { throw std::runtime_error("hook bug"); };
    hooks->after = [&](const statement_info&, const statement_outcome&) {
        ++afters;
        throw 42;  // NOLINT: not a std::exception on purpose
    };
    auto opts = test_pool_options();
    opts.hooks = hooks;
    h.make(opts);
    auto q = h.query("SELECT 1");
    h.settle();
    REQUIRE(q->got);
    CHECK(q->ok());
    CHECK(afters == 1);
    CHECK(h.logs.count("query hook 'before' threw (hook bug)") == 1);
    CHECK(h.logs.count("query hook 'after' threw (not a std::exception)") == 1);
    CHECK(h.stats().idle == 1);  // the connection went back as usual
}

TEST_CASE("no hooks: statements are still timed", "[unit][pool][hooks]") {
    pool_harness h;
    h.make();
    h.fake().query_latency = std::chrono::milliseconds{3};
    auto q = h.query("SELECT 1");
    h.advance(std::chrono::milliseconds{3});
    REQUIRE(q->ok());
    const auto st = h.stats();
    CHECK(st.operation_time.total() == 1);
    // 3 ms lands in the (2 ms, 5 ms] bucket.
    CHECK(st.operation_time.percentile(1.0) == std::chrono::milliseconds{5});
}

TEST_CASE("the slow-query log: once, with duration, call site and connection",
          "[unit][pool][hooks]") {
    pool_harness h;
    auto opts = test_pool_options();
    opts.slow_query_threshold = std::chrono::milliseconds{100};
    h.make(opts);

    auto fast = h.query("SELECT 1");
    h.settle();
    REQUIRE(fast->ok());
    CHECK(h.logs.count("slow query") == 0);

    std::optional<result<result_set>> slow;
    const auto line = __LINE__ + 1;
    h.get().query("SLEEP 250", [&](result<result_set> r) { slow.emplace(std::move(r)); });
    h.advance(std::chrono::milliseconds{250});
    REQUIRE(slow);
    REQUIRE(slow->ok());
    INFO(h.logs.text());
    CHECK(h.logs.count("slow query") == 1);
    const std::string where = "pool_hooks_test.cpp:" + std::to_string(line);
    CHECK(
        h.logs.count("[warning] pool: slow query took 250.0 ms (slow_query_threshold 100 ms) at " +
                     where + " on fake#") == 1);
    CHECK(h.logs.count(": SLEEP 250") == 1);

    // Parameters: counted, never shown while slow_query_log_params is off.
    lease l = h.acquire_now();
    l.query("SLEEP 120 -- WHERE name = $1", "alice", [](result<result_set>) {});
    h.advance(std::chrono::milliseconds{120});
    CHECK(h.logs.count("1 params (not shown: slow_query_log_params is off)") == 1);
    CHECK(h.logs.count("alice") == 0);
}

TEST_CASE("slow_query_log_params shows values but masks secret-looking ones",
          "[unit][pool][hooks]") {
    pool_harness h;
    auto opts = test_pool_options();
    opts.slow_query_threshold = std::chrono::milliseconds{10};
    opts.slow_query_log_params = true;
    h.make(opts);
    std::optional<result<result_set>> got;
    h.get().query(
        "SLEEP 20 -- UPDATE users SET login_count = login_count + 1 WHERE name = $1 AND "
        "active = $2 AND password_hash = $3",
        "alice", true, "hunter2", [&](result<result_set> r) { got.emplace(std::move(r)); });
    h.advance(std::chrono::milliseconds{20});
    REQUIRE(got);
    REQUIRE(got->ok());
    CHECK(h.logs.count("params: $1='alice', $2=true, $3=***") == 1);
    CHECK(h.logs.count("hunter2") == 0);
}

TEST_CASE("the masking rule", "[unit][pool][hooks]") {
    using detail::param_looks_secret;
    // Near the parameter.
    CHECK(param_looks_secret("SELECT * FROM users WHERE password = $1", 1));
    CHECK(param_looks_secret("UPDATE s SET api_key = $1", 1));
    CHECK(param_looks_secret("SELECT * FROM t WHERE refresh_TOKEN=$1", 1));
    CHECK_FALSE(param_looks_secret("SELECT * FROM users WHERE name = $1", 1));
    // Only the text before the parameter counts.
    CHECK_FALSE(param_looks_secret("INSERT INTO t VALUES (crypt($1, 'bf')) -- secret", 1));
    // $12 does not mention $1 (and a parameter never mentioned is masked).
    CHECK(param_looks_secret("SELECT $12", 1));
    CHECK_FALSE(param_looks_secret("SELECT $12, $1", 1));
    // INSERT: the column at the same position, however far from its value.
    const char* insert =
        "INSERT INTO accounts (credential, user_name, display_name, email_address, created_by, "
        "updated_by) VALUES ($1, $2, $3, $4, $5, $6)";
    CHECK(param_looks_secret(insert, 1));
    CHECK_FALSE(param_looks_secret(insert, 6));
    // The limit: a harmless value near a secret-like word is masked too.
    CHECK(param_looks_secret("UPDATE u SET password_hash = $1, name = $2", 2));
    // Not mentioned at all: masked.
    CHECK(param_looks_secret("SELECT 1", 1));

    params p{std::string("x"), nullptr, 3.5, std::int64_t{7}};
    CHECK(detail::describe_params("SELECT $1, $2, $3, $4", p) == "$1='x', $2=NULL, $3=3.5, $4=7");
    CHECK(detail::shorten_sql(std::string(600, 'a')).size() < 600);
    CHECK_THAT(detail::shorten_sql(std::string(600, 'a')), Contains("(100 more bytes)"));
    CHECK(detail::shorten_sql("SELECT\n1") == "SELECT 1");
}

TEST_CASE("slow_query_threshold must not be negative", "[unit][pool][hooks]") {
    auto opts = test_pool_options();
    opts.slow_query_threshold = std::chrono::milliseconds{-1};
    auto r = validate(opts);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.err().message(), Contains("slow_query_threshold"));
}
