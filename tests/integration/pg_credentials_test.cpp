// Credentials that change, against the real server: under load, the role's
// password is changed on the server and in the password file (or behind a
// provider whose cached value expires) with no failed query, connections
// already open keep working and new ones use the new password. Providers
// that fail or time out, and password_command, give errors that name them
// and never the secret. The test works on a role of its own (created and
// dropped here), so other tests sharing the server are not disturbed.

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <uvdb/config.hpp>
#include <uvdb/credentials.hpp>
#include <uvdb/driver_registry.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/pool_from_config.hpp>
#include <vector>

#include "integration/pool_pg_support.hpp"
#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
namespace t = uvdb::test;

namespace {

/// A login role of this test's own, dropped (its sessions ended) at the end.
struct temp_role {
    std::string name = "uvdb_creds_" + std::to_string(::getpid());
    explicit temp_role(const std::string& password) {
        (void)t::admin_exec("DROP ROLE IF EXISTS " + name);
        auto r = t::admin_exec("CREATE ROLE " + name + " LOGIN PASSWORD '" + password + "'");
        REQUIRE(r.ok());
    }
    ~temp_role() {
        (void)t::admin_exec(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '" + name +
            "'");
        (void)t::admin_exec("DROP ROLE IF EXISTS " + name);
    }
    void set_password(const std::string& password) const {
        REQUIRE(t::admin_exec("ALTER ROLE " + name + " PASSWORD '" + password + "'").ok());
    }
    std::string url() const { return t::make_url({.user = name, .password = ""}); }
};

/// A password file in a private directory, replaced atomically (as secret
/// stores and Kubernetes do).
struct temp_password_file {
    std::string dir = "/tmp/uvdb-creds-" + std::to_string(::getpid());
    std::string path = dir + "/db-password";
    explicit temp_password_file(const std::string& password) {
        ::mkdir(dir.c_str(), 0700);
        write(password);
    }
    ~temp_password_file() {
        std::remove(path.c_str());
        ::rmdir(dir.c_str());
    }
    void write(const std::string& password) const {
        const std::string tmp = path + ".new";
        {
            std::ofstream f(tmp, std::ios::trunc);
            f << password << '\n';
        }
        ::chmod(tmp.c_str(), 0600);
        REQUIRE(std::rename(tmp.c_str(), path.c_str()) == 0);
    }
};

/// Callers querying in a loop until told to stop.
struct load {
    uvdb::pool* db = nullptr;
    bool stop = false;
    int ok = 0;
    int failures = 0;
    int running = 0;
    std::string first_error;

    void start(int callers) {
        for (int i = 0; i < callers; ++i) {
            ++running;
            next();
        }
    }
    void next() {
        if (stop) {
            --running;
            return;
        }
        db->query("SELECT current_user::text", [this](uvdb::result<uvdb::result_set> r) {
            if (r) {
                ++ok;
            } else {
                ++failures;
                if (first_error.empty()) first_error = t::describe(r.err());
            }
            next();
        });
    }
};

uvdb::driver_registry& registry() {
    static uvdb::driver_registry reg;
    static bool added = reg.add(t::pg_driver()).ok();
    (void)added;
    return reg;
}

// Runs load through `db`, rotates with `rotate`, and checks that new
// connections were opened after it and that nothing failed.
void rotate_under_load(uvdb::event_loop& loop, uvdb::pool& db, const std::function<void()>& rotate,
                       const char* label) {
    load l;
    l.db = &db;
    l.start(8);
    t::run_until(
        loop, [&] { return l.ok >= 200 || l.failures > 0; }, 60s, "queries before");
    // A leased connection held across the rotation: opened with the old password.
    auto held = std::make_shared<std::optional<uvdb::result<uvdb::lease>>>();
    db.acquire([held](uvdb::result<uvdb::lease> r) { held->emplace(std::move(r)); });
    t::run_until(
        loop, [&] { return held->has_value(); }, 30s, "a lease");
    REQUIRE((*held)->ok());

    rotate();
    const auto before = db.stats();
    const int ok_before = l.ok;
    // New connections (recycle replaces every connection older than it) and
    // queries on them, with the new password.
    t::run_until(
        loop,
        [&] {
            const auto st = db.stats();
            return (st.connects - st.connect_failures >=
                        before.connects - before.connect_failures + 8 &&
                    l.ok >= ok_before + 200) ||
                   l.failures > 0;
        },
        60s, "new connections after the rotation");
    auto& lease = (*held)->value();
    auto r = t::query_sync(loop, lease.get(), "SELECT 1");
    CHECK(r.ok());  // the connection opened before the rotation still works
    held->reset();
    l.stop = true;
    t::run_until(
        loop, [&] { return l.running == 0; }, 60s, "callers to finish");
    const auto st = db.stats();
    std::printf("%s: %d queries, %d failed; %llu connects (%llu failed) in all\n", label, l.ok,
                l.failures, static_cast<unsigned long long>(st.connects),
                static_cast<unsigned long long>(st.connect_failures));
    INFO(l.first_error);
    CHECK(l.failures == 0);
}

}  // namespace

