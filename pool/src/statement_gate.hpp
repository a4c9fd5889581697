#pragma once
// Not installed: the connection lease.query and lease.execute talk to. It
// sends their statements through the pool (pool_core::run_statement /
// run_script: timing, hooks, slow-query log) and the rest of the interface
// straight to the driver's connection. The caller never sees this object:
// lease.get() and lease-> give the driver's own connection, so driver
// specific features and dynamic_cast keep working on it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <uvdb/driver.hpp>

namespace uvdb::detail {

class pool_core;
struct conn_slot;

class statement_gate final : public connection {
  public:
    /// Set when the slot is lent (pool_core::make_lease).
    void bind(pool_core* core, conn_slot* slot) noexcept {
        core_ = core;
        slot_ = slot;
    }

    void query(std::string_view sql, params p, const query_options& opts,
               query_callback cb) override;
    void execute(std::string_view script, const query_options& opts, script_callback cb) override;
    void query_group(std::vector<group_member> members, const query_options& opts) override;
    void ping(std::chrono::milliseconds deadline, done_callback cb) override {
        inner().ping(deadline, std::move(cb));
    }
    void reset(done_callback cb) override { inner().reset(std::move(cb)); }
    void cancel() override { inner().cancel(); }
    void close() override { inner().close(); }
    bool is_ready() const noexcept override { return inner().is_ready(); }
    bool is_broken() const noexcept override { return inner().is_broken(); }
    bool is_idle() const noexcept override { return inner().is_idle(); }
    std::size_t pending() const noexcept override { return inner().pending(); }
    std::size_t pipeline_depth() const noexcept override { return inner().pipeline_depth(); }
    event_loop::clock::time_point front_sent_at() const noexcept override {
        return inner().front_sent_at();
    }
    tx_status transaction_status() const noexcept override { return inner().transaction_status(); }
    std::int64_t server_pid() const noexcept override { return inner().server_pid(); }
    std::string describe() const override { return inner().describe(); }

  private:
    connection& inner() const noexcept;

    pool_core* core_ = nullptr;
    conn_slot* slot_ = nullptr;
};

}  // namespace uvdb::detail
