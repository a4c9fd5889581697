#include "pg_conn.hpp"

#ifdef UVDB_PG_HAVE_OPENSSL
#include <openssl/ssl.h>
#endif

namespace uvdb::postgres::detail {

void pg_conn::start(const char* const* keywords, const char* const* values) noexcept {
    finish();
    conn_ = PQconnectStartParams(keywords, values, 0);
}

void pg_conn::finish() noexcept {
    if (conn_ != nullptr) {
        PQfinish(conn_);
        conn_ = nullptr;
    }
}

bool pg_conn::tls_pending() const noexcept {
#ifdef UVDB_PG_HAVE_OPENSSL
    auto* ssl = static_cast<SSL*>(PQsslStruct(conn_, "OpenSSL"));
    return ssl != nullptr && SSL_pending(ssl) > 0;
#else
    return false;
#endif
}

}  // namespace uvdb::postgres::detail
