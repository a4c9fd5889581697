#pragma once
// The commands of one connection, in the order the caller issued them. The
// ones at the front have been sent (several at once when they are pipelined
// statements, see pg_send.cpp); the rest wait. Each record carries what
// overlapping commands need: a sequence number, its own deadline, its own
// results, and which of the results of its Sync group are its own.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <uvdb/driver.hpp>
#include <uvdb/pending_completion.hpp>
#include <vector>

#include "pg_error.hpp"
#include "pg_result.hpp"

namespace uvdb::postgres::detail {

enum class command_kind : std::uint8_t {
    query,    ///< one statement, extended protocol, bound parameters
    execute,  ///< a script, simple protocol, every result returned
    ping,     ///< empty query: one round trip
    reset,    ///< ROLLBACK when a transaction is open; nothing otherwise
    copy_in,  ///< COPY … FROM STDIN, simple protocol; its data comes from a copy_writer
};

struct copy_in_state;

using clock = event_loop::clock;

struct stream_state;  // pg_stream.hpp

struct command {
    command_kind kind = command_kind::query;
    bool sent = false;
    bool copy_out = false;  ///< reading COPY TO STDOUT data (dropped unless a copy_out stream)
    /// Set for a streamed statement (kind query): its rows go there, not to `completion`.
    std::shared_ptr<stream_state> stream;
    cancel_reason cancel = cancel_reason::none;
    std::uint64_t seq = 0;
    std::chrono::milliseconds timeout{0};  ///< 0: none
    clock::time_point deadline{};          ///< valid when timeout > 0
    clock::time_point cancel_deadline{};  ///< valid when cancel != none: give up on the server then
    std::chrono::milliseconds cancel_grace{
        0};  ///< how long the server was given to confirm the cancel

    /// Owned only while the command waits; a command sent at once never copies its SQL.
    std::string sql;
    /// The prepared statement it ran as (empty: unnamed). Names are short:
    /// the string stays in its inline buffer.
    std::string stmt;
    /// A statement sent in pipeline mode is a Sync group: [the statement
    /// timeout's SET] [Parse, on a cache miss] the caller's statement [the
    /// timeout's restore] Sync, then one DEALLOCATE + Sync per statement the
    /// cache gave up on. `syncs_left` counts the Sync results still to come;
    /// `part` counts the statements whose results ended (a null result each),
    /// so the caller's is the one where part == prefix; `suffix` statements
    /// after it share its group (their failure undoes it), later ones do not.
    std::uint8_t syncs_left = 0;
    std::uint8_t part = 0;
    std::uint8_t prefix = 0;
    std::uint8_t suffix = 0;
    bool parse_in_prefix = false;  ///< the last prefix statement is its Parse
    /// The server enforces its timeout (statement_timeout set for it alone);
    /// the loop timer is only the backstop for a stalled server or network.
    bool server_timeout = false;
    /// Sent in pipeline mode: other pipelined statements may follow it in
    /// flight. Its deadline is then never a cancel request (which could
    /// reach a statement behind it): the server's statement_timeout when
    /// `server_timeout`, else only the loop's backstop.
    bool pipelined = false;
    /// A member of a group (connection::query_group): it shares one Sync
    /// with the members around it, so no Sync follows it unless it is the
    /// last; it ends with its own statement's results (see pg_receive.cpp).
    bool in_group = false;
    bool group_last = false;
    /// What it does to the transaction (statement_kind of pg_statement_cache.hpp).
    std::uint8_t tx_effect = 0;
    /// Its caller was answered already (cancelled while others were in
    /// flight behind it): its results are read and dropped.
    bool detached = false;
    bool retried = false;  ///< already sent again after its prepared statement went stale
    params args;
    /// copy_in only: shared with the caller's sink (pg_copy_in.hpp).
    std::shared_ptr<copy_in_state> copy;

    /// The caller's callback, answered exactly once.
    pending_completion completion;

    /// What arrived so far: the last result (query), every result (execute),
    /// or the first error, which wins.
    pg_result_ptr last;
    std::vector<result_set> results;
    bool failed = false;
    error err;

    bool has_deadline() const noexcept { return timeout.count() > 0; }
};

/// A ring buffer of commands: push at the back, pop at the front, without an
/// allocation per command once it has grown to the connection's usual depth
/// (std::deque would allocate a node per command of this size).
class command_queue {
  public:
    bool empty() const noexcept { return count_ == 0; }
    std::size_t size() const noexcept { return count_; }
    command& front() noexcept { return ring_[head_]; }
    const command& front() const noexcept { return ring_[head_]; }
    command& operator[](std::size_t i) noexcept { return ring_[(head_ + i) % ring_.size()]; }
    const command& operator[](std::size_t i) const noexcept {
        return ring_[(head_ + i) % ring_.size()];
    }

    /// True when the front command has been sent and awaits its results.
    bool in_flight() const noexcept { return count_ != 0 && front().sent; }
    /// How many commands have been sent and await their results: always the
    /// first ones of the queue.
    std::size_t in_flight_count() const noexcept { return sent_; }
    /// The first command not sent yet (requires in_flight_count() < size()).
    command& next_unsent() noexcept { return (*this)[sent_]; }
    /// Records that `c`, the first unsent command, was sent (idempotent: a
    /// retried statement is sent again but counted once).
    void mark_sent(command& c) noexcept {
        if (c.sent) return;
        c.sent = true;
        ++sent_;
    }

    command& push_back(command&& c);
    /// Moves the front command out and frees its slot.
    command pop_front();
    /// Removes the i-th command (a waiting one whose deadline passed).
    command remove(std::size_t i);
    /// Moves every command out, in order, leaving the queue empty.
    std::vector<command> take_all();

    std::uint64_t next_seq() noexcept { return ++last_seq_; }

  private:
    std::vector<command> ring_;
    std::size_t head_ = 0;
    std::size_t count_ = 0;
    std::size_t sent_ = 0;
    std::uint64_t last_seq_ = 0;
};

inline std::string ms_text(std::chrono::milliseconds d) {
    return std::to_string(d.count()) + " ms";
}

}  // namespace uvdb::postgres::detail
