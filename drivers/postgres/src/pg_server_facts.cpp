// connection::describe_server for PostgreSQL: one statement that asks the
// server itself (pg_stat_ssl sees the TLS the backend negotiated, whatever
// the client's libpq build reports), so uvdb-bench's notes say what the
// server measured with.
#include <string>
#include <utility>

#include "pg_connection.hpp"

namespace uvdb::postgres::detail {

void connection_impl::describe_server(connection::server_facts_callback cb) {
    query(
        "SELECT s.ssl, coalesce(s.version, ''), current_setting('server_version'), "
        "current_setting('max_connections')::int "
        "FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()",
        params{}, query_options{}, [cb = std::move(cb)](result<result_set> q) mutable {
            if (!q) return cb(std::move(q).err());
            if (q->size() != 1) {
                return cb(error(errc::protocol_error, "pg_stat_ssl has no row for this session"));
            }
            const row r0 = (*q)[0];
            server_facts f;
            f.product = "PostgreSQL";
            f.tls = r0.text(0) == "t";
            f.transport = *f.tls ? std::string(r0.text(1)) : std::string("NO TLS");
            f.version = std::string(r0.text(2));
            auto mc = r0.try_get<int>(3);
            f.max_connections = mc ? *mc : 0;
            cb(std::move(f));
        });
}

}  // namespace uvdb::postgres::detail
