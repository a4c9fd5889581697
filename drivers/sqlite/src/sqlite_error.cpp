// Mapping SQLite's result codes to uvdb errors. Why these choices:
//  - BUSY/LOCKED mean "a lock was not granted in time": the statement did not
//    run and trying again later may work, which is what errc::timeout with
//    retryable() tells a caller (and the pool: it is not fatal).
//  - CONSTRAINT_* get SQLSTATE class 23 codes, so application code that
//    checks for unique_violation works against both backends.
//  - CORRUPT/NOTADB/IOERR/FULL/NOMEM leave the handle in a state we cannot
//    vouch for: fatal, errc::connection_lost, so the pool replaces it.

#include "sqlite_error.hpp"

#include <sqlite3.h>

namespace uvdb::sqlite::detail {
namespace {

struct named_code {
    int code;
    const char* name;
};

// The extended codes users meet; primary codes cover the rest.
constexpr named_code extended_names[] = {
    {SQLITE_CONSTRAINT_CHECK, "SQLITE_CONSTRAINT_CHECK"},
    {SQLITE_CONSTRAINT_FOREIGNKEY, "SQLITE_CONSTRAINT_FOREIGNKEY"},
    {SQLITE_CONSTRAINT_NOTNULL, "SQLITE_CONSTRAINT_NOTNULL"},
    {SQLITE_CONSTRAINT_PRIMARYKEY, "SQLITE_CONSTRAINT_PRIMARYKEY"},
    {SQLITE_CONSTRAINT_UNIQUE, "SQLITE_CONSTRAINT_UNIQUE"},
    {SQLITE_CONSTRAINT_TRIGGER, "SQLITE_CONSTRAINT_TRIGGER"},
    {SQLITE_CONSTRAINT_ROWID, "SQLITE_CONSTRAINT_ROWID"},
    {SQLITE_CONSTRAINT_DATATYPE, "SQLITE_CONSTRAINT_DATATYPE"},
    {SQLITE_BUSY_SNAPSHOT, "SQLITE_BUSY_SNAPSHOT"},
    {SQLITE_BUSY_RECOVERY, "SQLITE_BUSY_RECOVERY"},
    {SQLITE_LOCKED_SHAREDCACHE, "SQLITE_LOCKED_SHAREDCACHE"},
    {SQLITE_READONLY_DBMOVED, "SQLITE_READONLY_DBMOVED"},
    {SQLITE_IOERR_SHORT_READ, "SQLITE_IOERR_SHORT_READ"},
    {SQLITE_IOERR_WRITE, "SQLITE_IOERR_WRITE"},
    {SQLITE_IOERR_FSYNC, "SQLITE_IOERR_FSYNC"},
    {SQLITE_CANTOPEN_ISDIR, "SQLITE_CANTOPEN_ISDIR"},
    {SQLITE_CANTOPEN_FULLPATH, "SQLITE_CANTOPEN_FULLPATH"},
};

constexpr named_code primary_names[] = {
    {SQLITE_ERROR, "SQLITE_ERROR"},         {SQLITE_INTERNAL, "SQLITE_INTERNAL"},
    {SQLITE_PERM, "SQLITE_PERM"},           {SQLITE_ABORT, "SQLITE_ABORT"},
    {SQLITE_BUSY, "SQLITE_BUSY"},           {SQLITE_LOCKED, "SQLITE_LOCKED"},
    {SQLITE_NOMEM, "SQLITE_NOMEM"},         {SQLITE_READONLY, "SQLITE_READONLY"},
    {SQLITE_INTERRUPT, "SQLITE_INTERRUPT"}, {SQLITE_IOERR, "SQLITE_IOERR"},
    {SQLITE_CORRUPT, "SQLITE_CORRUPT"},     {SQLITE_NOTFOUND, "SQLITE_NOTFOUND"},
    {SQLITE_FULL, "SQLITE_FULL"},           {SQLITE_CANTOPEN, "SQLITE_CANTOPEN"},
    {SQLITE_PROTOCOL, "SQLITE_PROTOCOL"},   {SQLITE_SCHEMA, "SQLITE_SCHEMA"},
    {SQLITE_TOOBIG, "SQLITE_TOOBIG"},       {SQLITE_CONSTRAINT, "SQLITE_CONSTRAINT"},
    {SQLITE_MISMATCH, "SQLITE_MISMATCH"},   {SQLITE_MISUSE, "SQLITE_MISUSE"},
    {SQLITE_NOLFS, "SQLITE_NOLFS"},         {SQLITE_AUTH, "SQLITE_AUTH"},
    {SQLITE_FORMAT, "SQLITE_FORMAT"},       {SQLITE_RANGE, "SQLITE_RANGE"},
    {SQLITE_NOTADB, "SQLITE_NOTADB"},
};

const char* constraint_sqlstate(int code) noexcept {
    switch (code) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
            return "23505";  // unique_violation
        case SQLITE_CONSTRAINT_NOTNULL:
            return "23502";  // not_null_violation
        case SQLITE_CONSTRAINT_FOREIGNKEY:
            return "23503";  // foreign_key_violation
        case SQLITE_CONSTRAINT_CHECK:
            return "23514";  // check_violation
        default:
            return "23000";  // integrity_constraint_violation
    }
}

std::string with_code(std::string text, int code) {
    return text + " (" + code_name(code) + ", " + std::to_string(code) + ")";
}

}  // namespace

