#pragma once
// A thin owner of one PGconn: one libpq call per method, no policy. Everything
// that decides what to call when lives in connection_impl; keeping libpq behind
// this seam keeps the state machine readable and the libpq surface auditable.

#include <libpq-fe.h>

#include "pg_result.hpp"

namespace uvdb::postgres::detail {

class pg_conn {
  public:
    pg_conn() noexcept = default;
    ~pg_conn() { finish(); }
    pg_conn(const pg_conn&) = delete;
    pg_conn& operator=(const pg_conn&) = delete;

    /// PQconnectStartParams with expand_dbname = 0: the caller has already
    /// parsed the connection string into explicit keywords.
    void start(const char* const* keywords, const char* const* values) noexcept;
    /// PQfinish; idempotent. Callers stop watching the socket first.
    void finish() noexcept;

    explicit operator bool() const noexcept { return conn_ != nullptr; }
    PGconn* native() const noexcept { return conn_; }

    ConnStatusType status() const noexcept { return PQstatus(conn_); }
    PostgresPollingStatusType connect_poll() noexcept { return PQconnectPoll(conn_); }
    int socket() const noexcept { return PQsocket(conn_); }
    bool set_nonblocking() noexcept { return PQsetnonblocking(conn_, 1) == 0; }
    void set_notice_receiver(PQnoticeReceiver fn, void* arg) noexcept {
        PQsetNoticeReceiver(conn_, fn, arg);
    }
    void set_error_verbosity(PGVerbosity v) noexcept { PQsetErrorVerbosity(conn_, v); }

    bool send_query_params(const char* sql, int n, const Oid* types, const char* const* values,
                           const int* lengths, const int* formats) noexcept {
        return PQsendQueryParams(conn_, sql, n, types, values, lengths, formats, 0) == 1;
    }
    bool send_query(const char* sql) noexcept { return PQsendQuery(conn_, sql) == 1; }
    bool send_prepare(const char* name, const char* sql, int n, const Oid* types) noexcept {
        return PQsendPrepare(conn_, name, sql, n, types) == 1;
    }
    bool send_query_prepared(const char* name, int n, const char* const* values, const int* lengths,
                             const int* formats) noexcept {
        return PQsendQueryPrepared(conn_, name, n, values, lengths, formats, 0) == 1;
    }
    /// Pipeline mode: only while nothing is in flight (enter) or left to read (exit).
    bool enter_pipeline() noexcept { return PQenterPipelineMode(conn_) == 1; }
    bool exit_pipeline() noexcept { return PQexitPipelineMode(conn_) == 1; }
    bool in_pipeline() const noexcept { return PQpipelineStatus(conn_) != PQ_PIPELINE_OFF; }
    bool pipeline_sync() noexcept { return PQpipelineSync(conn_) == 1; }
    /// 0: all sent, 1: more to send (wait for writable), -1: failed.
    int flush() noexcept { return PQflush(conn_); }
    bool consume_input() noexcept { return PQconsumeInput(conn_) == 1; }
    bool is_busy() noexcept { return PQisBusy(conn_) != 0; }
    /// Only call when !is_busy(): otherwise libpq blocks waiting for data.
    pg_result_ptr get_result() noexcept { return pg_result_ptr(PQgetResult(conn_)); }
    PGnotify* notifies() noexcept { return PQnotifies(conn_); }
    /// 1: queued (libpq sends what the socket takes), 0: no room (never in
    /// practice: libpq grows its buffer), -1: failed.
    int put_copy_data(const char* data, int n) noexcept { return PQputCopyData(conn_, data, n); }
    int put_copy_end(const char* why) noexcept { return PQputCopyEnd(conn_, why); }
    int get_copy_data_async(char** buffer) noexcept { return PQgetCopyData(conn_, buffer, 1); }

    const char* error_message() const noexcept { return PQerrorMessage(conn_); }
    PGTransactionStatusType transaction_status() const noexcept {
        return PQtransactionStatus(conn_);
    }
    int backend_pid() const noexcept { return PQbackendPID(conn_); }
    /// Owned by the caller (PQfreeCancel); usable from any thread, independent of this PGconn.
    PGcancel* get_cancel() const noexcept { return PQgetCancel(conn_); }
    bool ssl_in_use() const noexcept { return PQsslInUse(conn_) == 1; }
    /// Decrypted bytes OpenSSL holds that libpq has not read yet (SSL_pending).
    /// They do not make the socket readable; see connection_impl::on_readable.
    bool tls_pending() const noexcept;
    const char* ssl_attribute(const char* name) const noexcept {
        return PQsslAttribute(conn_, name);
    }

    const char* host() const noexcept { return PQhost(conn_); }
    const char* hostaddr() const noexcept { return PQhostaddr(conn_); }
    const char* port() const noexcept { return PQport(conn_); }
    const char* db() const noexcept { return PQdb(conn_); }
    const char* user() const noexcept { return PQuser(conn_); }

  private:
    PGconn* conn_ = nullptr;
};

}  // namespace uvdb::postgres::detail
