#pragma once
/// \file
/// An in-process driver for pool tests: connections that connect, query,
/// ping and reset after programmable latencies (on a timer_source, usually a
/// manual clock) and fail by script or predicate, with counters of what the
/// pool did to them. It honours the driver contract (callbacks exactly once,
/// never inline, in order; close completes pending callbacks with
/// errc::closed) so that the pool is tested against the same rules as a
/// real driver.
///
/// SQL understood: "BEGIN…", "COMMIT", "ROLLBACK" (transaction status; COMMIT
/// of a failed transaction answers with the tag "ROLLBACK"),
/// "SLEEP <ms>" (runs that long), "FAIL" (a non-fatal server error), anything
/// else returns one row with one column "?column?" = "1".
///
/// Pipelining: statements are "sent" as soon as they are issued, up to
/// connect_options::pipeline_depth in flight (pending(), front_sent_at());
/// the "server" still runs them one after the other, in order. After a
/// fatal error every statement queued behind it fails with the same error,
/// as a pipelining driver does.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <uvdb/driver.hpp>
#include <vector>

#include "timer_source.hpp"  // pool/src: the pool's test seam, not installed

namespace uvdb::test {

class fake_connection;

/// Behaviour and counters shared by a fake_driver and its connections.
struct fake_state {
    std::shared_ptr<detail::timer_source> timers;  // null: complete on the next loop turn

    // Behaviour.
    std::chrono::milliseconds connect_latency{0};
    std::chrono::milliseconds query_latency{0};
    std::chrono::milliseconds ping_latency{0};
    std::chrono::milliseconds reset_latency{0};
    /// Outcomes of the next connects in order (nullopt = success); consulted first.
    std::deque<std::optional<error>> connect_script;
    /// For connects the script does not cover: an error fails the attempt.
    std::function<std::optional<error>(std::size_t attempt)> connect_fault;
    std::function<std::optional<error>(fake_connection&, std::string_view sql)> query_fault;
    std::function<std::optional<error>(fake_connection&)> ping_fault;
    std::function<std::optional<error>(fake_connection&)> reset_fault;
    /// Pings never answer; they fail with errc::timeout at their deadline.
    bool ping_hangs = false;

    // Counters.
    std::size_t connect_attempts = 0;
    std::size_t connected = 0;  // successful connects
    std::size_t closes = 0;
    std::size_t pings = 0;
    std::size_t resets = 0;
    std::size_t queries = 0;
    /// The most operations one connection had issued and unanswered at once.
    std::size_t max_pending = 0;
    std::vector<fake_connection*> live;  // created and not closed
    std::vector<std::string> passwords;  // connect_options::password of each connect, in order
    std::vector<std::chrono::milliseconds> ping_deadlines;  // as the pool passed them
    /// Every statement run, in order, when record_sql is on.
    bool record_sql = true;
    std::vector<std::string> sql_log;
    /// Parameters the statements carried, the text/binary bytes read from
    /// them through param_view as a driver binds them (text up to its NUL)
    /// and the sum of the binary bytes' values;
    /// the last statement's are copied when record_params is on (a copy that
    /// fits the inline budget allocates nothing).
    std::size_t params_bound = 0;
    std::size_t param_bytes_read = 0;
    std::size_t param_byte_sum = 0;
    bool record_params = false;
    params last_params;
    /// Per query (not execute), when record_sql is on: query_options::timeout
    /// and the number of parameters, as the driver received them.
    std::vector<std::chrono::milliseconds> query_timeouts;
    std::vector<std::size_t> param_counts;
};

/// The usual errors.
error lost_error();      ///< connection_lost, 57P01, fatal
error refused_error();   ///< connect_failed (retryable)
error auth_error();      ///< auth_failed (not retryable)
error too_many_error();  ///< too_many_connections, 53300 (retryable)

class fake_driver final : public driver {
  public:
    explicit fake_driver(std::shared_ptr<detail::timer_source> timers = nullptr);

    /// Behaviour knobs and counters.
    fake_state& state() noexcept { return *st_; }
    fake_state* operator->() noexcept { return st_.get(); }

    /// Connections created and not yet closed.
    std::size_t live() const noexcept { return st_->live.size(); }
    /// The server "restarts": every open connection is dead; its next
    /// operation fails with connection_lost (SQLSTATE 57P01).
    void kill_all();

