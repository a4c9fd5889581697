#pragma once
// The threadpool side of the SQLite driver: functions that call the blocking
// sqlite3 API. They run inside uvdb::offload jobs, never on the loop thread,
// and touch nothing but their arguments. The loop side (sqlite_connection.*)
// guarantees that at most one job uses a handle at a time.

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <uvdb/param.hpp>
#include <uvdb/result.hpp>
#include <uvdb/result_set.hpp>
#include <vector>

#include "sqlite_url.hpp"

namespace uvdb::sqlite::detail {

/// What a streamed statement runs (sqlite_stream.*): fixed once it is queued.
struct stream_input {
    std::string sql;
    params args;
    std::size_t chunk_rows = 1000;
};

/// One open handle and what its busy handler reads. Owned by the loop side;
/// its address is stable while any job may use it.
struct db_state {
    sqlite3* db = nullptr;
    /// Set by the loop thread before sqlite3_interrupt(); read by the busy
    /// handler so a wait for a lock ends at once too (sqlite3_interrupt alone
    /// does not stop a busy wait).
    std::atomic<bool> interrupted{false};
    std::chrono::milliseconds busy_timeout{0};
    /// When the current busy wait started; worker thread only.
    std::chrono::steady_clock::time_point busy_started{};
    /// The streamed statement between its chunks (at most one per handle:
    /// a stream holds the connection), and the input its parameters are
    /// bound from (SQLITE_STATIC). Jobs only.
    sqlite3_stmt* stream_stmt = nullptr;
    std::shared_ptr<const stream_input> stream_in;
};

/// What a statement job hands back to the loop.
template <class T>
struct job_outcome {
    result<T> value;
    bool autocommit = true;  ///< sqlite3_get_autocommit() after the job
};

/// Opens the database named by `s` into `state` and applies the settings.
/// On failure the handle is closed again and state.db stays null.
result<void> open_db(const open_settings& s, db_state& state);

/// Runs one statement with parameters ($N, ?N, ? and named, by index).
job_outcome<result_set> run_query(db_state& state, const std::string& sql, const params& args);

/// Runs every statement of `script`; stops at the first error.
job_outcome<std::vector<result_set>> run_script(db_state& state, const std::string& script);

/// Runs `sql` (a ROLLBACK or a ping statement), discarding rows.
job_outcome<void> run_simple(db_state& state, const char* sql, const char* what);

/// One chunk of a streamed statement: up to chunk_rows rows, whether the
/// statement ended, and the error that ended it after those rows.
struct stream_chunk {
    std::optional<result_set> rows;
    bool done = false;
    std::optional<error> err;
};

/// Steps the stream's statement for one chunk; `first` prepares and binds it
/// (into state.stream_stmt). At its end or on an error the statement is
/// finalized. Between chunks it stays prepared, holding its read snapshot.
job_outcome<stream_chunk> step_stream(db_state& state, std::shared_ptr<const stream_input> in,
                                      bool first);

/// Finalizes a stream's statement left before its end (the consumer dropped it).
job_outcome<void> end_stream_statement(db_state& state) noexcept;

/// Closes the handle (may checkpoint the WAL: disk I/O). Idempotent.
void close_db(db_state& state) noexcept;

}  // namespace uvdb::sqlite::detail
