// pool_options::transaction_pooler: reading a statement for what cannot work
// behind a transaction pooler, and the pool's refusals and warnings. The
// rules and their reasons are in transaction_pooler_guard.hpp and
// docs/SCALING.md ("PgBouncer and RDS Proxy").

#include "transaction_pooler_guard.hpp"

#include <spdlog/logger.h>

#include <cstddef>
#include <uvdb/log.hpp>

namespace uvdb::detail {

namespace {

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool ident_start(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u == '_' || u >= 0x80;
}
bool ident_char(char c) noexcept { return ident_start(c) || is_digit(c) || c == '$'; }

/// `word` is `upper` (ASCII letters in upper case), in any case.
bool is_word(std::string_view word, std::string_view upper) noexcept {
    if (word.size() != upper.size()) return false;
    for (std::size_t i = 0; i < word.size(); ++i) {
        char c = word[i];
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        if (c != upper[i]) return false;
    }
    return true;
}

/// The functions that take a session-level advisory lock (the _xact_ ones
/// end with the transaction; the unlock functions are harmless).
bool session_lock_function(std::string_view w) noexcept {
    return is_word(w, "PG_ADVISORY_LOCK") || is_word(w, "PG_ADVISORY_LOCK_SHARED") ||
           is_word(w, "PG_TRY_ADVISORY_LOCK") || is_word(w, "PG_TRY_ADVISORY_LOCK_SHARED");
}

/// PostgreSQL's lexer, only as far as telling words from what hides them:
/// comments (nested /* */), string literals (E'' with backslash escapes),
/// quoted identifiers and dollar-quoted bodies are skipped whole.
class sql_reader {
  public:
    enum class kind : std::uint8_t { word, semicolon, other, end };
    struct token {
        kind k;
        std::string_view text;
    };

    explicit sql_reader(std::string_view sql) noexcept : s_(sql) {}

    token next() noexcept {
        skip_blanks();
        if (i_ >= s_.size()) return {kind::end, {}};
        const std::size_t start = i_;
        const char c = s_[i_];
        if (c == ';') {
            ++i_;
            return {kind::semicolon, s_.substr(start, 1)};
        }
        if (ident_start(c)) {
            while (i_ < s_.size() && ident_char(s_[i_])) ++i_;
            const std::string_view w = s_.substr(start, i_ - start);
            if ((w == "E" || w == "e") && i_ < s_.size() && s_[i_] == '\'') {
                skip_string(true);
                return {kind::other, s_.substr(start, i_ - start)};
            }
            return {kind::word, w};
        }
        if (c == '\'') {
            skip_string(false);
        } else if (c == '"') {
            skip_quoted_identifier();
        } else if (c == '$') {
            skip_dollar();
        } else if (is_digit(c)) {
            // 1e5, 0x1F, 1.5: never a word.
            while (i_ < s_.size() && (ident_char(s_[i_]) || s_[i_] == '.')) ++i_;
        } else {
            ++i_;
        }
        return {kind::other, s_.substr(start, i_ - start)};
    }

  private:
    bool at(std::size_t k, char a, char b) const noexcept {
        return k + 1 < s_.size() && s_[k] == a && s_[k + 1] == b;
    }

    void skip_blanks() noexcept {
        while (i_ < s_.size()) {
            if (is_space(s_[i_])) {
                ++i_;
            } else if (at(i_, '-', '-')) {
                i_ = s_.find_first_of("\r\n", i_ + 2);
                if (i_ == std::string_view::npos) i_ = s_.size();
            } else if (at(i_, '/', '*')) {
                int depth = 1;
                for (i_ += 2; i_ < s_.size() && depth > 0;) {
                    if (at(i_, '/', '*')) {
                        ++depth;
                        i_ += 2;
                    } else if (at(i_, '*', '/')) {
                        --depth;
                        i_ += 2;
                    } else {
                        ++i_;
                    }
                }
            } else {
                return;
            }
        }
    }

    // At the opening quote. '' is a quote inside the literal; with
    // backslash escapes (E'…') so is \'.
    void skip_string(bool backslash_escapes) noexcept {
        for (++i_; i_ < s_.size(); ++i_) {
            if (backslash_escapes && s_[i_] == '\\') {
                ++i_;
            } else if (s_[i_] == '\'') {
                if (i_ + 1 < s_.size() && s_[i_ + 1] == '\'') {
                    ++i_;
                } else {
                    ++i_;
                    return;
                }
            }
        }
        i_ = s_.size();
    }

    void skip_quoted_identifier() noexcept {
        for (++i_; i_ < s_.size(); ++i_) {
            if (s_[i_] == '"') {
                if (i_ + 1 < s_.size() && s_[i_ + 1] == '"') {
                    ++i_;
                } else {
                    ++i_;
                    return;
                }
            }
        }
        i_ = s_.size();
    }