TEST_CASE("password_file: rotated on the server and in the file under load, no query fails",
          "[pg][credentials]") {
    const std::string one = "pw-one-" + std::to_string(::getpid());
    const std::string two = "pw-two-" + std::to_string(::getpid());
    temp_role role(one);
    temp_password_file file(one);
    uvdb::load_options lo;
    lo.file = "";
    lo.env = uvdb::environment_from({});
    lo.registry = &registry();
    lo.text = "[database]\nurl = \"" + role.url() + "\"\npassword_file = \"" + file.path + "\"\n";
    auto cfg = uvdb::load_config(lo);
    REQUIRE(cfg.ok());
    CHECK(cfg->password_from == "password_file " + file.path);
    CHECK(uvdb::describe(*cfg).find("password_file = \"" + file.path + "\"") != std::string::npos);
    CHECK(uvdb::describe(*cfg).find(one) == std::string::npos);
    cfg->pool.size = 4;
    cfg->pool.max_overflow = 4;
    cfg->pool.recycle = 300ms;
    uvdb::event_loop loop;
    auto db = uvdb::make_pool(loop, *cfg, registry());
    REQUIRE(db.ok());
    rotate_under_load(
        loop, *db,
        [&] {
            role.set_password(two);
            file.write(two);
        },
        "password_file rotation");
    // The old password is refused now: the new connections used the new one.
    uvdb::connect_options old = t::test_options();
    old.url = t::make_url({.user = role.name, .password = one});
    auto c = t::connect_sync(loop, old);
    REQUIRE(!c.ok());
    CHECK(c.err().value() == uvdb::errc::auth_failed);
    db->close();
    t::run_for(loop, 20ms);
}

TEST_CASE("a provider's cached password expires; new connections use the new one",
          "[pg][credentials]") {
    const std::string one = "tok-one-" + std::to_string(::getpid());
    const std::string two = "tok-two-" + std::to_string(::getpid());
    temp_role role(one);
    auto current = std::make_shared<std::string>(one);
    auto offset = std::make_shared<std::atomic<long long>>(0);  // the manual part of the clock
    uvdb::password_provider_options po;
    po.clock = [offset] {
        return std::chrono::system_clock::now() + std::chrono::minutes(*offset);
    };
    auto provider = uvdb::make_password_provider(
        "test-iam",
        [current](uvdb::event_loop&, uvdb::password_callback done) {
            done(uvdb::password_grant{*current, std::chrono::system_clock::now() + 15min});
        },
        po);
    auto o = t::pool_test_options(4, 4);
    o.connection.url = role.url();
    o.connection.password_provider = provider;
    o.recycle = 300ms;
    uvdb::event_loop loop;
    uvdb::pool db(loop, t::pg_driver(), o);
    rotate_under_load(
        loop, db,
        [&] {
            const auto calls = provider->calls();
            role.set_password(two);
            *current = two;
            *offset = 20;  // the cached token has expired
            (void)calls;
        },
        "provider rotation");
    CHECK(provider->calls() >= 2);
    db.close();
    t::run_for(loop, 20ms);
}

