#pragma once
// One PostgreSQL connection: the state machine that drives libpq from the
// loop. `connection_impl` holds the real state on the heap; the application
// holds a `connection_handle` (uvdb::connection_adapter) that only forwards.
// What each result means is decided by the pure receive step (pg_receive.*);
// this class does the I/O and applies the step's verdict.
//
// Lifetime: the impl is reference counted (loop thread only, so a plain int).
// The handle holds one reference; every deferred step and every io/timer
// dispatch holds one while it runs. Closing — also from inside one of our own
// callbacks — stops the watcher and timer first, then PQfinish, and completes
// what is pending with errc::closed through event_loop::defer; the memory goes
// when the last reference does, which is never while one of our frames is on
// the stack.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <uvdb/connection_adapter.hpp>
#include <uvdb/driver.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/intrusive_ref.hpp>
#include <uvdb/io_watcher.hpp>
#include <uvdb/offload.hpp>
#include <uvdb/pending_completion.hpp>
#include <uvdb/timer.hpp>
#include <vector>

#include "pg_cancel.hpp"
#include "pg_commands.hpp"
#include "pg_conn.hpp"
#include "pg_conninfo.hpp"
#include "pg_copy_in.hpp"
#include "pg_error.hpp"
#include "pg_params.hpp"
#include "pg_receive.hpp"
#include "pg_statement_cache.hpp"
#include "pg_stream.hpp"

namespace uvdb::postgres::detail {

class connection_impl;

/// An owning reference to a connection_impl.
using impl_ref = intrusive_ref<connection_impl>;

class connection_impl {
  public:
    connection_impl(event_loop& loop, std::shared_ptr<cancel_limiter> cancels,
                    const connect_options& opts, driver::connect_callback on_connected);
    ~connection_impl();
    connection_impl(const connection_impl&) = delete;
    connection_impl& operator=(const connection_impl&) = delete;

