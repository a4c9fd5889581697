#include "pg_conn.hpp"

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

}  // namespace uvdb::postgres::detail
