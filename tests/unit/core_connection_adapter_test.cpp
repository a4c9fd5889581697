// uvdb::connection_adapter: the application's uvdb::connection forwards every
// call to the driver's state and closes it when destroyed, while the state
// lives on for whoever else holds a reference.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <uvdb/connection_adapter.hpp>

using namespace uvdb;

namespace {

struct fake_impl {
    int refs = 0;
    bool* freed = nullptr;
    int queries = 0, scripts = 0, pings = 0, resets = 0, cancels = 0, closes = 0;
    std::string last_sql;

    void add_ref() noexcept { ++refs; }
    void release() noexcept {
        if (--refs == 0) {
            *freed = true;
            delete this;
        }
    }
    void query(std::string_view sql, params, const query_options&, connection::query_callback) {
        ++queries;
        last_sql = sql;
    }
    void execute(std::string_view, const query_options&, connection::script_callback) { ++scripts; }
    void ping(std::chrono::milliseconds, connection::done_callback) { ++pings; }
    void reset(connection::done_callback) { ++resets; }
    void cancel() { ++cancels; }
    void close() { ++closes; }
    bool is_ready() const noexcept { return true; }
    bool is_broken() const noexcept { return false; }
    bool is_idle() const noexcept { return queries == 0; }
    tx_status transaction_status() const noexcept { return tx_status::in_transaction; }
    std::string describe() const { return "fake"; }
};

struct with_pid : fake_impl {
    std::int64_t server_pid() const noexcept { return 4711; }
};

}  // namespace

TEST_CASE("connection_adapter forwards every call and closes on destruction",
          "[unit][driver_sdk]") {
    bool freed = false;
    auto* impl = new fake_impl;
    impl->freed = &freed;
    intrusive_ref<fake_impl> keep(impl);  // a deferred step still holds the state
    {
        std::unique_ptr<connection> c = std::make_unique<connection_adapter<fake_impl>>(keep);
        c->query("SELECT 1", [](result<result_set>) {});
        c->execute("SELECT 1; SELECT 2", [](result<std::vector<result_set>>) {});
        c->ping(std::chrono::milliseconds{5}, [](result<void>) {});
        c->reset([](result<void>) {});
        c->cancel();
        CHECK(c->is_ready());
        CHECK_FALSE(c->is_broken());
        CHECK_FALSE(c->is_idle());
        CHECK(c->transaction_status() == tx_status::in_transaction);
        CHECK(c->server_pid() == 0);  // fake_impl has none
        CHECK(c->describe() == "fake");
        CHECK(impl->closes == 0);
    }
    CHECK(impl->queries == 1);
    CHECK(impl->last_sql == "SELECT 1");
    CHECK(impl->scripts == 1);
    CHECK(impl->pings == 1);
    CHECK(impl->resets == 1);
    CHECK(impl->cancels == 1);
    CHECK(impl->closes == 1);  // destroyed → closed
    CHECK_FALSE(freed);        // but alive while referenced
    keep = intrusive_ref<fake_impl>();
    CHECK(freed);
}

TEST_CASE("connection_adapter forwards server_pid when the state has one", "[unit][driver_sdk]") {
    auto s = std::make_shared<with_pid>();
    connection_adapter<with_pid, std::shared_ptr<with_pid>> c(s);
    CHECK(c.server_pid() == 4711);
    CHECK(&c.impl() == s.get());
}
