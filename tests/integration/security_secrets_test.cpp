// The password never leaves uvdb in readable form: everything uvdb and libpq
// say while a pool connects, works, fails to authenticate and rejects
// malformed connection strings is captured (uvdb's log at trace level, the
// process's own stdout and stderr, every error text, describe(), the
// configuration printouts, and the output of the example programs when they
// are built) and searched for the passwords involved.
// Unit tests cover the pieces (core_mask_test, config_secrets_test); this
// runs them together against the real server.

#include <fcntl.h>
#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <uvdb/config.hpp>
#include <uvdb/driver_registry.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/log.hpp>
#include <uvdb/pool.hpp>
#include <uvdb/pool_from_config.hpp>
#include <uvdb/url.hpp>
#include <vector>

#include "integration/pool_pg_support.hpp"
#include "integration/support/run_program.hpp"
#include "integration/support/test_env.hpp"

using namespace std::chrono_literals;
namespace t = uvdb::test;

namespace {

/// uvdb's log at trace level, kept whole (no ring buffer that could drop
/// the line that leaks), and the process's stdout and stderr (file
/// descriptors 1 and 2, so libpq or anything else writing there directly is
/// caught too), both while in scope.
class output_capture {
  public:
    output_capture() {
        sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(log_);
        auto l = std::make_shared<spdlog::logger>("uvdb-security-test", sink_);
        l->set_level(spdlog::level::trace);
        l->set_pattern("%l %v");
        uvdb::set_logger(std::move(l));
        std::fflush(stdout);
        std::fflush(stderr);
        char path[] = "/tmp/uvdb-security-out.XXXXXX";
        file_ = ::mkstemp(path);
        ::unlink(path);
        saved_out_ = ::dup(1);
        saved_err_ = ::dup(2);
        ::dup2(file_, 1);
        ::dup2(file_, 2);
    }
    ~output_capture() { restore(); }
    output_capture(const output_capture&) = delete;
    output_capture& operator=(const output_capture&) = delete;

    /// Puts stdout, stderr and uvdb's logger back; returns all that was captured.
    std::string restore() {
        if (saved_out_ >= 0) {
            std::fflush(stdout);
            std::fflush(stderr);
            ::dup2(saved_out_, 1);
            ::dup2(saved_err_, 2);
            ::close(saved_out_);
            ::close(saved_err_);
            saved_out_ = saved_err_ = -1;
            uvdb::set_logger(nullptr);
            std::string fd_text;
            ::lseek(file_, 0, SEEK_SET);
            char buf[4096];
            for (ssize_t n; (n = ::read(file_, buf, sizeof buf)) > 0;)
                fd_text.append(buf, static_cast<std::size_t>(n));
            ::close(file_);
            text_ = log_.str() + "\n--- fd 1+2\n" + fd_text;
            // What went to fd 1 and 2 meanwhile includes Catch's own reports
            // of failed assertions inside the capture: write it out again,
            // the password masked, so a failure is never silent.
            echo_masked(fd_text);
        }
        return text_;
    }

  private:
    static void echo_masked(std::string text) {
        const std::string& secret = t::env().password;
        for (std::size_t at; !secret.empty() && (at = text.find(secret)) != std::string::npos;) {
            text.replace(at, secret.size(), "<password>");
        }
        if (text.empty()) return;
        std::fprintf(stdout, "--- written to stdout/stderr during the capture:\n%s\n--- end\n",
                     text.c_str());
        std::fflush(stdout);
    }

    std::ostringstream log_;
    std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
    int file_ = -1, saved_out_ = -1, saved_err_ = -1;
    std::string text_;
};

/// Runs the loop until `done` holds (at most 20 s).
void wait(uvdb::event_loop& loop, const std::function<bool()>& done) {
    (void)t::wait_until(loop, done, 20s);
}

/// Runs one statement on `p`; the slot receives its error (or an internal
/// error saying it succeeded). Shared, so a callback that comes after the
/// test stopped waiting (the pool is closed) writes into live memory.
std::shared_ptr<std::optional<uvdb::error>> first_error(uvdb::pool& p) {
    auto slot = std::make_shared<std::optional<uvdb::error>>();
    p.query("SELECT 1", [slot](uvdb::result<uvdb::result_set> r) {
        if (!slot->has_value())
            *slot = r ? uvdb::error(uvdb::errc::internal, "unexpected success") : r.err();
    });
    return slot;
}

/// `text` with every occurrence of each secret replaced by <SECRET n>, for
/// failure messages that must not leak either.
std::string redacted(std::string text, const std::vector<std::string>& secrets) {
    for (std::size_t i = 0; i < secrets.size(); ++i) {
        for (std::size_t at; (at = text.find(secrets[i])) != std::string::npos;)
            text.replace(at, secrets[i].size(), "<SECRET " + std::to_string(i) + ">");
    }
    return text;
}

}  // namespace