    // At a '$': a parameter ($1), a dollar-quoted body ($$…$$, $tag$…$tag$)
    // or a lone dollar sign.
    void skip_dollar() noexcept {
        std::size_t j = i_ + 1;
        if (j < s_.size() && is_digit(s_[j])) {
            while (j < s_.size() && is_digit(s_[j])) ++j;
            i_ = j;
            return;
        }
        if (j < s_.size() && ident_start(s_[j])) {
            while (j < s_.size() && ident_char(s_[j]) && s_[j] != '$') ++j;
        }
        if (j >= s_.size() || s_[j] != '$') {
            ++i_;
            return;
        }
        const std::string_view tag = s_.substr(i_, j - i_ + 1);
        const std::size_t close = s_.find(tag, j + 1);
        i_ = close == std::string_view::npos ? s_.size() : close + tag.size();
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

const char* kind_name(session_use u) noexcept {
    switch (u) {
        case session_use::listen:
            return "listen";
        case session_use::session_set:
            return "session_set";
        case session_use::advisory_lock:
            return "advisory_lock";
        case session_use::prepared:
            return "prepared";
        case session_use::none:
            break;
    }
    return "none";
}

}  // namespace

pooler_finding inspect_for_transaction_pooler(std::string_view sql, bool in_transaction) noexcept {
    using k = sql_reader::kind;
    sql_reader rd(sql);
    pooler_finding warn;
    bool in_tx = in_transaction;
    bool at_start = true;
    for (sql_reader::token t = rd.next(); t.k != k::end; t = rd.next()) {
        if (t.k == k::semicolon) {
            at_start = true;
            continue;
        }
        const bool first = at_start;
        at_start = false;
        if (t.k != k::word) continue;
        if (first) {
            const std::string_view w = t.text;
            if (is_word(w, "LISTEN")) return {session_use::listen, true};
            if (is_word(w, "SET")) {
                // SET LOCAL ends with the transaction; SET TRANSACTION and SET
                // CONSTRAINTS apply to the current one only. Anything else
                // (SET x, SET SESSION x, SET ROLE, SET SESSION
                // CHARACTERISTICS…) stays with the server session.
                const sql_reader::token second = sql_reader(rd).next();
                if (second.k == k::word &&
                    (is_word(second.text, "LOCAL") || is_word(second.text, "TRANSACTION") ||
                     is_word(second.text, "CONSTRAINTS"))) {
                    continue;
                }
                return {session_use::session_set, true};
            }
            if (is_word(w, "PREPARE") || is_word(w, "EXECUTE") || is_word(w, "DEALLOCATE")) {
                if (!in_tx) return {session_use::prepared, true};
                if (warn.use == session_use::none) warn = {session_use::prepared, false};
                continue;
            }
            if (is_word(w, "BEGIN") || is_word(w, "START")) {
                in_tx = true;
            } else if (is_word(w, "COMMIT") || is_word(w, "END") || is_word(w, "ABORT")) {
                in_tx = false;
            } else if (is_word(w, "ROLLBACK")) {
                // ROLLBACK TO SAVEPOINT stays in the transaction.
                const sql_reader::token second = sql_reader(rd).next();
                if (!(second.k == k::word && is_word(second.text, "TO"))) in_tx = false;
            }
            continue;
        }
        if (session_lock_function(t.text)) {
            if (!in_tx) return {session_use::advisory_lock, true};
            if (warn.use == session_use::none) warn = {session_use::advisory_lock, false};
        }
    }
    return warn;
}

error transaction_pooler_refusal(session_use use) {
    const char* why = "";
    switch (use) {
        case session_use::listen:
            why =
                "LISTEN refused: the pool is set up for a transaction pooler (transaction_pooler, "
                "the pgbouncer preset), where the LISTEN stays with a server session that other "
                "clients use between this client's transactions, so notifications would not reach "
                "it; use uvdb::listener on a connection made directly to the database server";
            break;
        case session_use::session_set:
            why =
                "session-level SET refused: the pool is set up for a transaction pooler "
                "(transaction_pooler, the pgbouncer preset), where the setting would stay with a "
                "server session that other clients get next, while this client's next "
                "transaction may run on another session without it (a plain SET survives COMMIT "
                "too); use SET LOCAL inside a transaction, or set it for the role (ALTER ROLE … "
                "SET) or in the pooler's configuration";
            break;
        case session_use::advisory_lock:
            why =
                "session-level advisory lock refused outside a transaction: the pool is set up "
                "for a transaction pooler (transaction_pooler, the pgbouncer preset), where the "
                "lock would stay held by a server session that other clients get next, and "
                "pg_advisory_unlock would run on another session; use pg_advisory_xact_lock "
                "inside a transaction (released when it ends)";
            break;
        case session_use::prepared:
            why =
                "PREPARE/EXECUTE/DEALLOCATE refused outside a transaction: the pool is set up for "
                "a transaction pooler (transaction_pooler, the pgbouncer preset), where a prepared "
                "statement stays with one server session and the next statement may run on "
                "another; send the statement with parameters instead (uvdb sends every statement "
                "unnamed under the preset), or PREPARE, EXECUTE and DEALLOCATE inside one "
                "transaction";
            break;
        case session_use::none:
            break;
    }
    return error(errc::bad_input, why);
}

std::optional<error> transaction_pooler_guard::check(std::string_view sql, bool in_transaction,
                                                     std::string_view pool_name) {
    const pooler_finding f = inspect_for_transaction_pooler(sql, in_transaction);
    if (f.use == session_use::none) return std::nullopt;
    if (f.refuse) return transaction_pooler_refusal(f.use);
    bool& warned = warned_[static_cast<std::size_t>(f.use)];
    if (warned) return std::nullopt;
    warned = true;
    try {
        if (f.use == session_use::advisory_lock) {
            logger().warn(
                "pool '{}': a session-level advisory lock (pg_advisory_lock…) inside a "
                "transaction behind a transaction pooler (transaction_pooler): unlock it before "
                "the transaction ends, or it stays held by a server session other clients get "
                "next; pg_advisory_xact_lock is released at the end by itself (warned once per "
                "pool, kind={})",
                pool_name, kind_name(f.use));
        } else {
            logger().warn(
                "pool '{}': PREPARE/EXECUTE/DEALLOCATE inside a transaction behind a transaction "
                "pooler (transaction_pooler): DEALLOCATE the statement before the transaction "
                "ends, or it stays on a server session other clients get next (warned once per "
                "pool, kind={})",
                pool_name, kind_name(f.use));
        }
    } catch (...) {  // a failed log line never fails the statement
    }
    return std::nullopt;
}

}  // namespace uvdb::detail
