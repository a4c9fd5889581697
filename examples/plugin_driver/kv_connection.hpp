#pragma once
// uvdb::connection for the kv backend: statements queued and answered on the
// loop thread, never inline; SLEEP waits on a uvdb::timer, which is what makes
// query timeouts and cancel() real here.

#include <deque>
#include <memory>
#include <string>

#include <uvdb/driver.hpp>
#include <uvdb/timer.hpp>

#include "kv_store.hpp"

namespace kv {

class session;

/// Loop thread only. Destroying it closes it: every statement still queued
/// gets errc::closed (on the loop, after the destructor returns).
class kv_connection final : public uvdb::connection {
public:
    kv_connection(uvdb::event_loop& loop, const uvdb::connect_options& opts,
                  uvdb::driver::connect_callback on_connected);
    ~kv_connection() override;

    void query(std::string_view sql, uvdb::params p, const uvdb::query_options& opts,
               query_callback cb) override;
    void execute(std::string_view script, const uvdb::query_options& opts, script_callback cb) override;
    void ping(std::chrono::milliseconds deadline, done_callback cb) override;
    void reset(done_callback cb) override;
    void cancel() override;
    void close() override;
    bool is_ready() const noexcept override;
    bool is_broken() const noexcept override;
    bool is_idle() const noexcept override;
    uvdb::tx_status transaction_status() const noexcept override;
    std::string describe() const override;

private:
    std::shared_ptr<session> s_;  // shared with callbacks deferred on the loop
};

}  // namespace kv
