// Failover and demoted primaries against the test cluster (issue 14): a pool
// on the multi-host URL keeps writing through `promote`, never writes to a
// demoted node that comes back as a standby, and a prefer-standby pool keeps
// reading through both. Each case first brings the cluster to the roles it
// starts from (scripts/pg-test-cluster.sh promote/demote), so they also run
// alone; in file order they end where the cluster started (node1 primary).
//
// Bounds are the (2 s, 1 s), measured from the moment the script
// says the promotion or demotion is done; the loads run on the loop while the
// script runs on a thread.

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <uvdb/error.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/lease.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/timer.hpp>
#include <vector>

#include "cluster/support/cluster_env.hpp"
#include "integration/pool_pg_support.hpp"
#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
namespace t = uvdb::test;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

struct op_record {
    clock_type::time_point at;
    bool ok = false;
    std::string port;  ///< the server's port, from the statement (ok only)
    uvdb::errc code = uvdb::errc::internal;
    std::string sqlstate;
};

// One statement every `every` through the pool, at most `max_in_flight` at
// once (a tick with all of them out is counted and skipped), each outcome
// recorded with its time.
class load {
  public:
    load(uvdb::event_loop& loop, uvdb::pool& db, std::string sql, milliseconds every,
         int max_in_flight)
        : db_(db), sql_(std::move(sql)), every_(every), max_(max_in_flight), timer_(loop) {}

    void start() {
        timer_.start(
            every_, [this] { tick(); }, every_);
    }
    void stop() { timer_.stop(); }
    bool idle() const { return st_->in_flight == 0; }
    const std::vector<op_record>& records() const { return st_->records; }
    std::size_t skipped() const { return skipped_; }

  private:
    struct state {
        int in_flight = 0;
        std::vector<op_record> records;
    };
    void tick() {
        if (st_->in_flight >= max_) {
            ++skipped_;
            return;
        }
        ++st_->in_flight;
        db_.query(sql_, {}, [st = st_](uvdb::result<uvdb::result_set> r) {
            --st->in_flight;
            op_record rec;
            rec.at = clock_type::now();
            if (r) {
                rec.ok = true;
                rec.port = std::to_string(r->value<std::int32_t>());
            } else {
                rec.code = r.err().value();
                rec.sqlstate = std::string(r.err().sqlstate());
            }
            st->records.push_back(std::move(rec));
        });
    }

    uvdb::pool& db_;
    std::string sql_;
    milliseconds every_;
    int max_;
    std::size_t skipped_ = 0;
    std::shared_ptr<state> st_ = std::make_shared<state>();
    uvdb::timer timer_;
};

uvdb::pool_options cluster_pool_options(const std::string& url, const char* name) {
    uvdb::pool_options o;
    o.connection = t::cluster_options(url);
    o.connection.application_name = name;
    o.connection.connect_timeout = 2s;
    o.size = 4;
    o.max_overflow = 0;
    o.timeout = 5s;
    // Reconnect soon after a failover (the defaults, 100 ms doubling to
    // 5 s, are for a server that is down for a while).
    o.connect_backoff_base = 20ms;
    o.connect_backoff_cap = 200ms;
    return o;
}

long long ms_between(clock_type::time_point a, clock_type::time_point b) {
    return std::chrono::duration_cast<milliseconds>(b - a).count();
}

void stop_and_drain(uvdb::event_loop& loop, load& l) {
    l.stop();
    t::run_until(
        loop, [&] { return l.idle(); }, 30s, "the load's last statements");
}

std::size_t count_code(const load& l, uvdb::errc code) {
    return static_cast<std::size_t>(
        std::count_if(l.records().begin(), l.records().end(),
                      [&](const op_record& r) { return !r.ok && r.code == code; }));
}

const char* const write_sql =
    "INSERT INTO uvdb_failover_writes(port) VALUES (inet_server_port()) RETURNING port";

