#include "pg_conn.hpp"

#ifdef UVDB_PG_HAVE_OPENSSL
#include <openssl/err.h>
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
    if (ssl == nullptr) return false;
    if (SSL_pending(ssl) > 0) return true;  // decrypted, not yet read by libpq
    // Read ahead (tls_read_ahead): whole records may wait undecrypted in
    // OpenSSL's buffer, and the socket will not say so. But the buffer may
    // also end in part of a record, which needs the socket: a peek decrypts
    // the next record if it is complete, and says "would block" otherwise,
    // so a partial record never makes the caller spin. A real failure says
    // yes: libpq's next read then reports it.
    if (SSL_has_pending(ssl) != 1) return false;
    char byte = 0;
    ERR_clear_error();  // SSL_get_error reads this thread's queue
    const int n = SSL_peek(ssl, &byte, 1);
    if (n > 0) return true;
    const int why = SSL_get_error(ssl, n);
    return why != SSL_ERROR_WANT_READ && why != SSL_ERROR_WANT_WRITE;
#else
    return false;
#endif
}

void pg_conn::tls_read_ahead() noexcept {
#ifdef UVDB_PG_HAVE_OPENSSL
    if (auto* ssl = static_cast<SSL*>(PQsslStruct(conn_, "OpenSSL"))) SSL_set_read_ahead(ssl, 1);
#endif
}

}  // namespace uvdb::postgres::detail
