#pragma once
/// \file
/// `uvdb::batch`: several statements issued on one connection at once, their
/// results in order. Built here, run by `pool::batch`, `lease::batch` or
/// `transaction::batch` (also on a savepoint):
///
/// ```cpp
/// uvdb::batch b(uvdb::batch_mode::all_or_nothing);
/// b.add("INSERT INTO orders (item) VALUES ($1) RETURNING id", item);
/// b.add("UPDATE stock SET n = n - 1 WHERE item = $1", item);
/// auto r = co_await db.batch(std::move(b));        // result<batch_results>
/// const int id = co_await (*r)[0].value().one<int>();
/// ```
///
/// Every statement is handed to the connection without waiting for the
/// results of the ones before it, so a driver that pipelines (PostgreSQL)
/// sends them together; other drivers run them one after another. See
/// docs/API.md, "Batches", for what an error does to the statements after it
/// in each mode and what is committed.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <uvdb/detail/callback_awaitable.hpp>
#include <uvdb/error.hpp>
#include <uvdb/function.hpp>
#include <uvdb/param.hpp>
#include <uvdb/result.hpp>
#include <uvdb/result_set.hpp>
#include <vector>

namespace uvdb {

/// What one failing statement does to the rest of its batch.
enum class batch_mode : std::uint8_t {
    /// Each statement has its own outcome, as if issued alone: one failing
    /// touches no other (outside a transaction; see docs/API.md), and each
    /// succeeding one is kept (autocommit).
    independent,
    /// One transaction: the first failing statement fails the whole batch
    /// and nothing of it is kept. Outside a transaction the batch runs
    /// between BEGIN and COMMIT; inside one, between SAVEPOINT and RELEASE.
    /// Sent as one group (connection::query_group): on PostgreSQL one
    /// pipeline Sync group, one round trip; the statements after a failed
    /// one are not run.
    all_or_nothing,
};

/// A list of statements with their parameters, to run as one batch.
/// Move-only value: built on any thread, run on the loop thread.
class batch {
  public:
    /// The most statements one batch takes: far beyond what pays off (the
    /// gain of sending together flattens after a few hundred), and low enough
    /// that a runaway loop adding statements fails clearly instead of
    /// queueing millions of them on one connection.
    static constexpr std::size_t max_statements = 10'000;
    /// The most parameters one statement takes (PostgreSQL's protocol limit).
    static constexpr std::size_t max_params = 65'535;

    explicit batch(batch_mode mode = batch_mode::independent) noexcept : mode_(mode) {}
    batch(batch&&) noexcept = default;
    batch& operator=(batch&&) noexcept = default;
    batch(const batch&) = delete;
    batch& operator=(const batch&) = delete;
    ~batch() = default;

    /// Appends a statement, its parameters given as values ($1 is the
    /// first; one argument of type uvdb::params is the whole list). The SQL
    /// text is copied. Misuse (too many statements or parameters) is not
    /// reported here: the batch then fails as a whole with errc::bad_input
    /// when it is run, and nothing of it is sent.
    template <class... A>
    batch& add(std::string_view sql, A&&... args) {
        return add_params(sql, detail::bind_params(std::forward<A>(args)...));
    }

    /// Room for `statements` statements and `sql_bytes` bytes of SQL text.
    void reserve(std::size_t statements, std::size_t sql_bytes = 0);

    std::size_t size() const noexcept { return entries_.size(); }
    bool empty() const noexcept { return entries_.empty(); }
    batch_mode mode() const noexcept { return mode_; }
    /// The SQL text of statement `i` (a view into the batch).
    std::string_view sql(std::size_t i) const noexcept {
        return std::string_view(text_).substr(entries_[i].offset, entries_[i].length);
    }
    /// The parameters of statement `i`.
    const params& args(std::size_t i) const noexcept { return entries_[i].args; }
    /// Moves the parameters of statement `i` out (running the batch does).
    params take_args(std::size_t i) noexcept { return std::move(entries_[i].args); }

    /// errc::bad_input saying why when the batch cannot run (empty, over
    /// max_statements, a statement over max_params); success otherwise.
    result<void> check() const;

  private:
    batch& add_params(std::string_view sql, params p);

    struct entry {
        std::size_t offset;
        std::size_t length;
        params args;
    };
    // All statements' SQL in one buffer: one allocation for a batch of short
    // statements instead of one per statement.
    std::string text_;
    std::vector<entry> entries_;
    batch_mode mode_;
    std::optional<error> bad_;  // the first misuse add() saw
};

/// The outcome of each statement of a batch, in the order they were added.
class batch_results {
  public:
    batch_results() = default;
    explicit batch_results(std::vector<result<result_set>> results) noexcept
        : results_(std::move(results)) {}

    std::size_t size() const noexcept { return results_.size(); }
    /// Statement `i`'s result set, or its error.
    result<result_set>& operator[](std::size_t i) noexcept { return results_[i]; }
    const result<result_set>& operator[](std::size_t i) const noexcept { return results_[i]; }
    auto begin() noexcept { return results_.begin(); }
    auto end() noexcept { return results_.end(); }
    auto begin() const noexcept { return results_.begin(); }
    auto end() const noexcept { return results_.end(); }

    /// Whether every statement succeeded.
    bool ok() const noexcept { return !first_failed(); }
    /// The index of the first statement that failed, if any did.
    std::optional<std::size_t> first_failed() const noexcept;

  private:
    std::vector<result<result_set>> results_;
};

/// The statement an all-or-nothing batch's error names ("batch statement #3
/// of 10 failed …": 3), or nullopt when the error is not a statement's
/// (BEGIN, COMMIT, bad input, no connection).
std::optional<std::size_t> batch_statement_index(const error& e) noexcept;

using batch_callback = unique_function<void(result<batch_results>)>;

}  // namespace uvdb