void create_write_table(uvdb::event_loop& loop, const t::cluster_env& cl) {
    const std::string primary = t::node_with("primary");
    const std::string url = primary == "node1" ? cl.primary_url : cl.standby_url;
    auto conn = t::connect_or_fail(loop, t::cluster_options(url));
    auto r = t::execute_sync(loop, *conn,
                             "CREATE TABLE IF NOT EXISTS uvdb_failover_writes "
                             "(id bigserial PRIMARY KEY, port int NOT NULL)");
    if (!r) t::fail_with("CREATE TABLE uvdb_failover_writes", r.err());
}

}  // namespace

TEST_CASE("a writer pool retires every connection to a primary that turned read-only",
          "[cluster]") {
    UVDB_CLUSTER_OR_SKIP();
    uvdb::event_loop loop;
    t::ensure_primary(loop, "node1");
    create_write_table(loop, cl);
    auto opts =
        cluster_pool_options(cl.primary_url + "&target_session_attrs=read-write", "uvdb_read_only");
    opts.size = 3;
    opts.timeout = 1s;
    // No pre-ping: the statement path (25006) is what this case checks; a
    // ping's answer would carry the read-only report first.
    opts.pre_ping = false;
    uvdb::pool db(loop, t::pg_driver(), opts);
    // Three connections, idle in the pool.
    {
        std::vector<uvdb::lease> leases;
        for (int i = 0; i < 3; ++i) {
            std::optional<uvdb::result<uvdb::lease>> got;
            db.acquire([&](uvdb::result<uvdb::lease> r) { got.emplace(std::move(r)); });
            t::run_until(
                loop, [&] { return got.has_value(); }, 10s, "an acquire");
            REQUIRE(got->ok());
            leases.push_back(std::move(**got));
        }
    }
    t::run_until(
        loop, [&] { return db.stats().idle == 3; }, 10s, "three idle connections");

    auto admin = t::connect_or_fail(loop, t::cluster_options(cl.primary_admin_url));
    auto set = [&](const char* sql) {
        auto r = t::execute_sync(loop, *admin, sql);
        if (!r) t::fail_with(sql, r.err());
    };
    // ALTER SYSTEM runs alone (not in a multi-statement script's transaction).
    set("ALTER SYSTEM SET default_transaction_read_only = on");
    set("SELECT pg_reload_conf()");
    // Undone however the case ends (admin_exec never throws; node1 is
    // UVDB_TEST_ADMIN_URL's server).
    struct restore_guard {
        ~restore_guard() {
            (void)t::admin_exec("ALTER SYSTEM RESET default_transaction_read_only");
            (void)t::admin_exec("SELECT pg_reload_conf()");
        }
    } restore;

    // A backend applies the reload between two statements: within a few
    // writes one is refused (25006) and the server reports read-only.
    std::optional<uvdb::error> refused;
    for (int i = 0; i < 20 && !refused; ++i) {
        std::optional<uvdb::result<uvdb::result_set>> got;
        db.query(write_sql, {},
                 [&](uvdb::result<uvdb::result_set> r) { got.emplace(std::move(r)); });
        t::run_until(
            loop, [&] { return got.has_value(); }, 10s, "a write");
        if (!*got) refused = got->err();
    }
    REQUIRE(refused.has_value());
    INFO(t::describe(*refused));
    // Usually a write meets the read-only session (25006); when the backend
    // applied the reload before answering an earlier statement, its report
    // retired the connection first and the write was never sent (a connect
    // refused as read-only). Either way no read-only session took a write.
    std::printf("read-only primary: the first refused write: %s\n", t::describe(*refused).c_str());
    const auto st = db.stats();
    std::printf(
        "read-only primary: pool invalidated %llu connection(s), %zu idle after the 25006\n",
        static_cast<unsigned long long>(st.invalidated), st.idle);
    CHECK(st.invalidated >= 1);
    // The next write reaches no read-only session: the idle connections were
    // opened before the one that saw it (replaced), and a new connect is
    // refused by target_session_attrs=read-write.
    std::optional<uvdb::result<uvdb::result_set>> next;
    db.query(write_sql, {}, [&](uvdb::result<uvdb::result_set> r) { next.emplace(std::move(r)); });
    t::run_until(
        loop, [&] { return next.has_value(); }, 10s, "the next write");
    REQUIRE_FALSE(next->ok());
    INFO(t::describe(next->err()));
    CHECK(next->err().sqlstate() != "25006");
}

