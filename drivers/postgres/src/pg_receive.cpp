// The receive step (see pg_receive.hpp): how each kind of result libpq
// reports changes the command in flight, and what the connection does next.

#include "pg_receive.hpp"

#include <cstring>

#include "pg_statement_cache.hpp"

namespace uvdb::postgres::detail {

namespace {

/// Records the first failure of `c`: the first error is the one its caller sees.
void fail_once(command& c, error e) {
    if (c.failed) return;
    c.failed = true;
    c.err = std::move(e);
}

/// A COPY's error says where in the data it happened: the server puts the
/// line (and column) in its CONTEXT ("COPY t, line 3, column n: \"x\"").
void add_copy_context(error& e, const PGresult* r) {
    const char* ctx = PQresultErrorField(r, PG_DIAG_CONTEXT);
    if (ctx == nullptr || *ctx == '\0') return;
    std::string_view where(ctx);
    where = where.substr(0, where.find('\n'));
    if (where.size() > 200) where = where.substr(0, 200);  // the context quotes the row
    e.with_message(e.message() + " at " + std::string(where));
}

/// Why a statement was cancelled, as the caller should hear it: the
/// statement_timeout set for it alone is its own timeout (not the server's
/// setting); an administrator's cancel stays one.
cancel_reason cancel_cause(const command& c, const PGresult* r) {
    if (c.cancel != cancel_reason::none || !c.server_timeout) return c.cancel;
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char* text = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const bool timed_out = state != nullptr && std::strcmp(state, "57014") == 0 &&
                           text != nullptr && std::strstr(text, "statement timeout") != nullptr;
    return timed_out ? cancel_reason::timeout : cancel_reason::none;
}

/// One result of the caller's own statement.
receive_step absorb(command& c, pg_result_ptr r, bool connection_bad, const endpoint& ep) {
    receive_step step;
    const ExecStatusType st = PQresultStatus(r.get());
    switch (st) {
        case PGRES_TUPLES_OK:
        case PGRES_COMMAND_OK:
        case PGRES_SINGLE_TUPLE:
        case PGRES_EMPTY_QUERY:
            // DISCARD ALL and DEALLOCATE ALL drop every prepared statement on the
            // server, ours included.
            step.drop_statement_cache =
                st == PGRES_COMMAND_OK && drops_prepared_statements(PQcmdStatus(r.get()));
            if (c.failed) break;  // the first error wins; later results are dropped
            if (c.kind == command_kind::execute) {
                if (st != PGRES_EMPTY_QUERY)
                    c.results.emplace_back(std::make_unique<pg_result>(std::move(r)));
            } else {
                // A statement has one result; should more come, the last wins.
                c.last = std::move(r);
            }
            break;
        case PGRES_COPY_IN:
            if (c.kind == command_kind::copy_in && !c.failed) {
                step.next = next_action::copy_in_opened;
                break;
            }
            fail_once(
                c, error(errc::bad_input,
                         "COPY FROM STDIN is not supported by uvdb; use INSERT with parameters"));
            step.next = next_action::end_copy_in;
            break;
        case PGRES_COPY_OUT:
            fail_once(
                c, error(errc::bad_input, "COPY TO STDOUT is not supported by uvdb; use SELECT"));
            c.copy_out = true;  // its rows are read and dropped before the next result
            break;
        case PGRES_FATAL_ERROR:
        case PGRES_BAD_RESPONSE:
        case PGRES_NONFATAL_ERROR:
            if (!c.failed) {
                fail_once(c, statement_error(r.get(), connection_bad, cancel_cause(c, r.get()),
                                             c.timeout, ep));
                step.breaks_connection = c.err.is_fatal();
                if (c.kind == command_kind::copy_in) add_copy_context(c.err, r.get());
            }
            c.last.reset();
            c.results.clear();
            break;
        case PGRES_PIPELINE_ABORTED:
            // An earlier statement of its Sync group failed: its own prefix
            // (whose error was the answer already) or, in a group, an
            // earlier member.
            fail_once(c, error(errc::not_run,
                               "the statement was not run: an earlier statement of its group "
                               "failed first"));
            break;
        default:  // COPY_BOTH (replication) and pipeline states: not ours to handle
            if (!c.failed) {
                fail_once(c, error(errc::protocol_error,
                                   "the statement switched the connection into a mode "
                                   "uvdb does not support (replication COPY or pipeline)")
                                 .with_fatal(true));
                step.breaks_connection = true;
            }
            break;
    }
    return step;
}

/// One result of a statement sent in pipeline mode (see command::part).
receive_step absorb_pipelined(command& c, pg_result_ptr r, bool connection_bad,
                              const endpoint& ep) {
    if (c.part == c.prefix) return absorb(c, std::move(r), connection_bad, ep);  // the caller's
    const ExecStatusType st = PQresultStatus(r.get());
    const bool error_result = st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE;
    if (c.part < c.prefix) {
        if (st == PGRES_PIPELINE_ABORTED) {
            // Skipped after an earlier failure in its group: a Parse skipped
            // so prepared nothing, and the cache must not keep its name.
            receive_step step = absorb(c, std::move(r), connection_bad, ep);
            step.forget_statement = c.parse_in_prefix && c.part + 1 == c.prefix;
            return step;
        }
        if (!error_result) return {};  // the timeout's SET and the Parse succeeded
        // The Parse failed (a syntax error, a missing table…): nothing was
        // prepared, and the caller learns why from the server's own error.
        receive_step step = absorb(c, std::move(r), connection_bad, ep);
        step.forget_statement = c.parse_in_prefix && c.part + 1 == c.prefix;
        return step;
    }
    if (c.part <= c.prefix + c.suffix && error_result) {
        // The timeout's restore shares the statement's transaction: when it
        // fails the statement is undone too, so that is the caller's error.
        return absorb(c, std::move(r), connection_bad, ep);
    }
    return {};  // the rest of the group after a failure, and a DEALLOCATE's outcome either way
}

}  // namespace

receive_step receive(command& c, pg_result_ptr r, bool connection_bad, const endpoint& ep) {
    if (c.syncs_left == 0 && !c.in_group) {
        if (!r) return {next_action::command_done};
        return absorb(c, std::move(r), connection_bad, ep);
    }
    // Pipeline mode: a null result ends one statement's results, and the
    // command ends with its last Sync — or, a group member before the last
    // (no Sync of its own), with the results of its last statement.
    if (!r) {
        if (connection_bad) {
            c.syncs_left = 0;
            return {next_action::connection_lost};
        }
        ++c.part;
        if (c.syncs_left == 0 && c.part > c.prefix + c.suffix) return {next_action::command_done};
        return {};
    }
    if (PQresultStatus(r.get()) != PGRES_PIPELINE_SYNC)
        return absorb_pipelined(c, std::move(r), connection_bad, ep);
    if (--c.syncs_left != 0) return {};
    return {next_action::leave_pipeline};
}

result<result_set> query_answer(command& c) {
    if (!c.last) return result_set();
    return result_set(std::make_unique<pg_result>(std::move(c.last)));
}

result<std::vector<result_set>> script_answer(command& c) { return std::move(c.results); }

}  // namespace uvdb::postgres::detail
