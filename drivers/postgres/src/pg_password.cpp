// A connection whose options carry a password provider asks it before the
// connect phase proper (pg_connect.cpp), so that a direct driver connect gets
// rotating credentials just as the pool's connects do.

#include <uvdb/credentials.hpp>

#include "pg_connection.hpp"

namespace uvdb::postgres::detail {

void connection_impl::start() {
    if (!opts_.password_provider) {
        start_connect();
        return;
    }
    // Taken out of the options: the provider's waiting request holds this
    // connection, and the connection must not hold the provider back.
    auto provider = std::move(opts_.password_provider);
    opts_.password_provider.reset();
    provider->get(loop_, [self = impl_ref(this)](result<std::string> r) mutable {
        if (self->closed_ || self->phase_ != phase::resolving) return;  // closed meanwhile
        if (!r) {
            self->ep_ = endpoint{};
            self->fail_connect(std::move(r).err());
            return;
        }
        self->opts_.password = std::move(*r);
        self->start_connect();
    });
}

}  // namespace uvdb::postgres::detail