    std::string_view name() const noexcept override { return "fake"; }
    std::vector<std::string> schemes() const override { return {"fake"}; }
    std::unique_ptr<connection> connect(event_loop& loop, const connect_options& opts,
                                        connect_callback on_connected) override;

  private:
    std::shared_ptr<fake_state> st_;
    std::uint64_t next_id_ = 1;
};

class fake_connection final : public connection {
  public:
    fake_connection(event_loop& loop, std::shared_ptr<fake_state> st, std::uint64_t id,
                    driver::connect_callback on_connected, std::size_t pipeline_depth = 1);
    ~fake_connection() override;

    void query(std::string_view sql, params p, const query_options& opts,
               query_callback cb) override;
    void execute(std::string_view script, const query_options& opts, script_callback cb) override;
    void ping(std::chrono::milliseconds deadline, done_callback cb) override;
    void reset(done_callback cb) override;
    void cancel() override;
    void close() override;

    bool is_ready() const noexcept override { return connected_ && !broken_; }
    bool is_broken() const noexcept override { return broken_; }
    /// The server "changed roles" (see connection::role_lost): set by lose_role().
    bool role_lost() const noexcept override { return role_lost_; }
    void lose_role() noexcept { role_lost_ = true; }
    bool is_idle() const noexcept override { return ops_.empty(); }
    std::size_t pending() const noexcept override { return ops_.size(); }
    std::size_t pipeline_depth() const noexcept override { return depth_; }
    event_loop::clock::time_point front_sent_at() const noexcept override {
        return running_ && !ops_.empty() ? ops_.front_const().sent_at
                                         : event_loop::clock::time_point{};
    }
    tx_status transaction_status() const noexcept override { return tx_; }
    std::int64_t server_pid() const noexcept override { return static_cast<std::int64_t>(id_); }
    std::string describe() const override { return "fake#" + std::to_string(id_); }

    std::uint64_t id() const noexcept { return id_; }
    /// This one connection's server side goes away.
    void kill() noexcept { dead_ = true; }
    bool dead() const noexcept { return dead_; }

  private:
    enum class kind : std::uint8_t { connect, query, execute, ping, reset };
    struct op {
        kind k;
        std::string sql;
        std::chrono::milliseconds deadline{
            0};  // ping's deadline, a statement's timeout (<= 0: none)
        driver::connect_callback connect_cb;
        query_callback query_cb;
        script_callback script_cb;
        done_callback done_cb;
        event_loop::clock::time_point sent_at{};  // {} while beyond the pipeline depth
    };

    /// A FIFO of operations that reuses its storage, so a connection's steady
    /// state allocates nothing (a std::deque of ops this size allocates a
    /// block per push).
    class op_queue {
      public:
        bool empty() const noexcept { return head_ == items_.size(); }
        op& front() noexcept { return items_[head_]; }
        const op& front_const() const noexcept { return items_[head_]; }
        std::size_t size() const noexcept { return items_.size() - head_; }
        op& operator[](std::size_t i) noexcept { return items_[head_ + i]; }
        void push_back(op&& o) { items_.push_back(std::move(o)); }
        void pop_front() noexcept {
            ++head_;
            if (head_ == items_.size()) {
                clear();
            } else if (head_ >= 64 && head_ * 2 >= items_.size()) {
                // Never drained: drop the moved-from front so it does not grow for ever.
                items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
                head_ = 0;
            }
        }
        void clear() noexcept {
            items_.clear();  // keeps the capacity
            head_ = 0;
        }
        auto begin() noexcept { return items_.begin() + static_cast<std::ptrdiff_t>(head_); }
        auto end() noexcept { return items_.end(); }

      private:
        std::vector<op> items_;
        std::size_t head_ = 0;
    };

    void push(op o);
    void start_front();
    void finish_front();
    void complete(op& o, std::optional<error> failure);
    void mark_closed() noexcept;
    event_loop::clock::time_point now() const noexcept;

    event_loop& loop_;
    std::shared_ptr<fake_state> st_;
    std::uint64_t id_;
    std::size_t depth_;
    op_queue ops_;
    bool running_ = false;
    bool connected_ = false;
    bool broken_ = false;
    bool role_lost_ = false;
    bool closed_ = false;
    bool dead_ = false;
    bool cancel_requested_ = false;
    tx_status tx_ = tx_status::idle;
    std::optional<error> pending_failure_;  // outcome of the running op
    std::optional<error> fatal_;            // what every statement after a fatal error gets
    detail::timer_source::handle timer_ = 0;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace uvdb::test
