#include "integration/pool_pg_support.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "integration/support/test_env.hpp"

namespace uvdb::test {

pool_options pool_test_options(std::size_t size, std::size_t max_overflow) {
    static std::atomic<int> counter{0};
    pool_options o;
    o.connection = test_options();
    o.connection.application_name =
        "uvdb_pool_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    o.size = size;
    o.max_overflow = max_overflow;
    return o;
}

int count_app_connections(event_loop& loop, const std::string& application_name) {
    auto admin = connect_or_fail(loop, admin_options());
    return scalar<int>(loop, *admin,
                       "SELECT count(*)::int FROM pg_stat_activity WHERE application_name = $1",
                       make_params(application_name));
}

result<void> admin_exec(const std::string& sql) {
    event_loop loop;
    std::optional<result<void>> connected;
    auto conn = pg_driver()->connect(loop, admin_options(),
                                     [&](result<void> r) { connected.emplace(std::move(r)); });
    if (!wait_until(
            loop, [&] { return connected.has_value(); }, std::chrono::seconds(30))) {
        return error(errc::timeout, "admin connect timed out");
    }
    if (!*connected) return connected->err();
    std::optional<result<result_set>> done;
    conn->query(sql, [&](result<result_set> r) { done.emplace(std::move(r)); });
    if (!wait_until(
            loop, [&] { return done.has_value(); }, std::chrono::seconds(30))) {
        return error(errc::timeout, "admin statement timed out");
    }
    if (!*done) return done->err();
    return {};
}

std::string quote_ident(const std::string& name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + '"';
}

int run_pg_ctl(const std::string& args) {
    const std::string& pgctl = env().pgctl;
    if (pgctl.empty()) return -1;
    const std::string cmd = "'" + pgctl + "' " + args + " >/dev/null 2>&1";
    return std::system(cmd.c_str());
}

struct activity_poller::state {
    std::unique_ptr<connection> admin;
    std::string name;
    bool in_flight = false;
    bool stopped = false;
    int max_seen = 0;
    int polls = 0;
    std::string last_error;
};

namespace {
void poll_once(const std::shared_ptr<activity_poller::state>& st) {
    if (st->in_flight || st->stopped) return;
    st->in_flight = true;
    st->admin->query("SELECT count(*)::int FROM pg_stat_activity WHERE application_name = $1",
                     make_params(st->name), [st](result<result_set> r) {
                         st->in_flight = false;
                         if (!r) {
                             st->last_error = describe(r.err());
                             return;
                         }
                         st->max_seen = std::max(st->max_seen, r->value<int>());
                         ++st->polls;
                     });
}
}  // namespace

activity_poller::activity_poller(event_loop& loop, std::string application_name)
    : loop_(loop), st_(std::make_shared<state>()), timer_(loop) {
    st_->name = std::move(application_name);
    st_->admin = connect_or_fail(loop, admin_options());
    timer_.start(
        std::chrono::milliseconds(50), [st = st_] { poll_once(st); },
        std::chrono::milliseconds(50));
}

activity_poller::~activity_poller() {
    stop();
    st_->admin.reset();
}

void activity_poller::poll_now_and_wait() {
    run_until(
        loop_, [this] { return !st_->in_flight; }, std::chrono::seconds(10), "the poll in flight");
    const int before = st_->polls;
    poll_once(st_);
    run_until(
        loop_, [&] { return st_->polls > before || !st_->last_error.empty(); },
        std::chrono::seconds(10), "a pg_stat_activity poll");
    INFO("poll error: " << st_->last_error);
    CHECK(st_->last_error.empty());
}

void activity_poller::stop() {
    st_->stopped = true;
    timer_.stop();
}

int activity_poller::max_seen() const { return st_->max_seen; }
int activity_poller::polls() const { return st_->polls; }

}  // namespace uvdb::test