TEST_CASE("failover: promote; writes on the multi-host URL resume within 2 s", "[cluster]") {
    UVDB_CLUSTER_OR_SKIP();
    uvdb::event_loop loop;
    t::ensure_primary(loop, "node1");
    create_write_table(loop, cl);

    uvdb::pool db(loop, t::pg_driver(), cluster_pool_options(cl.multihost_url, "uvdb_promote"));
    load writer(loop, db, write_sql, 1ms, 32);
    writer.start();
    t::run_for(loop, 1s);
    const t::script_run run = t::run_cluster_script(loop, "promote");
    // The new primary is node2: wait for its first write, then a little more.
    auto first_new = [&]() -> const op_record* {
        for (const auto& r : writer.records()) {
            if (r.ok && r.port == cl.standby_port) return &r;
        }
        return nullptr;
    };
    t::run_until(
        loop, [&] { return first_new() != nullptr; }, 20s, "a write on the new primary");
    t::run_for(loop, 500ms);
    stop_and_drain(loop, writer);

    const op_record* resumed = first_new();
    REQUIRE(resumed != nullptr);
    clock_type::time_point last_old{};
    std::size_t ok_before = 0;
    for (const auto& r : writer.records()) {
        if (r.ok && r.port == cl.primary_port) {
            last_old = std::max(last_old, r.at);
            ++ok_before;
        }
    }
    const std::size_t failed =
        static_cast<std::size_t>(std::count_if(writer.records().begin(), writer.records().end(),
                                               [](const op_record& r) { return !r.ok; }));
    const long long after_promotion = std::max(0LL, ms_between(run.finished, resumed->at));
    const double secs =
        std::chrono::duration<double>(writer.records().back().at - writer.records().front().at)
            .count();
    std::printf(
        "promote: %zu writes in %.1f s (%.0f/s), %zu failed, %zu ticks skipped; script took "
        "%lld ms; writes stopped on node1 %lld ms before the first on node2; first write on "
        "node2 %lld ms after the promotion was done\n",
        writer.records().size(), secs, static_cast<double>(writer.records().size()) / secs, failed,
        writer.skipped(), ms_between(run.started, run.finished), ms_between(last_old, resumed->at),
        after_promotion);
    CHECK(ok_before > 0);
    if (t::check_timing) CHECK(after_promotion <= 2000);
    // Nobody waited for a connection until the pool gave up.
    CHECK(count_code(writer, uvdb::errc::pool_timeout) == 0);
    // Nothing written on the fenced node once the new primary took writes.
    for (const auto& r : writer.records()) {
        if (r.ok && r.at > resumed->at) CHECK(r.port == cl.standby_port);
    }
    // The fenced node accepts nothing.
    auto fenced = t::connect_sync(loop, t::cluster_options(cl.primary_url));
    CHECK_FALSE(fenced.ok());
}

TEST_CASE("failover: demote; no write reaches the old primary back as a standby", "[cluster]") {
    UVDB_CLUSTER_OR_SKIP();
    uvdb::event_loop loop;
    // Starts where the promote case ends: node2 primary, node1 fenced.
    if (t::node_with("primary") != "node2" || t::node_with("fenced") != "node1") {
        t::ensure_primary(loop, "node1");
        t::run_cluster_script(loop, "promote");
    }
    create_write_table(loop, cl);

    // The URL still names node1 first; connections are recycled quickly so
    // that many are opened while node1 is back.
    auto opts = cluster_pool_options(cl.multihost_url, "uvdb_demote");
    opts.recycle = 300ms;
    uvdb::pool db(loop, t::pg_driver(), opts);
    load writer(loop, db, write_sql, 1ms, 32);
    writer.start();
    t::run_for(loop, 500ms);
    const t::script_run run = t::run_cluster_script(loop, "demote");
    t::run_for(loop, 1500ms);
    stop_and_drain(loop, writer);

    std::size_t on_old = 0, on_new = 0, read_only = 0, failed = 0, late_wrong = 0;
    for (const auto& r : writer.records()) {
        if (r.ok) {
            (r.port == cl.primary_port ? on_old : on_new) += 1;
            if (r.at > run.finished + 1s && r.port != cl.standby_port) ++late_wrong;
        } else {
            ++failed;
            if (r.sqlstate == "25006") ++read_only;  // attempted on the standby
        }
    }
    const auto st = db.stats();
    std::printf(
        "demote: %zu writes: %zu on node2 (primary), %zu on node1, %zu refused there as "
        "read-only, %zu failed in all; %llu connects by the pool; script took %lld ms\n",
        writer.records().size(), on_new, on_old, read_only, failed,
        static_cast<unsigned long long>(st.connects), ms_between(run.started, run.finished));
    CHECK(on_old == 0);
    // At most one write per connection may meet the standby before the
    // connection is dropped.
    CHECK(read_only <= st.connects);
    CHECK(late_wrong == 0);
    CHECK(on_new > 0);
    // The old primary is a standby of the new one now.
    auto node1 = t::connect_or_fail(loop, t::cluster_options(cl.primary_url));
    CHECK(t::scalar<bool>(loop, *node1, "SELECT pg_is_in_recovery()"));
}

