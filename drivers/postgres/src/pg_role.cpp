// The server's role as the connection last heard it, and whether it still
// is the role target_session_attrs asked for. No round trip: PostgreSQL 14+
// reports in_hot_standby and default_transaction_read_only (GUC_REPORT) at
// connect and again whenever they change, e.g. on promotion, in the
// ParameterStatus messages that precede a ReadyForQuery; libpq keeps the
// latest value for PQparameterStatus. An older server reports neither: then
// only SQLSTATE 25006 (a write refused as read-only) tells.

#include <cstring>

#include "pg_connection.hpp"

namespace uvdb::postgres::detail {

namespace {

// libpq keeps the values as the server sent them: "on" or "off".
bool is_on(const char* v) noexcept { return v != nullptr && std::strcmp(v, "on") == 0; }

}  // namespace

server_role connection_impl::reported_role() const noexcept {
    // While connecting, the PGconn may belong to a worker thread.
    if (phase_ != phase::ready || !conn_) return server_role::unknown;
    PGconn* c = conn_.native();
    const char* standby = PQparameterStatus(c, "in_hot_standby");
    const char* read_only = PQparameterStatus(c, "default_transaction_read_only");
    if (standby == nullptr && read_only == nullptr) return server_role::unknown;
    if (is_on(standby)) return server_role::standby;
    if (is_on(read_only)) return server_role::read_only;
    return server_role::primary;
}

bool connection_impl::role_lost() const noexcept {
    if (wanted_role_ == wanted_role::any) return false;  // the usual case: no lookups
    if (role_lost_) return true;
    switch (reported_role()) {
        case server_role::unknown:
            return false;
        case server_role::primary:
            return wanted_role_ == wanted_role::standby || wanted_role_ == wanted_role::read_only;
        case server_role::read_only:
            return wanted_role_ == wanted_role::writable || wanted_role_ == wanted_role::standby;
        case server_role::standby:
            return wanted_role_ == wanted_role::writable || wanted_role_ == wanted_role::primary;
    }
    return false;
}

void connection_impl::note_wanted_role() {
    const std::string tsa = info_.target_session_attrs();
    role_lost_ = false;
    if (tsa == "read-write") {
        wanted_role_ = wanted_role::writable;
    } else if (tsa == "primary") {
        wanted_role_ = wanted_role::primary;
    } else if (tsa == "read-only") {
        wanted_role_ = wanted_role::read_only;
    } else if (tsa == "standby") {
        wanted_role_ = wanted_role::standby;
    } else if (tsa == "prefer-standby") {
        // Holding on to a standby: its promotion ends that. Settled for the
        // primary (no standby was up): nothing to lose.
        wanted_role_ =
            reported_role() == server_role::standby ? wanted_role::standby : wanted_role::any;
    } else {
        wanted_role_ = wanted_role::any;
    }
}

void connection_impl::note_statement_role(const command& c) noexcept {
    if (!c.failed || c.err.sqlstate() != "25006") return;
    // "cannot execute … in a read-only transaction": a writer's server that
    // became a standby or read-only, even when it has not said so (before 14).
    if (wanted_role_ == wanted_role::writable || wanted_role_ == wanted_role::primary) {
        role_lost_ = true;
    }
}

}  // namespace uvdb::postgres::detail