std::string code_name(int extended_code) {
    for (const auto& n : extended_names)
        if (n.code == extended_code) return n.name;
    const int primary = extended_code & 0xff;
    for (const auto& n : primary_names)
        if (n.code == primary) return n.name;
    return "SQLITE_" + std::to_string(extended_code);
}

bool code_is_fatal(int extended_code) noexcept {
    switch (extended_code & 0xff) {
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
        case SQLITE_IOERR:
        case SQLITE_FULL:
        case SQLITE_NOMEM:
        case SQLITE_CANTOPEN:
        case SQLITE_INTERNAL:
        case SQLITE_MISUSE:
            return true;
        default:
            return false;
    }
}

error statement_error(int code, std::string library_text, std::string_view what) {
    const std::string subject(what);
    const int primary = code & 0xff;
    error e;
    switch (primary) {
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            e = error(errc::timeout,
                      with_code(subject + " could not get a lock: another connection holds the "
                                          "database locked longer than busy_timeout",
                                code) +
                          "; retry, keep write transactions short, raise busy_timeout= or use "
                          "journal_mode=wal");
            break;
        case SQLITE_CONSTRAINT:
            e = error(errc::server_error, with_code(subject + " violated a constraint", code));
            e.with_sqlstate(constraint_sqlstate(code));
            break;
        case SQLITE_READONLY:
            e = error(errc::server_error,
                      with_code(subject + " tried to write to a read-only database", code) +
                          "; open it with mode=rw or mode=rwc and check the file's permissions");
            e.with_sqlstate("25006");  // read_only_sql_transaction
            break;
        case SQLITE_INTERRUPT:
            e = error(errc::cancelled, with_code(subject + " was interrupted", code));
            break;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            e = error(errc::connection_lost,
                      with_code(subject + " found the database file damaged or replaced by "
                                          "something that is not a database",
                                code) +
                          "; the connection was closed; restore the file from a backup");
            break;
        case SQLITE_IOERR:
        case SQLITE_FULL:
        case SQLITE_CANTOPEN:
            e = error(errc::connection_lost,
                      with_code(subject + " failed reading or writing the database file", code) +
                          "; the connection was closed; check disk space and the file system");
            break;
        case SQLITE_NOMEM:
            e = error(errc::connection_lost, with_code(subject + " ran out of memory", code) +
                                                 "; the connection was closed");
            break;
        case SQLITE_ERROR:
            e = error(errc::server_error, with_code(subject + " failed", code));
            e.with_sqlstate("42000");  // syntax_error_or_access_rule_violation
            break;
        case SQLITE_MISUSE:
        case SQLITE_INTERNAL:
            e = error(errc::internal,
                      with_code(subject + " failed inside SQLite", code) +
                          "; this is a bug in uvdb's SQLite driver, please report it");
            break;
        default:
            e = error(errc::server_error, with_code(subject + " failed", code));
            break;
    }
    e.with_server_text(std::move(library_text));
    e.with_fatal(code_is_fatal(code));
    return e;
}

error open_error(int code, std::string library_text, const std::string& path,
                 std::string_view mode) {
    const int primary = code & 0xff;
    std::string msg;
    bool fatal = true;
    if (primary == SQLITE_CANTOPEN) {
        msg = "could not open the SQLite database \"" + path + "\"";
        if (mode == "ro" || mode == "rw")
            msg += " (mode=" + std::string(mode) + " does not create a missing file)";
        msg = with_code(msg, code) +
              "; check that the directory exists and is writable and the path is right";
    } else if (primary == SQLITE_NOTADB || primary == SQLITE_CORRUPT) {
        msg = with_code("\"" + path + "\" is not an SQLite database (or is damaged)", code) +
              "; check the path";
    } else if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        fatal = false;
        msg =
            with_code("opening \"" + path + "\" waited longer than busy_timeout for a lock", code) +
            "; retry or raise busy_timeout=";
    } else if (primary == SQLITE_PERM || primary == SQLITE_READONLY || primary == SQLITE_AUTH) {
        msg = with_code("no permission to open \"" + path + "\"", code) +
              "; check the file's and the directory's permissions";
    } else {
        msg = with_code("could not open the SQLite database \"" + path + "\"", code);
    }
    error e(errc::connect_failed, std::move(msg));
    e.with_server_text(std::move(library_text));
    e.with_fatal(fatal);
    return e;
}

}  // namespace uvdb::sqlite::detail
