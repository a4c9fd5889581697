// Statement execution on the threadpool: prepare, bind, step, copy the rows
// into an owned result (SQLite's column pointers die at the next step, so
// the result must own its cells), finalize.

#include "sqlite_exec.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <memory>
#include <optional>
#include <thread>
#include <uvdb/sqlite/driver.hpp>

#include "sqlite_error.hpp"

namespace uvdb::sqlite::detail {
namespace {

struct stmt_deleter {
    void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_deleter>;

error last_error(sqlite3* db, std::string_view what) {
    return statement_error(sqlite3_extended_errcode(db), sqlite3_errmsg(db), what);
}

/// Our busy handler: SQLite's own (sqlite3_busy_timeout) sleeps without
/// looking at sqlite3_interrupt, so a cancel or deadline would wait for the
/// whole busy_timeout. This one sleeps in short steps and gives up at once
/// when the loop asked for an interrupt.
int on_busy(void* arg, int attempts) {
    auto& st = *static_cast<db_state*>(arg);
    if (st.interrupted.load(std::memory_order_acquire)) return 0;
    const auto now = std::chrono::steady_clock::now();
    if (attempts == 0) st.busy_started = now;
    const auto waited = now - st.busy_started;
    if (waited >= st.busy_timeout) return 0;
    // Short first (locks are usually held briefly), then at most 10 ms so an
    // interrupt is noticed quickly.
    auto step = std::chrono::milliseconds(attempts < 4 ? 1 : attempts < 10 ? 5 : 10);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(st.busy_timeout - waited);
    std::this_thread::sleep_for(std::min(step, std::max(left, std::chrono::milliseconds(1))));
    return 1;
}

/// Called every few hundred virtual-machine steps. sqlite3_interrupt() alone
/// can be lost: SQLite clears its flag when a statement starts while none is
/// active, so an interrupt that lands while the job still waits for a pool
/// thread, or between two statements of a script, would be forgotten. Our
/// flag is only cleared by the loop before it starts the next job.
int on_progress(void* arg) {
    return static_cast<db_state*>(arg)->interrupted.load(std::memory_order_acquire) ? 1 : 0;
}

std::string upper_ascii(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

/// The kind of a declared column type, by SQLite's affinity rules
/// (https://sqlite.org/datatype3.html §3.1), with BOOL as boolean.
std::optional<column_kind> declared_kind(const char* decl) {
    if (decl == nullptr || *decl == '\0') return std::nullopt;
    const std::string t = upper_ascii(decl);
    auto has = [&](const char* s) { return t.find(s) != std::string::npos; };
    if (has("BOOL")) return column_kind::boolean;
    if (has("INT")) return column_kind::int64;
    if (has("CHAR") || has("CLOB") || has("TEXT")) return column_kind::text;
    if (has("BLOB")) return column_kind::binary;
    if (has("REAL") || has("FLOA") || has("DOUB")) return column_kind::float64;
    return column_kind::numeric;
}

column_kind storage_kind(int type) noexcept {
    switch (type) {
        case SQLITE_INTEGER:
            return column_kind::int64;
        case SQLITE_FLOAT:
            return column_kind::float64;
        case SQLITE_TEXT:
            return column_kind::text;
        case SQLITE_BLOB:
            return column_kind::binary;
        default:
            return column_kind::other;
    }
}

const char* storage_name(int type) noexcept {
    switch (type) {
        case SQLITE_INTEGER:
            return "integer";
        case SQLITE_FLOAT:
            return "real";
        case SQLITE_TEXT:
            return "text";
        case SQLITE_BLOB:
            return "blob";
        default:
            return "null";
    }
}

std::string double_text(double d) {
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    return ec == std::errc() ? std::string(buf, end) : std::to_string(d);
}

std::optional<std::string> cell(sqlite3_stmt* s, int col) {
    switch (sqlite3_column_type(s, col)) {
        case SQLITE_NULL:
            return std::nullopt;
        case SQLITE_INTEGER:
            return std::to_string(sqlite3_column_int64(s, col));
        case SQLITE_FLOAT:
            return double_text(sqlite3_column_double(s, col));
        case SQLITE_BLOB: {
            // PostgreSQL's hex form, so result_source::binary() decodes it as for bytea.
            const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(s, col));
            const int n = sqlite3_column_bytes(s, col);
            static constexpr char digits[] = "0123456789abcdef";
            std::string out = "\\x";
            out.reserve(2 + 2 * static_cast<std::size_t>(n));
            for (int i = 0; i < n; ++i) {
                out += digits[p[i] >> 4];
                out += digits[p[i] & 0xf];
            }
            return out;
        }
        default: {
            const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
            const int n = sqlite3_column_bytes(s, col);
            return std::string(p != nullptr ? p : "", static_cast<std::size_t>(n));
        }
    }
}

/// Binds `args` to the statement's parameters. `$N` and `?N` take args[N-1]
/// wherever they appear; a bare `?` or a named parameter takes the argument
/// of its own index. Every argument must be used by some index.
result<void> bind_all(sqlite3* db, sqlite3_stmt* s, const params& args) {
    const int slots = sqlite3_bind_parameter_count(s);
    std::size_t highest = 0;
    for (int i = 1; i <= slots; ++i) {
        const char* name = sqlite3_bind_parameter_name(s, i);
        std::size_t n = static_cast<std::size_t>(i);
        if (name != nullptr && (name[0] == '$' || name[0] == '?') && name[1] != '\0') {
            std::size_t v = 0;
            std::string_view digits(name + 1);
            auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
            if (ec == std::errc() && p == digits.data() + digits.size() && v > 0) n = v;
        }
        highest = std::max(highest, n);
        if (n > args.size()) {
            return error(errc::bad_input,
                         "the statement uses parameter " + std::string(name ? name : "?") +
                             " (number " + std::to_string(n) + ") but " +
                             std::to_string(args.size()) + " parameter(s) were given");
        }
        const param_view a = args[n - 1];
        int rc = SQLITE_OK;
        switch (a.type()) {
            case param::kind::null:
                rc = sqlite3_bind_null(s, i);
                break;
            case param::kind::boolean:
            case param::kind::int16:
            case param::kind::int32:
            case param::kind::int64:
                rc = sqlite3_bind_int64(s, i, a.as_int());
                break;
            case param::kind::float32:
            case param::kind::float64:
                rc = sqlite3_bind_double(s, i, a.as_double());
                break;
            case param::kind::text:
                // SQLITE_STATIC: `args` outlives the statement (both live in this job).
                rc = sqlite3_bind_text64(s, i, a.as_text().data(), a.as_text().size(),
                                         SQLITE_STATIC, SQLITE_UTF8);
                break;
            case param::kind::binary:
                rc = a.as_bytes().empty() ? sqlite3_bind_zeroblob(s, i, 0)
                                          : sqlite3_bind_blob64(s, i, a.as_bytes().data(),
                                                                a.as_bytes().size(), SQLITE_STATIC);
                break;
        }
        if (rc != SQLITE_OK) return last_error(db, "binding parameter " + std::to_string(n));
    }
    if (highest < args.size()) {
        return error(errc::bad_input, std::to_string(args.size()) +
                                          " parameter(s) were given but the statement uses " +
                                          std::to_string(highest) +
                                          "; pass exactly the parameters the SQL refers to");
    }
    return {};
}

std::string command_tag(sqlite3_stmt* s, std::uint64_t count) {
    std::string_view sql = sqlite3_sql(s) != nullptr ? sqlite3_sql(s) : "";
    std::size_t b = 0;
    while (b < sql.size() && std::isspace(static_cast<unsigned char>(sql[b]))) ++b;
    std::size_t e = b;
    while (e < sql.size() && std::isalpha(static_cast<unsigned char>(sql[e]))) ++e;
    std::string word = upper_ascii(sql.substr(b, e - b));
    if (word.empty()) return {};
    if (word == "INSERT") return "INSERT 0 " + std::to_string(count);
    if (word == "SELECT" || word == "UPDATE" || word == "DELETE" || word == "WITH" ||
        word == "VALUES")
        return (word == "WITH" || word == "VALUES" ? "SELECT" : word) + " " + std::to_string(count);
    return word;
}

/// The columns of `s`: their declared types, else the storage class of the
/// first non-null value seen (`first_type`).
std::vector<owned_result::column> columns_of(sqlite3_stmt* s, const std::vector<int>& first_type) {
    const int ncols = sqlite3_column_count(s);
    std::vector<owned_result::column> cols;
    cols.reserve(static_cast<std::size_t>(ncols));
    for (int c = 0; c < ncols; ++c) {
        owned_result::column col;
        const char* name = sqlite3_column_name(s, c);
        col.name = name != nullptr ? name : "";
        const char* decl = sqlite3_column_decltype(s, c);
        const int ft = first_type[static_cast<std::size_t>(c)];
        auto dk = declared_kind(decl);
        col.kind = dk ? *dk : storage_kind(ft);
        col.type_name = decl != nullptr && *decl != '\0' ? decl : storage_name(ft);
        col.type_id = static_cast<std::uint32_t>(ft);
        cols.push_back(std::move(col));
    }
    return cols;
}

/// Steps a prepared statement to the end and copies its rows.
result<result_set> step_all(sqlite3* db, sqlite3_stmt* s, std::string_view what) {
    const int ncols = sqlite3_column_count(s);
    std::vector<std::vector<std::optional<std::string>>> rows;
    std::vector<int> first_type(static_cast<std::size_t>(ncols), SQLITE_NULL);
    const sqlite3_int64 before = sqlite3_total_changes64(db);
    for (;;) {
        const int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) return last_error(db, what);
        std::vector<std::optional<std::string>> r;
        r.reserve(static_cast<std::size_t>(ncols));
        for (int c = 0; c < ncols; ++c) {
            auto& ft = first_type[static_cast<std::size_t>(c)];
            if (ft == SQLITE_NULL) ft = sqlite3_column_type(s, c);
            r.push_back(cell(s, c));
        }
        rows.push_back(std::move(r));
    }
    auto out = std::make_unique<owned_result>(columns_of(s, first_type));
    std::uint64_t count = rows.size();
    if (ncols == 0) {
        // sqlite3_changes() keeps the last DML's count across DDL: trust it only
        // when this statement changed something.
        count = sqlite3_total_changes64(db) != before
                    ? static_cast<std::uint64_t>(sqlite3_changes64(db))
                    : 0;
        out->set_affected_rows(count);
    }
    for (auto& r : rows) out->add_row(std::move(r));
    out->set_command_tag(command_tag(s, count));
    return result_set(std::move(out));
}

bool autocommit(const db_state& st) noexcept { return sqlite3_get_autocommit(st.db) != 0; }

}  // namespace

result<void> open_db(const open_settings& s, db_state& state) {
    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    if (s.mode == "ro") {
        flags |= SQLITE_OPEN_READONLY;
    } else if (s.mode == "rw") {
        flags |= SQLITE_OPEN_READWRITE;
    } else {
        flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    }
    if (s.memory) flags |= SQLITE_OPEN_MEMORY;
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(s.path.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string text = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        const int code = db != nullptr ? sqlite3_extended_errcode(db) : rc;
        sqlite3_close_v2(db);
        return open_error(code, std::move(text), s.path, s.mode);
    }
    sqlite3_extended_result_codes(db, 1);
    state.db = db;
    state.busy_timeout = s.busy_timeout;
    sqlite3_busy_handler(db, &on_busy, &state);
    sqlite3_progress_handler(db, 500, &on_progress, &state);

    // Settings, then a read of the schema: sqlite3_open_v2 is lazy, so a file
    // that is not a database is only noticed here, and should fail the connect.
    std::string setup;
    if (!s.journal_mode.empty()) setup += "PRAGMA journal_mode=" + s.journal_mode + ";";
    if (!s.synchronous.empty()) setup += "PRAGMA synchronous=" + s.synchronous + ";";
    if (!s.foreign_keys.empty()) setup += "PRAGMA foreign_keys=" + s.foreign_keys + ";";
    setup += "PRAGMA schema_version;";
    char* msg = nullptr;
    const int src = sqlite3_exec(db, setup.c_str(), nullptr, nullptr, &msg);
    if (src != SQLITE_OK) {
        std::string text = msg != nullptr ? msg : sqlite3_errstr(src);
        sqlite3_free(msg);
        const int code = sqlite3_extended_errcode(db);
        close_db(state);
        return open_error(code, std::move(text), s.path, s.mode);
    }
    return {};
}

job_outcome<result_set> run_query(db_state& state, const std::string& sql, const params& args) {
    sqlite3* db = state.db;
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), 0, &raw, &tail);
    stmt_ptr s(raw);
    if (rc != SQLITE_OK) return {last_error(db, "the statement"), autocommit(state)};
    if (tail != nullptr && tail < sql.data() + sql.size()) {
        sqlite3_stmt* next = nullptr;
        const int trc = sqlite3_prepare_v3(
            db, tail, static_cast<int>(sql.data() + sql.size() - tail), 0, &next, nullptr);
        sqlite3_finalize(next);
        if (trc != SQLITE_OK || next != nullptr) {
            return {error(errc::bad_input,
                          "query() runs one statement, but the SQL holds more than one; use "
                          "execute() for scripts (without parameters)"),
                    autocommit(state)};
        }
    }
    if (!s) {
        if (!args.empty())
            return {error(errc::bad_input, "parameters were given for an empty statement"),
                    autocommit(state)};
        return {result_set(std::make_unique<owned_result>()), autocommit(state)};
    }
    if (auto ok = bind_all(db, s.get(), args); !ok) return {std::move(ok).err(), autocommit(state)};
    auto r = step_all(db, s.get(), "the statement");
    return {std::move(r), autocommit(state)};
}

