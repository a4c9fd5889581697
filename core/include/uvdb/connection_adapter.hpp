#pragma once
/// \file
/// `uvdb::connection_adapter<Impl>`: the `uvdb::connection` a driver hands to
/// the application. It forwards every call to the driver's own connection
/// state (`Impl`) and closes that state when it is destroyed.
///
/// Why the split: the state must outlive the application's object whenever a
/// deferred step, an offload job or a watcher dispatch still refers to it
/// (the application may destroy its connection from inside one of our
/// callbacks). So the state is reference counted and the object the
/// application holds is only one of its owners; destroying it means close(),
/// and the memory goes with the last reference.
///
/// `Impl` provides the operations of `uvdb::connection` under the same names
/// and signatures (query, execute, ping, reset, cancel, close, is_ready,
/// is_broken, is_idle, transaction_status, describe; server_pid and
/// describe_server optionally).
/// `Ref` is the owning reference: `intrusive_ref<Impl>` by default (Impl then
/// has add_ref()/release()), or e.g. `std::shared_ptr<Impl>`.
///
/// Header-only: a plugin driver compiles its own copy, nothing crosses the
/// plugin ABI but `uvdb::connection` itself.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <uvdb/driver.hpp>
#include <uvdb/intrusive_ref.hpp>

namespace uvdb {

template <class Impl, class Ref = intrusive_ref<Impl>>
class connection_adapter final : public connection {
  public:
    explicit connection_adapter(Ref impl) noexcept : impl_(std::move(impl)) {}
    /// The contract of uvdb::connection: destroying it closes the connection.
    ~connection_adapter() override { impl_->close(); }
    connection_adapter(const connection_adapter&) = delete;
    connection_adapter& operator=(const connection_adapter&) = delete;

    // The application-facing forms (awaitable, values as parameters) stay
    // visible beside the overrides below.
    using connection::copy_in;
    using connection::execute;
    using connection::ping;
    using connection::query;
    using connection::reset;

    void query(std::string_view sql, params p, const query_options& opts,
               query_callback cb) override {
        impl_->query(sql, std::move(p), opts, std::move(cb));
    }
    void execute(std::string_view script, const query_options& opts, script_callback cb) override {
        impl_->execute(script, opts, std::move(cb));
    }
    void ping(std::chrono::milliseconds deadline, done_callback cb) override {
        impl_->ping(deadline, std::move(cb));
    }
    void reset(done_callback cb) override { impl_->reset(std::move(cb)); }
    void cancel() override { impl_->cancel(); }
    void close() override { impl_->close(); }
    bool is_ready() const noexcept override { return impl_->is_ready(); }
    bool is_broken() const noexcept override { return impl_->is_broken(); }
    bool is_idle() const noexcept override { return impl_->is_idle(); }
    tx_status transaction_status() const noexcept override { return impl_->transaction_status(); }
    std::int64_t server_pid() const noexcept override {
        if constexpr (requires(const Impl& i) { i.server_pid(); }) {
            return impl_->server_pid();
        } else {
            return 0;
        }
    }
    std::string describe() const override { return impl_->describe(); }
    void describe_server(server_facts_callback cb) override {
        if constexpr (requires(Impl & i) { i.describe_server(std::move(cb)); }) {
            impl_->describe_server(std::move(cb));
        } else {
            connection::describe_server(std::move(cb));
        }
    }

    void start_copy_in(std::string_view sql, const query_options& opts,
                       copy_in_callback cb) override {
        if constexpr (requires(Impl & i) { i.start_copy_in(sql, opts, std::move(cb)); }) {
            impl_->start_copy_in(sql, opts, std::move(cb));
        } else {
            connection::start_copy_in(sql, opts, std::move(cb));
        }
    }

    /// The driver's state, for driver-specific calls (tests, diagnostics).
    Impl& impl() const noexcept { return *impl_; }

  private:
    Ref impl_;
};

}  // namespace uvdb
