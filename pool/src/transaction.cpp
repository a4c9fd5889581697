// uvdb::transaction and uvdb::nested_transaction: statements on the transaction's
// lease, COMMIT/ROLLBACK and how their outcome is classified, savepoints as a
// stack of names on the one connection.

#include <string>
#include <utility>
#include <uvdb/transaction.hpp>

#include "pool_core.hpp"
#include "transaction_state.hpp"

namespace uvdb {

using detail::tx_state;
using phase = tx_state::phase;

namespace {

std::string savepoint_name(std::uint32_t id) { return "sp_" + std::to_string(id); }

/// Gives the lease back: discarded when `cause` broke the connection,
/// otherwise returned (and reset if a transaction is still open on it).
void give_back(tx_state& st, const error* cause) {
    if (cause != nullptr && cause->is_fatal()) {
        st.conn.invalidate(*cause);
    } else {
        st.conn.release();
    }
}

/// COMMIT failed with `e`. When the request may have reached the server and
/// no answer came back, nobody knows whether the transaction committed:
/// that is errc::commit_unknown, never retried. A server error is an answer:
/// nothing was committed.
error classify_commit_failure(error e) {
    const bool no_answer = e.is_fatal() || e.value() == errc::connection_lost ||
                           e.value() == errc::closed || e.value() == errc::timeout ||
                           e.value() == errc::cancelled;
    if (!no_answer) return e;
    const std::string cause = e.to_string();
    error unknown(errc::commit_unknown,
                  "no answer to COMMIT (" + cause +
                      "): the transaction may or may not have committed; check the database "
                      "before running it again");
    unknown.with_sqlstate(e.sqlstate())
        .with_server_text(e.server_message(), e.detail(), e.hint())
        .with_fatal(true);
    return unknown;
}

}  // namespace

// ---------------------------------------------------------------- tx_scope

tx_scope::tx_scope(std::shared_ptr<detail::tx_state> st, std::uint32_t depth,
                   std::uint32_t id) noexcept
    : st_(std::move(st)), depth_(depth), id_(id) {}

bool tx_scope::active() const noexcept {
    if (!st_ || st_->ph != phase::open) return false;
    return depth_ == 0 || st_->savepoint_active(depth_, id_);
}

std::optional<error> tx_scope::refuse(std::string_view what) const {
    std::string op(what);
    if (!st_) {
        return error(errc::bad_input, op + " on an empty transaction (moved from, or never begun)");
    }
    if (st_->ph == phase::ending) {
        return error(errc::bad_input,
                     op + " refused: the transaction is ending (COMMIT or ROLLBACK in flight)");
    }
    if (st_->ph == phase::ended) {
        return error(errc::bad_input, op + " refused: the transaction was already " +
                                          st_->ended_how + "; begin a new one");
    }
    if (depth_ != 0 && !st_->savepoint_active(depth_, id_)) {
        return error(errc::bad_input, op + " refused: savepoint " + savepoint_name(id_) +
                                          " was already released or rolled back");
    }
    return std::nullopt;
}

template <class T>
void tx_scope::fail_later(unique_function<void(result<T>)> cb, error e) const {
    // A refusal completes like every operation: from the loop, never inline.
    // An empty scope has no loop: then the caller's own call stack is all
    // there is, and the callback runs at once.
    if (!st_) {
        cb(std::move(e));
        return;
    }
    st_->loop->defer([cb = std::move(cb), e = std::move(e)]() mutable { cb(std::move(e)); });
}

void tx_scope::run_query(std::string_view sql, params p, query_callback cb,
                         const query_options& opts) {
    if (auto e = refuse("query")) return fail_later(std::move(cb), std::move(*e));
    detail::pool_core::statements_of(st_->conn).query(sql, std::move(p), opts, std::move(cb));
}

void tx_scope::execute(const query_options& opts, std::string_view script, script_callback cb) {
    if (auto e = refuse("execute")) return fail_later(std::move(cb), std::move(*e));
    detail::pool_core::statements_of(st_->conn).execute(script, opts, std::move(cb));
}

void tx_scope::savepoint(savepoint_callback cb) {
    if (auto e = refuse("savepoint")) return fail_later(std::move(cb), std::move(*e));
    const std::uint32_t id = ++st_->last_savepoint;
    detail::pool_core::statements_of(st_->conn).query(
        "SAVEPOINT " + savepoint_name(id),
        [st = st_, id, cb = std::move(cb)](result<result_set> r) mutable {
            if (!r) return cb(std::move(r).err());
            if (st->ph != phase::open) {
                // The transaction ended while SAVEPOINT ran: a
                // savepoint of it would refuse everything anyway.
                return cb(error(errc::bad_input,
                                "the transaction ended while its savepoint was "
                                "being opened"));
            }
            // Pushed when the server confirmed it: statements run
            // in order, so the stack follows the server's.
            st->stack.push_back(id);
            const auto depth = static_cast<std::uint32_t>(st->stack.size());
            cb(uvdb::nested_transaction(std::move(st), depth, id));
        });
}

// ---------------------------------------------------------------- COPY and streams

// Streams and COPY go to the connection itself, as lease::stream and
// lease::copy_in do: the statement gate (hooks, metrics) covers query and
// execute only.

std::shared_ptr<void> tx_scope::hold_for_io() const {
    return std::make_shared<detail::tx_io_hold>(st_);
}

row_stream tx_scope::open_stream(const stream_options& opts, std::string_view sql, params p) {
    if (auto e = refuse("stream")) {
        return row_stream(std::make_unique<detail::failed_stream_source<result_set>>(*e));
    }
    auto hold = hold_for_io();
    return row_stream(st_->conn.get().open_stream(sql, std::move(p), opts), std::move(hold));
}

copy_stream tx_scope::copy_out(std::string_view sql, const stream_options& opts) {
    if (auto e = refuse("copy_out")) {
        return copy_stream(std::make_unique<detail::failed_stream_source<std::string>>(*e));
    }
    auto hold = hold_for_io();
    return copy_stream(st_->conn.get().open_copy_out(sql, opts), std::move(hold));
}

void tx_scope::copy_in(const query_options& opts, std::string_view sql, copy_writer_callback cb) {
    if (auto e = refuse("copy_in")) return fail_later(std::move(cb), std::move(*e));
    // Held from the start: COMMIT while the COPY is being opened is refused too.
    std::shared_ptr<void> hold = hold_for_io();
    st_->conn.get().start_copy_in(sql, opts,
                                  [hold = std::move(hold), cb = std::move(cb)](
                                      result<std::unique_ptr<copy_in_sink>> sink) mutable {
                                      if (!sink) {
                                          hold.reset();
                                          return cb(std::move(sink).err());
                                      }
                                      cb(copy_writer(std::move(*sink), std::move(hold)));
                                  });
}

// ---------------------------------------------------------------- transaction

transaction::transaction(lease l, event_loop& loop)
    : tx_scope(std::make_shared<tx_state>(std::move(l), loop), 0, 0) {}

transaction& transaction::operator=(transaction&& other) noexcept {
    if (this != &other) {
        transaction dropped(std::move(*this));  // its destructor rolls back
        tx_scope::operator=(std::move(other));
    }
    return *this;
}

transaction::~transaction() {
    if (!st_ || st_->ph != phase::open) return;  // ended, or COMMIT/ROLLBACK owns it now
    st_->ph = phase::ended;
    st_->ended_how = "dropped without commit (rolled back)";
    st_->stack.clear();
    if (st_->open_io > 0) {
        // A writer or stream still uses the connection: it goes back (and
        // is rolled back) once the last of them is done (tx_io_hold).
        st_->release_when_idle = true;
        return;
    }
    // The reset on return rolls back: no round trip anyone has to await.
    st_->conn.release();
}

connection* transaction::operator->() const noexcept {
    return active() ? &st_->conn.get() : nullptr;
}

void transaction::commit(done_callback cb) { end("COMMIT", std::move(cb)); }
void transaction::rollback(done_callback cb) { end("ROLLBACK", std::move(cb)); }

void transaction::end(std::string_view statement, done_callback cb) {
    if (auto e = refuse(statement)) return fail_later(std::move(cb), std::move(*e));
    if (st_->open_io > 0) {
        // The transaction stays open: the caller finishes the writer or
        // closes the stream, then ends it.
        return fail_later(
            std::move(cb),
            error(errc::bad_input, std::string(statement) +
                                       " refused: a COPY writer or stream of this transaction is "
                                       "still open (finish or abort the writer, read the stream "
                                       "to its end or close it, then end the transaction)"));
    }
    const bool is_commit = statement == "COMMIT";
    st_->ph = phase::ending;
    st_->stack.clear();
    connection& c = detail::pool_core::statements_of(st_->conn);
    if (is_commit && c.is_broken()) {
        // COMMIT was never sent, so the server certainly rolled back.
        error lost(errc::connection_lost,
                   "the connection broke before COMMIT was sent: the transaction did not "
                   "commit");
        st_->ph = phase::ended;
        st_->ended_how = "lost with its connection";
        give_back(*st_, &lost);
        return fail_later(std::move(cb), std::move(lost));
    }
    c.query(statement, [st = st_, is_commit, cb = std::move(cb)](result<result_set> r) mutable {
        st->ph = phase::ended;
        if (!r) {
            error e = is_commit ? classify_commit_failure(std::move(r).err()) : std::move(r).err();
            st->ended_how = is_commit ? "ended by a failed COMMIT" : "rolled back";
            give_back(*st, &e);
            return cb(std::move(e));
        }
        if (is_commit && r->command_tag() == "ROLLBACK") {
            // PostgreSQL answers COMMIT of a failed transaction with ROLLBACK
            // and no error: reporting success would hide lost writes.
            st->ended_how = "rolled back by COMMIT";
            give_back(*st, nullptr);
            return cb(error(errc::transaction_rolled_back,
                            "COMMIT was answered with ROLLBACK: a statement of the transaction "
                            "had failed, so nothing was committed"));
        }
        st->ended_how = is_commit ? "committed" : "rolled back";
        give_back(*st, nullptr);
        cb({});
    });
}

// ---------------------------------------------------------------- savepoint

nested_transaction& nested_transaction::operator=(nested_transaction&& other) noexcept {
    if (this != &other) {
        drop();
        tx_scope::operator=(std::move(other));
    }
    return *this;
}

nested_transaction::~nested_transaction() { drop(); }

std::string nested_transaction::name() const { return savepoint_name(id_); }

void nested_transaction::drop() noexcept {
    if (!st_ || !st_->savepoint_active(depth_, id_)) return;
    st_->stack.resize(depth_ - 1);
    const std::string n = savepoint_name(id_);
    // Queued, not awaited: the connection runs it before the transaction's
    // next statement. Its failure shows in that statement or in COMMIT.
    detail::pool_core::statements_of(st_->conn).execute(
        "ROLLBACK TO SAVEPOINT " + n + "; RELEASE SAVEPOINT " + n,
        [](result<std::vector<result_set>>) {});
}

void nested_transaction::commit(done_callback cb) {
    if (auto e = refuse("RELEASE SAVEPOINT")) return fail_later(std::move(cb), std::move(*e));
    st_->stack.resize(depth_ - 1);  // the ones opened inside it go with it
    detail::pool_core::statements_of(st_->conn).query(
        "RELEASE SAVEPOINT " + name(), [cb = std::move(cb)](result<result_set> r) mutable {
            if (!r) return cb(std::move(r).err());
            cb({});
        });
}

void nested_transaction::rollback(done_callback cb) {
    if (auto e = refuse("ROLLBACK TO SAVEPOINT")) return fail_later(std::move(cb), std::move(*e));
    st_->stack.resize(depth_ - 1);
    const std::string n = name();
    // One round trip: the simple protocol takes both statements at once.
    detail::pool_core::statements_of(st_->conn).execute(
        "ROLLBACK TO SAVEPOINT " + n + "; RELEASE SAVEPOINT " + n,
        [cb = std::move(cb)](result<std::vector<result_set>> r) mutable {
            if (!r) return cb(std::move(r).err());
            cb({});
        });
}

}  // namespace uvdb
