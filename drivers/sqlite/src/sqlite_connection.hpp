#pragma once
// One SQLite connection, loop side: the command queue, deadlines, cancel and
// close. Each command runs as one uvdb::offload job (sqlite_exec.*); at most
// one job per connection is in flight, so the sqlite3 handle is never used by
// two threads at once.
//
// Lifetime: like the PostgreSQL driver, the state lives in a reference-counted
// `connection_impl` (loop thread only, so a plain int). The application's
// handle holds one reference and every job's completion holds one, so the
// db_state a running job uses outlives it even when the application has
// dropped the connection. The handle itself is closed by a last job on the
// threadpool once no statement job is running.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <uvdb/connection_adapter.hpp>
#include <uvdb/driver.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/intrusive_ref.hpp>
#include <uvdb/pending_completion.hpp>
#include <uvdb/timer.hpp>
#include <vector>

#include "sqlite_exec.hpp"
#include "sqlite_url.hpp"

namespace uvdb::sqlite::detail {

class connection_impl;

/// An owning reference to a connection_impl.
using impl_ref = intrusive_ref<connection_impl>;

enum class command_kind : std::uint8_t { query, execute, ping, reset, stream };

struct stream_state;  // sqlite_stream.hpp
enum class stop_reason : std::uint8_t { none, user, deadline };

struct command {
    command_kind kind = command_kind::query;
    stop_reason stop = stop_reason::none;
    std::string sql;
    params args;
    std::chrono::milliseconds timeout{0};  ///< 0: none
    event_loop::clock::time_point deadline{};
    pending_completion completion;  ///< the caller's callback, answered exactly once
    /// A streamed statement (kind stream): answered through it, not `completion`.
    std::shared_ptr<stream_state> stream;
};

class connection_impl {
  public:
    connection_impl(event_loop& loop, open_settings settings, const connect_options& opts,
                    driver::connect_callback on_connected);
    ~connection_impl();
    connection_impl(const connection_impl&) = delete;
    connection_impl& operator=(const connection_impl&) = delete;

    void add_ref() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0) delete this;
    }

    void start_connect();
    void query(std::string_view sql, params p, const query_options& opts,
               connection::query_callback cb);
    void execute(std::string_view script, const query_options& opts,
                 connection::script_callback cb);
    void ping(std::chrono::milliseconds deadline, connection::done_callback cb);
    void reset(connection::done_callback cb);
    void cancel();
    void close();

    bool is_ready() const noexcept { return phase_ == phase::ready && !broken_; }
    bool is_broken() const noexcept { return broken_; }
    bool is_idle() const noexcept { return queue_.empty() && !running_; }
    tx_status transaction_status() const noexcept;
    std::string describe() const;
    void describe_server(connection::server_facts_callback cb);  // sqlite_server_facts.cpp

    // Streamed statements (sqlite_stream.cpp).
    std::unique_ptr<stream_source<result_set>> open_stream(std::string_view sql, params p,
                                                           const stream_options& opts);
    void stream_asked(const std::shared_ptr<stream_state>& st);
    void stream_close(const std::shared_ptr<stream_state>& st, unique_function<void()> drained);

  private:
    enum class phase : std::uint8_t { opening, ready, failed, closed };

    void on_opened(result<void> r);
    void on_connect_deadline();
    void enqueue(command&& c);
    void pump();
    void start_job(command& c);
    template <class T>
    void on_job_done(job_outcome<T> out);
    void on_deadline();
    void interrupt(stop_reason why);
    void break_connection(const error& e);
    void close_handle();
    void fail_queue(const error& e);
    /// Completes a command that will not run with `e` (deferred, like every answer).
    void fail_command(command&& c, const error& e);
    error explain_stop(const command& c, error e) const;
    // Streams (sqlite_stream.cpp).
    void start_stream_step(command& c, bool first);
    void on_stream_step(job_outcome<stream_chunk> out);
    void finalize_stream(command& c);
    void end_stream();
    void stream_deadline();

    event_loop& loop_;
    timer timer_;
    open_settings settings_;
    std::chrono::milliseconds connect_timeout_;
    std::chrono::milliseconds query_timeout_;
    driver::connect_callback on_connected_;
    std::unique_ptr<db_state> db_ = std::make_unique<db_state>();

    int refs_ = 0;
    phase phase_ = phase::opening;
    bool broken_ = false;
    bool closed_ = false;
    bool job_running_ = false;        // a job (open, statement or close) uses db_
    bool in_transaction_ = false;     // from sqlite3_get_autocommit after the last job
    std::optional<command> running_;  // the statement whose job is in flight
    std::deque<command> queue_;       // waiting statements, in order
    error broken_reason_;
};

/// The object the application holds.
using connection_handle = connection_adapter<connection_impl>;

}  // namespace uvdb::sqlite::detail