job_outcome<std::vector<result_set>> run_script(db_state& state, const std::string& script) {
    sqlite3* db = state.db;
    std::vector<result_set> out;
    const char* at = script.data();
    const char* end = script.data() + script.size();
    std::size_t n = 0;
    while (at < end) {
        sqlite3_stmt* raw = nullptr;
        const char* tail = nullptr;
        const int rc = sqlite3_prepare_v3(db, at, static_cast<int>(end - at), 0, &raw, &tail);
        stmt_ptr s(raw);
        ++n;
        const std::string what = "statement " + std::to_string(n) + " of the script";
        if (rc != SQLITE_OK) return {last_error(db, what), autocommit(state)};
        at = tail != nullptr ? tail : end;
        if (!s) continue;  // whitespace or a comment
        auto r = step_all(db, s.get(), what);
        if (!r) return {std::move(r).err(), autocommit(state)};
        out.push_back(std::move(r).value());
    }
    return {std::move(out), autocommit(state)};
}

job_outcome<void> run_simple(db_state& state, const char* sql, const char* what) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(state.db, sql, -1, 0, &raw, nullptr);
    stmt_ptr s(raw);
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
        }
    }
    if (rc != SQLITE_OK && rc != SQLITE_DONE)
        return {last_error(state.db, what), autocommit(state)};
    return {result<void>(), autocommit(state)};
}