TEST_CASE("failover: a prefer-standby pool reads through promote and demote with 0 failures",
          "[cluster]") {
    UVDB_CLUSTER_OR_SKIP();
    uvdb::event_loop loop;
    // node2 primary, node1 its standby (where the demote case ends).
    t::ensure_primary(loop, "node2");

    std::string url = cl.multihost_url;
    const std::string rw = "target_session_attrs=read-write";
    const auto at = url.find(rw);
    REQUIRE(at != std::string::npos);
    url.replace(at, rw.size(), "target_session_attrs=prefer-standby");
    auto opts = cluster_pool_options(url, "uvdb_prefer_standby");
    opts.recycle = 500ms;
    uvdb::pool db(loop, t::pg_driver(), opts);
    load reader(loop, db, "SELECT inet_server_port()", 2ms, 16);
    reader.start();
    // Reading on the standby before the promotion (connects are slow on a
    // loaded machine).
    t::run_until(
        loop, [&] { return reader.records().size() >= 50; }, 20s, "reads before the promotion");
    const std::size_t before_promote = reader.records().size();
    const t::script_run promoted = t::run_cluster_script(loop, "promote");  // node1 primary
    t::run_for(loop, 1s);
    const std::size_t before_demote = reader.records().size();
    const t::script_run demoted = t::run_cluster_script(loop, "demote");  // node2 its standby
    t::run_for(loop, 1500ms);
    stop_and_drain(loop, reader);

    std::size_t failed = 0;
    std::size_t phase_counts[3][2] = {};  // [before promote, between, after demote][node1, node2]
    for (std::size_t i = 0; i < reader.records().size(); ++i) {
        const auto& r = reader.records()[i];
        if (!r.ok) {
            ++failed;
            UNSCOPED_INFO("failed read: " << uvdb::to_string(r.code) << " " << r.sqlstate);
            continue;
        }
        const std::size_t phase = i < before_promote ? 0 : i < before_demote ? 1 : 2;
        ++phase_counts[phase][r.port == cl.primary_port ? 0 : 1];
    }
    std::printf(
        "prefer-standby: %zu reads, %zu failed; node1/node2: before promote %zu/%zu, after "
        "promote %zu/%zu, after demote %zu/%zu (promote took %lld ms, demote %lld ms)\n",
        reader.records().size(), failed, phase_counts[0][0], phase_counts[0][1], phase_counts[1][0],
        phase_counts[1][1], phase_counts[2][0], phase_counts[2][1],
        ms_between(promoted.started, promoted.finished),
        ms_between(demoted.started, demoted.finished));
    CHECK(failed == 0);
    // The promotion retired the connections to node1 (no longer a standby):
    // nothing else invalidates here (node2's fence closed none of ours).
    const auto st = db.stats();
    INFO("invalidated " << st.invalidated);
    CHECK(st.invalidated >= 1);
    // On the standby (node1) before the promotion.
    CHECK(phase_counts[0][0] > 0);
    CHECK(phase_counts[0][1] == 0);
    CHECK(t::node_with("primary") == "node1");
    CHECK(t::node_with("standby") == "node2");
}
