// connection::describe_server for SQLite: the library is the server, in this
// process; asking through the connection's own queue keeps the answer
// deferred like every operation and fails on a broken connection.
#include <string>
#include <utility>

#include "sqlite_connection.hpp"

namespace uvdb::sqlite::detail {

void connection_impl::describe_server(connection::server_facts_callback cb) {
    query("SELECT sqlite_version()", params{}, query_options{},
          [cb = std::move(cb)](result<result_set> q) mutable {
              if (!q) return cb(std::move(q).err());
              server_facts f;
              f.product = "SQLite";
              if (q->size() == 1 && q->columns() == 1) f.version = std::string((*q)[0].text(0));
              f.transport = "in-process";
              cb(std::move(f));
          });
}

}  // namespace uvdb::sqlite::detail
