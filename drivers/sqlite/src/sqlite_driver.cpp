// The SQLite driver object: parses the URL on the loop (no I/O), then opens
// the file on the threadpool.

#include <sqlite3.h>

#include <stdexcept>
#include <uvdb/sqlite/driver.hpp>

#include "sqlite_connection.hpp"

namespace uvdb::sqlite {
namespace {

/// A connection that failed before it began (bad URL): answers everything
/// with the configuration error, through the loop.
class failed_connection final : public uvdb::connection {
  public:
    failed_connection(event_loop& loop, error e) : loop_(loop), err_(std::move(e)) {}
    void query(std::string_view, params, const query_options&, query_callback cb) override {
        loop_.defer([cb = std::move(cb), e = err_]() mutable { cb(result<result_set>(e)); });
    }
    void execute(std::string_view, const query_options&, script_callback cb) override {
        loop_.defer(
            [cb = std::move(cb), e = err_]() mutable { cb(result<std::vector<result_set>>(e)); });
    }
    void ping(std::chrono::milliseconds, done_callback cb) override {
        loop_.defer([cb = std::move(cb), e = err_]() mutable { cb(result<void>(e)); });
    }
    void reset(done_callback cb) override {
        loop_.defer([cb = std::move(cb), e = err_]() mutable { cb(result<void>(e)); });
    }
    void cancel() override {}
    void close() override {}
    bool is_ready() const noexcept override { return false; }
    bool is_broken() const noexcept override { return true; }
    bool is_idle() const noexcept override { return true; }
    tx_status transaction_status() const noexcept override { return tx_status::unknown; }
    std::string describe() const override { return "sqlite (bad configuration)"; }

  private:
    event_loop& loop_;
    error err_;
};

class sqlite_driver final : public uvdb::driver {
  public:
    std::string_view name() const noexcept override { return "sqlite"; }
    std::vector<std::string> schemes() const override { return {"sqlite"}; }
    // The URL and its parameters, as connect() will read them (no I/O).
    result<void> check(std::string_view conn) const override {
        auto settings = detail::parse_settings(conn, {});
        if (!settings) return std::move(settings).err();
        return {};
    }

    std::unique_ptr<connection> connect(event_loop& loop, const connect_options& opts,
                                        connect_callback on_connected) override {
        auto settings = detail::parse_settings(opts.url, opts.extra);
        if (!settings) {
            error e = std::move(settings).err().with_fatal(true);
            loop.defer([cb = std::move(on_connected), e]() mutable { cb(result<void>(e)); });
            return std::make_unique<failed_connection>(loop, std::move(e));
        }
        auto* impl = new detail::connection_impl(loop, std::move(settings).value(), opts,
                                                 std::move(on_connected));
        detail::impl_ref ref(impl);
        impl->start_connect();
        return std::make_unique<detail::connection_handle>(std::move(ref));
    }
};

}  // namespace

std::shared_ptr<uvdb::driver> make_driver() {
    // Multi-thread mode needs a library built thread-safe (Debian's is, =1).
    if (sqlite3_threadsafe() == 0)
        throw std::runtime_error(
            "uvdb::sqlite: this libsqlite3 was built without thread "
            "support (SQLITE_THREADSAFE=0); uvdb runs statements on "
            "libuv's threadpool and needs a thread-safe build");
    return std::make_shared<sqlite_driver>();
}

result<void> register_driver(driver_registry& registry) { return registry.add(make_driver()); }

}  // namespace uvdb::sqlite
