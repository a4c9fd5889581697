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
/// is_broken, is_idle, transaction_status, describe; server_pid, query_group,
/// reported_role, role_lost, describe_server, on_notification, listen, unlisten and notify
/// optionally). `Ref` is the owning reference: `intrusive_ref<Impl>` by default (Impl then has
/// add_ref()/release()), or e.g. `std::shared_ptr<Impl>`.
///
/// Header-only: a plugin driver compiles its own copy, nothing crosses the
/// plugin ABI but `uvdb::connection` itself.

#include <chrono>
#include <concepts>
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
    using connection::copy_out;
    using connection::execute;
    using connection::listen;
    using connection::notify;
    using connection::ping;
    using connection::query;
    using connection::reset;
    using connection::stream;
    using connection::unlisten;

    void query(std::string_view sql, params p, const query_options& opts,
               query_callback cb) override {
        impl_->query(sql, std::move(p), opts, std::move(cb));
    }
    void execute(std::string_view script, const query_options& opts, script_callback cb) override {
        impl_->execute(script, opts, std::move(cb));
    }
    void query_group(std::vector<group_member> members, const query_options& opts) override {
        // Impl::query_group returns false, leaving `members` untouched, for a
        // group it cannot send as one unit; the one-by-one default runs it.
        if constexpr (requires(Impl & i, std::vector<group_member> & m) {
                          { i.query_group(m, opts) } -> std::same_as<bool>;
                      }) {
            if (impl_->query_group(members, opts)) return;
        }
        connection::query_group(std::move(members), opts);
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
    std::size_t pending() const noexcept override {
        if constexpr (requires(const Impl& i) { i.pending(); }) {
            return impl_->pending();
        } else {
            return connection::pending();
        }
    }
    std::size_t pipeline_depth() const noexcept override {
        if constexpr (requires(const Impl& i) { i.pipeline_depth(); }) {
            return impl_->pipeline_depth();
        } else {
            return connection::pipeline_depth();
        }
    }
    event_loop::clock::time_point front_sent_at() const noexcept override {
        if constexpr (requires(const Impl& i) { i.front_sent_at(); }) {
            return impl_->front_sent_at();
        } else {
            return connection::front_sent_at();
        }
    }
    tx_status transaction_status() const noexcept override { return impl_->transaction_status(); }
    std::int64_t server_pid() const noexcept override {
        if constexpr (requires(const Impl& i) { i.server_pid(); }) {
            return impl_->server_pid();
        } else {
            return 0;
        }
    }
    server_role reported_role() const noexcept override {
        if constexpr (requires(const Impl& i) { i.reported_role(); }) {
            return impl_->reported_role();
        } else {
            return server_role::unknown;
        }
    }
    bool role_lost() const noexcept override {
        if constexpr (requires(const Impl& i) { i.role_lost(); }) {
            return impl_->role_lost();
        } else {
            return false;
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

    result<void> on_notification(notification_handler handler) override {
        if constexpr (requires(Impl & i) { i.on_notification(std::move(handler)); }) {
            return impl_->on_notification(std::move(handler));
        } else {
            return connection::on_notification(std::move(handler));
        }
    }
    void listen(std::string_view channel, done_callback cb) override {
        if constexpr (requires(Impl & i) { i.listen(channel, std::move(cb)); }) {
            impl_->listen(channel, std::move(cb));
        } else {
            connection::listen(channel, std::move(cb));
        }
    }
    void unlisten(std::string_view channel, done_callback cb) override {
        if constexpr (requires(Impl & i) { i.unlisten(channel, std::move(cb)); }) {
            impl_->unlisten(channel, std::move(cb));
        } else {
            connection::unlisten(channel, std::move(cb));
        }
    }
    void notify(std::string_view channel, std::string_view payload, done_callback cb) override {
        if constexpr (requires(Impl & i) { i.notify(channel, payload, std::move(cb)); }) {
            impl_->notify(channel, payload, std::move(cb));
        } else {
            connection::notify(channel, payload, std::move(cb));
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
    std::unique_ptr<stream_source<result_set>> open_stream(std::string_view sql, params p,
                                                           const stream_options& opts) override {
        if constexpr (requires(Impl & i) { i.open_stream(sql, std::move(p), opts); }) {
            return impl_->open_stream(sql, std::move(p), opts);
        } else {
            return connection::open_stream(sql, std::move(p), opts);
        }
    }
    std::unique_ptr<stream_source<std::string>> open_copy_out(std::string_view sql,
                                                              const stream_options& opts) override {
        if constexpr (requires(Impl & i) { i.open_copy_out(sql, opts); }) {
            return impl_->open_copy_out(sql, opts);
        } else {
            return connection::open_copy_out(sql, opts);
        }
    }

    Impl& impl() const noexcept { return *impl_; }

  private:
    Ref impl_;
};

}  // namespace uvdb
