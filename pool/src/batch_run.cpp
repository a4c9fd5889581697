// How a batch runs on one connection. An independent batch issues every
// statement at once (a pipelining driver sends them together, a Sync each).
// An all-or-nothing batch is one group (connection::query_group): BEGIN (or
// SAVEPOINT inside a transaction), the statements, COMMIT (or RELEASE) —
// on PostgreSQL one pipeline Sync group, one write and one round trip, as
// pgx's batches. The group stops at its first failure, so COMMIT never runs
// after a failed statement on any driver (SQLite keeps a transaction usable
// after one and would commit the rest); the transaction left open then is
// rolled back in a second round trip.

#include "batch_run.hpp"

#include <string>
#include <utility>
#include <vector>

namespace uvdb::detail {

namespace {

using std::chrono::milliseconds;

constexpr std::string_view savepoint_name = "uvdb_batch";

/// One batch in flight. Owned by itself: deleted when it has delivered,
/// which is after every callback it handed the connection has run (the
/// driver contract runs each exactly once, closed connections included).
class batch_run {
  public:
    batch_run(connection& c, batch b, batch_wrap wrap, const query_options& opts, batch_callback cb)
        : c_(c), b_(std::move(b)), wrap_(wrap), opts_(opts), cb_(std::move(cb)) {}

    void start() {
        const std::size_t n = b_.size();
        out_.reserve(n);
        for (std::size_t i = 0; i < n; ++i) out_.emplace_back(error(errc::internal, {}));
        if (wrap_ == batch_wrap::none) {
            left_ = n;
            for (std::size_t i = 0; i < n; ++i) {
                c_.query(b_.sql(i), b_.take_args(i), opts_, [this, i](result<result_set> r) {
                    out_[i] = std::move(r);
                    if (--left_ == 0) deliver(batch_results(std::move(out_)));
                });
            }
            return;
        }
        const bool tx = wrap_ == batch_wrap::transaction;
        opener_ = tx ? std::string("BEGIN") : "SAVEPOINT " + std::string(savepoint_name);
        closer_ = tx ? std::string("COMMIT") : "RELEASE SAVEPOINT " + std::string(savepoint_name);
        left_ = n + 2;
        std::vector<connection::group_member> group;
        group.reserve(n + 2);
        group.push_back({opener_, params{}, [this](result<result_set> r) {
                             if (!r) opener_error_ = std::move(r).err();
                             answered();
                         }});
        for (std::size_t i = 0; i < n; ++i) {
            group.push_back({b_.sql(i), b_.take_args(i), [this, i](result<result_set> r) {
                                 out_[i] = std::move(r);
                                 answered();
                             }});
        }
        group.push_back({closer_, params{}, [this](result<result_set> r) {
                             closer_result_ = std::move(r);
                             answered();
                         }});
        c_.query_group(std::move(group), opts_);
    }

  private:
    void answered() {
        if (--left_ == 0) all_answered();
    }

    void all_answered() {
        if (opener_error_) {
            // Nothing was opened, so there is nothing to end; the group
            // stopped there, so none of the statements ran.
            error e = std::move(*opener_error_);
            const std::string what = wrap_ == batch_wrap::transaction ? "BEGIN" : "SAVEPOINT";
            e.with_message("the batch's " + what +
                           " failed, so none of its statements ran: " + e.message());
            return deliver(std::move(e));
        }
        failed_ = batch_results_first_failed();
        if (failed_) return rollback();
        const bool commit = wrap_ == batch_wrap::transaction;
        if (!closer_result_) return deliver(end_failure(std::move(closer_result_).err(), commit));
        if (commit && closer_result_->command_tag() == "ROLLBACK") {
            // Something outside the batch's statements failed the
            // transaction (a statement issued meanwhile on the lease).
            return deliver(error(errc::transaction_rolled_back,
                                 "the batch's COMMIT was answered with ROLLBACK: nothing of "
                                 "the batch was kept"));
        }
        deliver(batch_results(std::move(out_)));
    }