TEST_CASE("no password in any output: pools, connects, failures, configuration, examples",
          "[pg][security][secrets]") {
    // A registry of our own, so the global one is left as other tests expect it.
    uvdb::driver_registry registry;
    REQUIRE(registry.add(t::pg_driver()).ok());
    const std::string real_pw = t::env().password;
    const std::string wrong_pw = "Wr0ng-Secr3t-q9Zk";
    const std::string bad_url_pw = "Url-Secr3t-m4Xw";
    REQUIRE(real_pw.size() >= 8);
    const std::vector<std::string> secrets = {real_pw, wrong_pw, bad_url_pw,
                                              uvdb::url_encode(real_pw)};

    std::string texts;  // error messages, describe() and printouts gathered on the way
    auto note = [&](const std::string& what, const std::string& s) {
        texts += what + ": " + s + "\n";
    };
    output_capture cap;
    {
        uvdb::event_loop loop;

        // 1. A pool that works: connects (TLS, SCRAM), queries, closes.
        auto ok_opts = t::pool_test_options(2, 1);
        uvdb::pool good(loop, t::pg_driver(), ok_opts);
        int answered = 0;
        for (int i = 0; i < 4; ++i) {
            good.query("SELECT 1", [&](const uvdb::result<uvdb::result_set>& r) {
                if (r) ++answered;
            });
        }
        wait(loop, [&] { return answered == 4; });
        note("answered", std::to_string(answered));
        note("engine line", uvdb::engine_configured_line(good.options()));
        good.acquire([&](uvdb::result<uvdb::lease> l) {
            if (l) note("lease describe", (*l)->describe());
        });
        wait(loop, [&] { return texts.find("lease describe") != std::string::npos; });
        const auto st = good.stats();
        note("stats",
             "connects=" + std::to_string(st.connects) + " total=" + std::to_string(st.total));
        good.close();

        // 2. Authentication fails: the wrong password, in the URL and as an option.
        for (bool in_url : {true, false}) {
            auto bad = t::pool_test_options(1, 0);
            bad.timeout = std::chrono::seconds(3);
            if (in_url) {
                bad.connection.url = t::make_url({.password = wrong_pw});
            } else {
                bad.connection.password = wrong_pw;
            }
            uvdb::pool p(loop, t::pg_driver(), bad);
            auto err = first_error(p);
            wait(loop, [&] { return err->has_value(); });
            if (*err) note("auth error", (*err)->to_string() + " | " + (*err)->detail());
            if (auto last = p.last_connect_error()) note("last connect error", last->to_string());
        }

        // 3. Malformed connection strings that hold a password.
        for (const std::string& url : {"postgresql://app:" + bad_url_pw + "@127.0.0.1:notaport/db",
                                       "postgresql://app:" + bad_url_pw +
                                           "@127.0.0.1:" + t::env().port + "/db?sslmode=bogus",
                                       "host=127.0.0.1 password=" + bad_url_pw + " port=",
                                       "postgresql://app:" + bad_url_pw}) {
            uvdb::connect_options o;
            o.url = url;
            auto r = t::connect_sync(loop, o, 20s);
            note("connect error", r ? "connected?!" : r.err().to_string());
            uvdb::pool_options po;
            po.connection.url = url;
            po.timeout = std::chrono::seconds(3);  // retryable connect errors end here
            auto p = uvdb::pool::create(loop, po, registry);
            note("pool::create", p ? "created" : p.err().to_string());
            if (p) {
                auto err = first_error(*p);
                wait(loop, [&] { return err->has_value(); });
                if (*err) note("pool query error", (*err)->to_string());
            }
            uvdb::load_options lo;
            lo.file = "";
            lo.env = uvdb::environment_from({{"DATABASE_URL", url}});
            auto mp = uvdb::make_pool(loop, lo, registry);
            note("make_pool", mp ? "created" : mp.err().to_string());
        }

        // 4. Configuration from the environment, printed and logged.
        uvdb::load_options lo;
        lo.file = "";
        lo.env =
            uvdb::environment_from({{"DATABASE_URL", t::env().url}, {"UVDB_LOG_LEVEL", "trace"}});
        lo.registry = &registry;  // the URL is checked by its driver
        auto cfg = uvdb::load_config(lo);
        REQUIRE(cfg.ok());
        note("describe(config)", describe(*cfg));
        uvdb::log_sources(*cfg);
        auto from_cfg = uvdb::make_pool(loop, *cfg, registry);
        REQUIRE(from_cfg.ok());
        int done = 0;
        from_cfg->query("SELECT 1", [&](uvdb::result<uvdb::result_set>) { ++done; });
        wait(loop, [&] { return done == 1; });
        from_cfg->close();
        t::run_for(loop, 50ms);
    }

    // 5. The programs a user runs, as a user runs them.
#ifdef UVDB_EXAMPLES_DIR
    for (const auto& [name, args] : std::vector<std::pair<std::string, std::vector<std::string>>>{
             {"quickstart", {}}, {"uvdb-config", {}}}) {
        // Built with append, not a chain of operator+: GCC 12 warns
        // (-Warray-bounds) on the chain's inlined moves, wrongly.
        std::string program(UVDB_EXAMPLES_DIR);
        program.append("/").append(name);
        std::string url_var("DATABASE_URL=");
        url_var.append(t::env().url);
        const auto r = t::run_program(program, args, {url_var, "UVDB_LOG_LEVEL=trace"}, 60s);
        note(name + " exit", std::to_string(r.exit_code));
        note(name + " out", r.out + r.err);
    }
#endif

    const std::string all = cap.restore() + "\n--- gathered\n" + texts;
    INFO(redacted(all, secrets));
    // The capture really saw what happened (else the search proves nothing).
    CHECK(t::contains(texts, "answered: 4"));
    CHECK(t::contains(all, "uvdb postgres: connected to"));  // a debug line from the driver
    CHECK(t::contains(all, "the server refused to authenticate"));
    CHECK(t::contains(all, "malformed connection URL"));
    CHECK(t::contains(all, "***"));
#ifdef UVDB_EXAMPLES_DIR
    CHECK(t::contains(texts, "quickstart exit: 0"));
#endif
    for (std::size_t i = 0; i < secrets.size(); ++i) {
        INFO("secret " << i << " (0 real, 1 wrong, 2 in a malformed URL, 3 real, URL-encoded)");
        CHECK_FALSE(t::contains(all, secrets[i]));
    }
}