job_outcome<stream_chunk> step_stream(db_state& state, std::shared_ptr<const stream_input> in,
                                      bool first) {
    sqlite3* db = state.db;
    stream_chunk out;
    auto fail = [&](error e) {
        end_stream_statement(state);
        out.done = true;
        out.err = std::move(e);
        return job_outcome<stream_chunk>{std::move(out), autocommit(state)};
    };
    if (first) {
        const std::string& sql = in->sql;
        sqlite3_stmt* raw = nullptr;
        const char* tail = nullptr;
        const int rc =
            sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), 0, &raw, &tail);
        state.stream_stmt = raw;
        state.stream_in = in;
        if (rc != SQLITE_OK) return fail(last_error(db, "the statement"));
        if (tail != nullptr && tail < sql.data() + sql.size()) {
            sqlite3_stmt* next = nullptr;
            const int trc = sqlite3_prepare_v3(
                db, tail, static_cast<int>(sql.data() + sql.size() - tail), 0, &next, nullptr);
            sqlite3_finalize(next);
            if (trc != SQLITE_OK || next != nullptr) {
                return fail(error(errc::bad_input,
                                  "stream() runs one statement, but the SQL holds more than one"));
            }
        }
        if (raw == nullptr) {
            if (!in->args.empty())
                return fail(error(errc::bad_input, "parameters were given for an empty statement"));
            end_stream_statement(state);
            out.done = true;
            return {std::move(out), autocommit(state)};
        }
        if (auto ok = bind_all(db, raw, in->args); !ok) return fail(std::move(ok).err());
    }
    sqlite3_stmt* s = state.stream_stmt;
    const int ncols = sqlite3_column_count(s);
    std::vector<std::vector<std::optional<std::string>>> rows;
    std::vector<int> first_type(static_cast<std::size_t>(ncols), SQLITE_NULL);
    int rc = SQLITE_ROW;
    while (rows.size() < in->chunk_rows) {
        rc = sqlite3_step(s);
        if (rc != SQLITE_ROW) break;
        std::vector<std::optional<std::string>> r;
        r.reserve(static_cast<std::size_t>(ncols));
        for (int c = 0; c < ncols; ++c) {
            auto& ft = first_type[static_cast<std::size_t>(c)];
            if (ft == SQLITE_NULL) ft = sqlite3_column_type(s, c);
            r.push_back(cell(s, c));
        }
        rows.push_back(std::move(r));
    }
    if (!rows.empty()) {
        auto chunk = std::make_unique<owned_result>(columns_of(s, first_type));
        const std::uint64_t n = rows.size();
        for (auto& r : rows) chunk->add_row(std::move(r));
        chunk->set_command_tag(command_tag(s, n));
        out.rows.emplace(std::move(chunk));
    }
    if (rc == SQLITE_ROW) return {std::move(out), autocommit(state)};  // the chunk is full
    if (rc != SQLITE_DONE) {
        // The rows read before the error go first; the error after them.
        error e = last_error(db, "the statement");
        end_stream_statement(state);
        out.done = true;
        out.err = std::move(e);
        return {std::move(out), autocommit(state)};
    }
    end_stream_statement(state);
    out.done = true;
    return {std::move(out), autocommit(state)};
}

job_outcome<void> end_stream_statement(db_state& state) noexcept {
    // Finalizing resets the statement: its read snapshot (or a write it left
    // half done in autocommit mode) ends here.
    sqlite3_finalize(state.stream_stmt);
    state.stream_stmt = nullptr;
    state.stream_in.reset();
    return {result<void>(), state.db == nullptr || autocommit(state)};
}

void close_db(db_state& state) noexcept {
    if (state.db == nullptr) return;
    end_stream_statement(state);
    // _v2: if a statement were somehow left unfinalized the handle becomes a
    // zombie and is freed with it, instead of failing with SQLITE_BUSY.
    sqlite3_close_v2(state.db);
    state.db = nullptr;
}

}  // namespace uvdb::sqlite::detail