    std::optional<std::size_t> batch_results_first_failed() const noexcept {
        for (std::size_t i = 0; i < out_.size(); ++i) {
            if (!out_[i]) return i;
        }
        return std::nullopt;
    }

    /// COMMIT or RELEASE failed with `e`.
    static error end_failure(error e, bool commit) {
        const bool no_answer = e.is_fatal() || e.value() == errc::connection_lost ||
                               e.value() == errc::closed || e.value() == errc::timeout ||
                               e.value() == errc::cancelled;
        if (commit && no_answer) {
            error unknown(errc::commit_unknown,
                          "no answer to the batch's COMMIT (" + e.to_string() +
                              "): it may or may not have committed; check the database before "
                              "running it again");
            unknown.with_sqlstate(e.sqlstate())
                .with_server_text(e.server_message(), e.detail(), e.hint())
                .with_fatal(true);
            return unknown;
        }
        e.with_message(std::string(commit ? "the batch's COMMIT failed, so nothing of it was kept: "
                                          : "the batch's RELEASE SAVEPOINT failed: ") +
                       e.message());
        return e;
    }

    // A statement failed: undo the others, then report the first failure.
    void rollback() {
        if (c_.is_broken()) return deliver(statement_error());  // the server rolls back alone
        if (wrap_ == batch_wrap::transaction) {
            c_.query("ROLLBACK", params{}, opts_,
                     [this](result<result_set> /*r*/) { deliver(statement_error()); });
            return;
        }
        // Two statements issued together; the answer to the second is the
        // end. Should the rollback fail, the enclosing transaction stays
        // aborted and its next statement (or COMMIT) says so.
        const std::string to = "ROLLBACK TO SAVEPOINT " + std::string(savepoint_name);
        const std::string release = "RELEASE SAVEPOINT " + std::string(savepoint_name);
        c_.query(to, params{}, opts_, [](result<result_set> /*r*/) {});
        c_.query(release, params{}, opts_,
                 [this](result<result_set> /*r*/) { deliver(statement_error()); });
    }

    /// The first failed statement's error, saying which it was.
    error statement_error() {
        const std::size_t i = *failed_;
        error e = std::move(out_[i]).err();
        e.with_message(std::string(batch_statement_prefix) + std::to_string(i) + " of " +
                       std::to_string(out_.size()) +
                       " failed, so nothing of the batch was kept: " + e.message());
        return e;
    }

    void deliver(result<batch_results> r) {
        batch_callback cb = std::move(cb_);
        delete this;
        cb(std::move(r));
    }

    connection& c_;
    batch b_;  // holds the SQL text and parameters until every statement is answered
    batch_wrap wrap_;
    query_options opts_;
    batch_callback cb_;
    std::vector<result<result_set>> out_;
    std::size_t left_ = 0;
    std::string opener_;  // the group's first and last statements: they live as long as the run
    std::string closer_;
    std::optional<error> opener_error_;
    result<result_set> closer_result_{error(errc::internal, {})};
    std::optional<std::size_t> failed_;
};

}  // namespace

batch_wrap wrap_for(const batch& b, tx_status status) noexcept {
    if (b.mode() == batch_mode::independent) return batch_wrap::none;
    if (status == tx_status::in_transaction || status == tx_status::failed_transaction) {
        return batch_wrap::savepoint;
    }
    return batch_wrap::transaction;
}

void run_batch(connection& c, event_loop& loop, batch b, batch_wrap wrap, const query_options& opts,
               batch_callback cb) {
    if (auto ok = b.check(); !ok) {
        // Like every operation: completed from the loop, never inline.
        loop.defer([cb = std::move(cb), e = std::move(ok).err()]() mutable { cb(std::move(e)); });
        return;
    }
    (new batch_run(c, std::move(b), wrap, opts, std::move(cb)))->start();
}

}  // namespace uvdb::detail