    void add_ref() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0) delete this;
    }

    // The uvdb::connection operations (see driver.hpp for their contracts).
    /// Asks the password provider of the options first, when there is one
    /// (pg_password.cpp), then start_connect().
    void start();
    void start_connect();
    void query(std::string_view sql, params p, const query_options& opts,
               connection::query_callback cb);
    /// connection::query_group: the members as one Sync group; false (and
    /// `members` untouched) when they cannot be one (see pg_send.cpp).
    bool query_group(std::vector<connection::group_member>& members, const query_options& opts);
    void execute(std::string_view script, const query_options& opts,
                 connection::script_callback cb);
    void ping(std::chrono::milliseconds deadline, connection::done_callback cb);
    void reset(connection::done_callback cb);
    void start_copy_in(std::string_view sql, const query_options& opts,
                       connection::copy_in_callback cb);  // pg_copy_in.cpp
    void cancel();
    void close();

    bool is_ready() const noexcept { return phase_ == phase::ready && !broken_; }
    bool is_broken() const noexcept { return broken_; }
    bool is_idle() const noexcept { return queue_.empty() && !cancel_outstanding_; }
    std::size_t pending() const noexcept { return queue_.size(); }
    std::size_t pipeline_depth() const noexcept { return depth_; }
    clock::time_point front_sent_at() const noexcept {
        return queue_.in_flight() ? front_since_ : clock::time_point{};
    }
    tx_status transaction_status() const noexcept;
    std::int64_t server_pid() const noexcept { return pid_; }
    // The server's role, from what it reported (pg_role.cpp).
    server_role reported_role() const noexcept;
    bool role_lost() const noexcept;
    std::string describe() const;
    void describe_server(connection::server_facts_callback cb);  // pg_server_facts.cpp
    // Notifications (pg_notify.cpp).
    result<void> on_notification(notification_handler handler);
    void listen(std::string_view channel, connection::done_callback cb);
    void unlisten(std::string_view channel, connection::done_callback cb);
    void notify(std::string_view channel, std::string_view payload, connection::done_callback cb);

    // Streamed statements (pg_stream.cpp; see pg_stream.hpp).
    std::unique_ptr<stream_source<result_set>> open_stream(std::string_view sql, params p,
                                                           const stream_options& opts);
    std::unique_ptr<stream_source<std::string>> open_copy_out(std::string_view sql,
                                                              const stream_options& opts);
    /// The consumer of `st` asked for a chunk (its waiter is set).
    void stream_asked(const std::shared_ptr<stream_state>& st);
    /// The consumer closed `st`: cancel, drain, then `drained`.
    void stream_close(const std::shared_ptr<stream_state>& st, unique_function<void()> drained);

  private:
    enum class phase : std::uint8_t { resolving, connecting, ready, failed, closed };

    /// Marks a call from the application: completions that happen inside it
    /// are deferred, so no callback ever runs inline from the call that started it.
    struct api_scope {
        explicit api_scope(connection_impl& c) noexcept : conn(c) { ++conn.api_depth_; }
        ~api_scope() { --conn.api_depth_; }
        api_scope(const api_scope&) = delete;
        api_scope& operator=(const api_scope&) = delete;
        connection_impl& conn;
    };
    template <class Callback, class Value>
    void deliver_to(Callback& cb, Value&& v);
    /// Calls a connect callback, or answers a pending completion (an error
    /// fails it whatever its kind).
    template <class Callback, class Value>
    static void answer(Callback& cb, Value&& v) {
        if constexpr (!std::is_same_v<Callback, pending_completion>) {
            cb(std::forward<Value>(v));
        } else if constexpr (std::is_same_v<std::decay_t<Value>, error>) {
            cb.fail(v);
        } else {
            cb.complete(std::forward<Value>(v));
        }
    }

    // Connecting (pg_connect.cpp).
    void on_resolved(std::size_t host_index, result<std::vector<resolved_address>> r);
    void start_libpq();
    void connect_step();
    void on_poll_done(PostgresPollingStatusType st);
    void follow_socket();
    void on_connected();
    void on_connect_timeout();
    /// Multi-host strings: the attempt on one host failed or ran out of its
    /// deadline; try the next (a new PGconn), or fail with every host's error.
    void next_host(error e);
    void on_host_timeout();
    /// At connect: which role target_session_attrs asks the server to keep (pg_role.cpp).
    void note_wanted_role();
    /// After each statement: a 25006 failure where a writable server is wanted.
    void note_statement_role(const command& c) noexcept;
    void fail_connect(error e);
    static void on_notice(void* self, const PGresult* notice);
    endpoint current_endpoint() const;

    // Sending (pg_send.cpp).
    /// `known`: what classify(sql) gives, when the caller has it already.
    void enqueue(command&& c, std::string_view sql,
                 std::optional<statement_kind> known = std::nullopt);
    /// Whether `next`, the first command not sent yet, may be sent now.
    bool can_send(const command& next) const noexcept;
    void pump();
    /// Sends `c`, the first command not sent yet (or, retried, the one in flight).
    bool send_command(command& c, const std::string& sql);
    bool send_pipelined(command& c, const std::string& sql);
    bool send_with_prepare(command& c, const std::string& sql);
    bool send_deallocations(command& c);
    void send_failed();
    void after_send();

    // Reading and answering (pg_io.cpp; what a result means: pg_receive.cpp).
    void on_io(unsigned events);
    void on_readable();
    void on_writable();
    void drain_results();
    void apply(const receive_step& step, command& c);
    bool retry_stale(command& c);
    void finish_front();
    void complete(command& c);

    // Notifications (pg_notify.cpp).
    void listen_command(const char* verb, std::string_view channel, connection::done_callback cb);
    /// Hands every notification libpq has parsed to the handler, in order.
    void deliver_notifications();
    /// Tells the handler, once, that the connection failed.
    void notify_lost(const error& e);

    // Deadlines and cancel (pg_deadlines.cpp).
    /// Sets the timer from the queue (a walk over every command).
    void arm_deadlines();
    /// While one lives, arm_deadlines() only notes that it is due, and the
    /// outermost runs it once when it ends: reading 100 answers or issuing a
    /// group of 100 walks the queue once, not 100 times.
    struct deadlines_once {
        explicit deadlines_once(connection_impl& c) noexcept
            : keep(&c), conn(c), outer(!c.deadlines_held_) {
            c.deadlines_held_ = true;
        }
        ~deadlines_once() {
            if (!outer) return;
            conn.deadlines_held_ = false;
            if (conn.deadlines_due_) {
                conn.deadlines_due_ = false;
                conn.arm_deadlines();
            }
        }
        deadlines_once(const deadlines_once&) = delete;
        deadlines_once& operator=(const deadlines_once&) = delete;
        impl_ref keep;  // what runs inside may drop the last other reference
        connection_impl& conn;
        bool outer;
    };
    void on_deadline();
    /// When the loop gives up on `c`, the front statement whose timeout the
    /// server enforces (a stalled server or network): the connection closes.
    clock::time_point backstop_of(const command& c) const;
    void start_cancel(cancel_reason why);
    void on_cancel_done(std::uint64_t seq, bool sent, const std::string& failure);

    // Streams (pg_stream.cpp).
    void start_stream(const std::shared_ptr<stream_state>& st, std::string_view sql, params p,
                      std::chrono::milliseconds timeout);
    bool send_stream(command& c, const std::string& sql);
    bool drain_stream(command& f);
    void take_stream_result(command& f, pg_result_ptr r);
    void finish_stream();
    void answer_stream(const std::shared_ptr<stream_state>& st);
    void stream_timed_out(command& f);
    /// A stream's command failed or was dropped without running: tell its consumer.
    void fail_stream_of(command& c, const error& e);
    /// Back-pressure: stop (and start again) watching the socket for input and
    /// calling PQconsumeInput, so unread rows stay in the kernel and the server.
    void pause_reading();
    void resume_reading();
    /// Runs `fn` (deferred) once no cancel request is outstanding any more.
    void when_cancel_settled(unique_function<void()> fn);
    void run_cancel_settled();
    // COPY FROM STDIN (pg_copy_in.cpp): what the caller's sink calls, and
    // the hooks the reading, writing and deadline paths call.
    friend class copy_in_sink_impl;
    bool copy_is_front(const copy_in_state& s) const noexcept;
    void copy_opened(command& c);
    result<bool> copy_write(copy_in_state& s, std::string_view bytes);
    void copy_wait(copy_in_state& s, copy_in_sink::done_callback cb);
    void copy_finish(copy_in_state& s, copy_in_sink::count_callback cb);
    void copy_abort(copy_in_state& s, std::string_view message, copy_in_sink::done_callback cb);
    bool copy_end(copy_in_state& s, const char* why);
    void copy_drained();
    void copy_interrupt(command& f, cancel_reason why);

    // Failure and teardown (pg_connection.cpp).
    void fail_connection(error e);
    void teardown_io() noexcept;
    void fail_all(std::vector<command> cmds, const error& first, const error& rest);

    event_loop& loop_;
    std::shared_ptr<cancel_limiter> cancels_;
    pg_conn conn_;
    io_watcher watcher_;
    timer timer_;
    int refs_ = 0;
    int api_depth_ = 0;

    phase phase_ = phase::resolving;
    bool broken_ = false;
    bool closed_ = false;
    bool flushing_ = false;
    bool poll_running_ = false;       // a PQconnectPoll runs on the threadpool
    bool finish_after_poll_ = false;  // PQfinish waits for that poll to return
    bool cancel_outstanding_ = false;
    bool timer_armed_ = false;
    bool deadlines_held_ = false;  // a deadlines_once lives
    bool deadlines_due_ = false;   // arm_deadlines() was asked for meanwhile
    bool reading_paused_ = false;  // a stream's full chunk waits for its consumer
    clock::time_point timer_due_{};
    clock::time_point cancel_outstanding_deadline_{};
    std::uint64_t cancel_job_ = 0;  // id in cancels_ of the outstanding request

    // Connect state.
    connect_options opts_;
    driver::connect_callback on_connected_;
    conninfo info_;
    std::size_t resolving_ = 0;
    std::string resolve_error_;
    // A string naming several hosts is tried one host at a time, each with
    // its own deadline (libpq has no "next host" call, and ignores
    // connect_timeout in non-blocking mode).
    std::size_t attempts_ = 0;   // 0: not decided yet; 1: libpq walks the list itself
    std::size_t attempt_ = 0;    // the host being tried
    bool standby_pass_ = false;  // prefer-standby: the first pass asks for a standby
    bool host_expired_ = false;  // the host's deadline passed while a poll ran
    std::chrono::milliseconds host_timeout_{0};
    timer host_timer_;
    conninfo attempt_info_;       // info_ narrowed to the host being tried
    std::string attempt_errors_;  // "host: why; host: why" for the final error
    int watched_fd_ = -1;
    ino_t watched_ino_ = 0;
    clock::time_point connect_started_{};

    // Session state.
    command_queue queue_;
    param_arrays binds_;
    statement_cache stmts_{0};    // sized from the URL once it is parsed
    std::string deallocate_sql_;  // "DEALLOCATE uvdb_sN"; keeps its capacity
    std::string sql_buf_;         // NUL-terminated copy of the SQL sent at once; keeps its capacity
    std::string timeout_text_;    // a pipelined statement's statement_timeout, in ms
    std::size_t depth_;           // statements in flight at most (connect_options::pipeline_depth)
    // When the statement in flight at the front started to run on the server
    // (it was sent, or the one before it was answered).
    clock::time_point front_since_{};
    std::uint64_t last_answered_seq_ = 0;  // commands are answered in order
    // Whether the last pipelined statement sent runs inside a transaction
    // block: known when the pipeline began, then followed through BEGIN and
    // COMMIT/ROLLBACK as they are sent (libpq says "active" meanwhile).
    bool in_block_ = false;
    // A group's members are being sent and its last (with the Sync) is not yet.
    bool group_open_ = false;
    endpoint ep_;
    std::int64_t pid_ = 0;
    /// What role_lost() compares the reported role against.
    enum class wanted_role : std::uint8_t { any, writable, primary, read_only, standby };
    wanted_role wanted_role_ = wanted_role::any;
    bool role_lost_ = false;          // sticky: set by a 25006 failure
    error broken_reason_;             // why the connection broke, for statements issued later
    std::string fatal_notice_state_;  // SQLSTATE of a FATAL notice (session about to end)
    std::string fatal_notice_text_;
    std::vector<unique_function<void()>> cancel_settled_;  // closed streams waiting to be drained
    notification_handler notify_handler_;                  // empty: notifications are dropped
};

template <class Callback, class Value>
void connection_impl::deliver_to(Callback& cb, Value&& v) {
    if (api_depth_ == 0 && std::is_same_v<Callback, pending_completion>) {
        answer(cb, std::forward<Value>(v));  // it moves the callback out before calling it
        return;
    }
    Callback local = std::move(cb);
    if (!local) return;
    if (api_depth_ > 0) {
        loop_.defer([cb = std::move(local), v = std::forward<Value>(v)]() mutable {
            answer(cb, std::move(v));
        });
    } else {
        answer(local, std::forward<Value>(v));
    }
}

/// The object the application holds.
using connection_handle = connection_adapter<connection_impl>;

}  // namespace uvdb::postgres::detail
