// The routing pool's lag budget against the real cluster: with writes going
// on, `pause-replay` makes the standby fall behind, the probe excludes it and
// reads continue on the primary with no failure; `resume-replay` brings it
// back into the read set. Prints the measured times. Every wait has a
// deadline; the bounds asserted are generous (a loaded 2-core CI machine).

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <uvdb/event_loop.hpp>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/routing_pool.hpp>

#include "cluster/support/cluster_env.hpp"
#include "support/loop_wait.hpp"

namespace t = uvdb::test;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto interval = 200ms;
constexpr auto max_lag = 500ms;

long long ms_since(clock_type::time_point from) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - from).count();
}

// Reads and writes in a loop: each completion starts the next one.
struct traffic {
    explicit traffic(uvdb::routing_pool& pool) : db(pool) {}
    uvdb::routing_pool& db;
    bool stop = false;
    int in_flight = 0;
    long reads_ok = 0, reads_failed = 0, reads_on_standby = 0, reads_on_primary = 0;
    long writes_ok = 0, writes_failed = 0;
    // Reads started after `mark` that ran on the standby.
    bool marked = false;
    long standby_after_mark = 0, primary_after_mark = 0;
    std::string first_error;

    void read() {
        if (stop) return;
        ++in_flight;
        const bool after = marked;
        db.read("SELECT pg_is_in_recovery()", [this, after](uvdb::result<uvdb::result_set> r) {
            --in_flight;
            if (!r) {
                ++reads_failed;
                if (first_error.empty()) first_error = r.err().to_string();
            } else {
                ++reads_ok;
                const bool standby = (*r)[0].text(0) == "t";
                ++(standby ? reads_on_standby : reads_on_primary);
                if (after) ++(standby ? standby_after_mark : primary_after_mark);
            }
            read();
        });
    }
    void write() {
        if (stop) return;
        ++in_flight;
        db.query("INSERT INTO uvdb_replica_lag_test (n) VALUES ($1)", 1,
                 [this](uvdb::result<uvdb::result_set> r) {
                     --in_flight;
                     ++(r ? writes_ok : writes_failed);
                     if (!r && first_error.empty()) first_error = r.err().to_string();
                     write();
                 });
    }
};

uvdb::replica_state standby_state(const uvdb::routing_pool& db) {
    return db.stats().replicas.at(0).state;
}

int run_script(const t::cluster_env& cl, const char* what) {
    const std::string cmd = cl.script + " " + what + " " + cl.dir + " >/dev/null";
    return std::system(cmd.c_str());
}

}  // namespace

TEST_CASE("cluster: a standby that stops replaying leaves the read set and comes back",
          "[cluster][routing]") {
    UVDB_CLUSTER_OR_SKIP();
    uvdb::event_loop loop;

    uvdb::routing_options ro;
    ro.primary.connection = t::cluster_options(cl.primary_url);
    ro.primary.name = "primary";
    ro.primary.size = 4;
    uvdb::pool_options standby = ro.primary;
    standby.connection = t::cluster_options(cl.standby_url);
    standby.name = "standby";
    ro.replicas.push_back(standby);
    ro.policy.probe_interval = interval;
    ro.policy.max_replication_lag = max_lag;
    uvdb::routing_pool db(loop, uvdb::postgres::make_driver(), ro);

    bool created = false;
    db.query("CREATE TABLE IF NOT EXISTS uvdb_replica_lag_test (n int)",
             [&](uvdb::result<uvdb::result_set> r) { created = r.has_value(); });
    t::run_until(
        loop, [&] { return created; }, 10s, "CREATE TABLE");

    t::run_until(
        loop, [&] { return standby_state(db) == uvdb::replica_state::healthy; }, 10s,
        "the standby healthy after the first probes");

    traffic tr(db);
    tr.write();
    tr.read();
    tr.read();
    t::run_until(
        loop, [&] { return tr.reads_on_standby >= 20; }, 10s, "reads on the standby");

    // Pause: the standby falls behind the writes.
    const auto paused_at = clock_type::now();
    REQUIRE(run_script(cl, "pause-replay") == 0);
    // The script (psql as the superuser) blocks the loop meanwhile, and replay
    // stops somewhere inside it: its end is the conservative start.
    std::printf("replica_lag: the pause-replay script took %lld ms\n", ms_since(paused_at));
    const auto script_done = clock_type::now();
    const bool excluded = t::wait_until(
        loop, [&] { return standby_state(db) == uvdb::replica_state::lagging; }, 15s);
    const long long excluded_after = ms_since(script_done);
    const auto lag_seen = db.stats().replicas[0].lag.value_or(0ms);
    std::printf(
        "replica_lag: pause-replay -> standby excluded %lld ms after the script returned (lag seen "
        "%lld ms; "
        "max_replication_lag %lld ms, probe interval %lld ms)\n",
        excluded_after, static_cast<long long>(lag_seen.count()),
        static_cast<long long>(max_lag.count()), static_cast<long long>(interval.count()));
    CHECK(excluded);
    // The bound is two probe intervals once the lag passed the
    // budget; generously, with room for a loaded machine.
    CHECK(excluded_after <= (max_lag + 2 * interval).count() + 2'000);

    // Reads started from now on run on the primary, and none fails.
    tr.marked = true;
    t::run_until(
        loop, [&] { return tr.primary_after_mark >= 50; }, 10s, "reads on the primary");
    CHECK(tr.standby_after_mark == 0);

    const auto resumed_at = clock_type::now();
    REQUIRE(run_script(cl, "resume-replay") == 0);
    std::printf("replica_lag: the resume-replay script took %lld ms\n", ms_since(resumed_at));
    const auto resume_done = clock_type::now();
    const bool back = t::wait_until(
        loop, [&] { return standby_state(db) == uvdb::replica_state::healthy; }, 15s);
    const long long back_after = ms_since(resume_done);
    tr.marked = false;
    const long before = tr.reads_on_standby;
    const bool reads_back = t::wait_until(
        loop, [&] { return tr.reads_on_standby > before + 10; }, 10s);
    std::printf(
        "replica_lag: resume-replay -> standby healthy %lld ms after the script returned; reads "
        "%ld ok "
        "(%ld standby, %ld primary), %ld failed; writes %ld ok, %ld failed\n",
        back_after, tr.reads_ok, tr.reads_on_standby, tr.reads_on_primary, tr.reads_failed,
        tr.writes_ok, tr.writes_failed);
    CHECK(back);
    CHECK(reads_back);
    CHECK(back_after <= 10'000);

    tr.stop = true;
    t::run_until(
        loop, [&] { return tr.in_flight == 0; }, 10s, "traffic to stop");
    INFO(tr.first_error);
    CHECK(tr.reads_failed == 0);
    CHECK(tr.writes_failed == 0);
    const auto s = db.stats();
    CHECK(s.replicas[0].exclusions >= 1);
    CHECK(s.reads_on_primary > 0);

    bool dropped = false;
    db.query("DROP TABLE uvdb_replica_lag_test", [&](auto) { dropped = true; });
    t::run_until(
        loop, [&] { return dropped; }, 10s, "DROP TABLE");
    db.close();
    t::run_for(loop, 50ms);
}
