// The PostgreSQL driver object: opens connection_impls and shares the
// per-loop cancel limiters between them.

#include <uvdb/postgres/driver.hpp>

#include "pg_cancel.hpp"
#include "pg_connection.hpp"

namespace uvdb::postgres {

namespace {

class pg_driver final : public uvdb::driver {
  public:
    explicit pg_driver(driver_options opts) : cancels_(opts.max_concurrent_cancels) {}

    std::string_view name() const noexcept override { return "postgresql"; }
    std::vector<std::string> schemes() const override { return {"postgresql", "postgres"}; }
    // libpq's key=value strings ("host=db dbname=app") have no scheme.
    bool accepts(std::string_view conn) const override { return detail::is_keyword_value(conn); }
    result<void> check(std::string_view conn) const override {
        return detail::check_conninfo(conn);
    }

    result<std::string> quote_identifier(std::string_view name) const override {
        return uvdb::postgres::quote_identifier(name);
    }

    std::unique_ptr<connection> connect(event_loop& loop, const connect_options& opts,
                                        connect_callback on_connected) override {
        detail::impl_ref impl(new detail::connection_impl(loop, cancels_.for_loop(loop), opts,
                                                          std::move(on_connected)));
        auto handle = std::make_unique<detail::connection_handle>(impl);
        impl->start();
        return handle;
    }

  private:
    detail::cancel_limiters cancels_;
};

}  // namespace

std::shared_ptr<uvdb::driver> make_driver(driver_options opts) {
    return std::make_shared<pg_driver>(opts);
}

result<void> register_driver(driver_registry& registry) { return registry.add(make_driver()); }

}  // namespace uvdb::postgres