TEST_CASE("a provider that fails or times out gives a connect error naming it",
          "[pg][credentials]") {
    uvdb::event_loop loop;
    auto o = t::test_options();
    o.url = t::make_url({.password = ""});
    SECTION("fails") {
        o.password_provider = uvdb::make_password_provider(
            "vault", [](uvdb::event_loop&, uvdb::password_callback done) {
                done(uvdb::error(uvdb::errc::connect_failed, "permission denied on secret/db"));
            });
        auto c = t::connect_sync(loop, o);
        REQUIRE(!c.ok());
        CHECK(c.err().message() ==
              "password provider \"vault\" failed: permission denied on secret/db");
    }
    SECTION("times out") {
        auto held = std::make_shared<std::vector<uvdb::password_callback>>();
        uvdb::password_provider_options po;
        po.timeout = 200ms;
        o.password_provider = uvdb::make_password_provider(
            "slow-sts",
            [held](uvdb::event_loop&, uvdb::password_callback done) {
                held->push_back(std::move(done));
            },
            po);
        auto c = t::connect_sync(loop, o);
        REQUIRE(!c.ok());
        CHECK(c.err().value() == uvdb::errc::timeout);
        CHECK(c.err().message() == "password provider \"slow-sts\" did not answer within 200 ms");
    }
    SECTION("answers: the driver's own connect uses it") {
        o.password_provider = uvdb::make_password_provider(
            "static", [](uvdb::event_loop&, uvdb::password_callback done) {
                done(uvdb::password_grant{t::env().password, std::nullopt});
            });
        auto c = t::connect_sync(loop, o);
        REQUIRE(c.ok());
    }
    CHECK(t::env().password.size() > 0);
}

TEST_CASE("password_command: success, non-zero exit, timeout", "[pg][credentials]") {
    uvdb::event_loop loop;
    auto with_command = [&](const std::string& command, const std::string& timeout) {
        uvdb::load_options lo;
        lo.file = "";
        lo.env = uvdb::environment_from({});
        lo.registry = &registry();
        lo.text = "[database]\nurl = \"" + t::make_url({.password = ""}) +
                  "\"\npassword_command = '" + command + "'\npassword_command_timeout = \"" +
                  timeout + "\"\n";
        auto cfg = uvdb::load_config(lo);
        REQUIRE(cfg.ok());
        CHECK(uvdb::describe(*cfg).find("password_command = ") != std::string::npos);
        return cfg->pool.connection;
    };
    const std::string pw = t::env().password;
    SECTION("prints the password") {
        // The password travels in the environment, not on the command line.
        ::setenv("UVDB_CREDS_TEST_PW", pw.c_str(), 1);
        auto c =
            t::connect_sync(loop, with_command("printf \"%s\\n\" \"$UVDB_CREDS_TEST_PW\"", "5s"));
        ::unsetenv("UVDB_CREDS_TEST_PW");
        CHECK(c.ok());
    }
    SECTION("exits non-zero: its output and stderr are not shown") {
        auto c = t::connect_sync(
            loop, with_command("printf \"le%sed\" ak; printf \"le%sed\" ak >&2; exit 3", "5s"));
        REQUIRE(!c.ok());
        const std::string m = c.err().message();
        CHECK(m.find("password_command") != std::string::npos);
        CHECK(m.find("exit status 3") != std::string::npos);
        CHECK(m.find("leaked") == std::string::npos);
    }
    SECTION("does not finish in time: killed") {
        auto c = t::connect_sync(loop, with_command("printf \"par%sial\" t; sleep 30", "300ms"));
        REQUIRE(!c.ok());
        const std::string m = c.err().message();
        CHECK(m.find("did not finish within 300ms (killed)") != std::string::npos);
        CHECK(m.find("partial") == std::string::npos);
    }
}
