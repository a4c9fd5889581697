#include "pg_error.hpp"

#include <array>
#include <cctype>
#include <string>
#include <uvdb/percent.hpp>
#include <vector>

namespace uvdb::postgres::detail {

namespace {

bool contains(std::string_view hay, std::string_view needle) noexcept {
    return hay.find(needle) != std::string_view::npos;
}

std::string_view field(const PGresult* r, int code) noexcept {
    const char* v = PQresultErrorField(r, code);
    return v != nullptr ? std::string_view(v) : std::string_view{};
}

std::string sqlstate_label(std::string_view state) {
    std::string out = "SQLSTATE ";
    out += state;
    const std::string_view name = sqlstate_name(state);
    if (!name.empty()) {
        out += ' ';
        out += name;
    }
    return out;
}

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

bool is_sqlstate_char(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); }

/// What the server said during a failed connect, as libpq printed it in
/// verbose mode: "…failed: FATAL:  28P01: password authentication failed…".
struct server_report {
    std::string_view sqlstate;
    std::string_view text;
};

server_report find_server_report(std::string_view msg) noexcept {
    // The severity word may be translated, so look for the fixed shape
    // ":  XXXXX: " that follows it instead.
    server_report found;
    for (std::size_t pos = msg.find(":  "); pos != std::string_view::npos;
         pos = msg.find(":  ", pos + 1)) {
        const std::size_t s = pos + 3;
        if (s + 7 > msg.size()) break;
        bool ok = msg[s + 5] == ':' && msg[s + 6] == ' ';
        for (std::size_t i = 0; ok && i < 5; ++i) ok = is_sqlstate_char(msg[s + i]);
        if (!ok) continue;
        found.sqlstate = msg.substr(s, 5);
        std::string_view rest = msg.substr(s + 7);
        found.text = rest.substr(0, rest.find('\n'));
    }
    return found;
}

/// libpq's own lines of a message that also quotes a verbose server report:
/// drops the report's line ("FATAL:  57P01: ...") and its LOCATION/DETAIL/
/// HINT lines, keeping e.g. "server closed the connection unexpectedly".
std::string_view libpq_own_words(std::string_view msg) noexcept {
    std::size_t start = 0;
    while (start < msg.size()) {
        std::size_t end = msg.find('\n', start);
        if (end == std::string_view::npos) end = msg.size();
        const std::string_view line = msg.substr(start, end - start);
        const bool server_line = !find_server_report(line).sqlstate.empty() ||
                                 line.substr(0, 9) == "LOCATION:" ||
                                 line.substr(0, 7) == "DETAIL:" || line.substr(0, 5) == "HINT:" ||
                                 line.substr(0, 8) == "CONTEXT:" ||
                                 line.find_first_not_of(" \t") == std::string_view::npos;
        if (!server_line) return msg.substr(start);
        start = end + 1;
    }
    return {};
}

std::string trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return std::string(s);
}

/// Every spelling of a password that a (possibly malformed) connection string holds.
std::vector<std::string> password_candidates(std::string_view ci) {
    std::vector<std::string> out;
    auto add = [&out](std::string_view raw) {
        if (raw.empty()) return;
        out.emplace_back(raw);
        std::string dec = percent_decode_lenient(raw);
        if (dec != raw) out.push_back(std::move(dec));
    };
    if (const std::size_t scheme = ci.find("://"); scheme != std::string_view::npos) {
        std::string_view rest = ci.substr(scheme + 3);
        const std::size_t at = rest.find('@');
        const std::size_t slash = rest.find('/');
        if (at != std::string_view::npos && (slash == std::string_view::npos || at < slash)) {
            std::string_view userinfo = rest.substr(0, at);
            if (const std::size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
                add(userinfo.substr(colon + 1));
            }
        }
    }
    // key=value strings and URL query parameters: password=… up to a separator.
    for (std::size_t pos = ci.find("password"); pos != std::string_view::npos;
         pos = ci.find("password", pos + 1)) {
        std::size_t v = pos + 8;
        while (v < ci.size() && ci[v] == ' ') ++v;
        if (v >= ci.size() || ci[v] != '=') continue;
        ++v;
        while (v < ci.size() && ci[v] == ' ') ++v;
        if (v < ci.size() && ci[v] == '\'') {
            std::string val;
            for (++v; v < ci.size() && ci[v] != '\''; ++v) {
                if (ci[v] == '\\' && v + 1 < ci.size()) ++v;
                val += ci[v];
            }
            add(val);
        } else {
            std::size_t e = v;
            while (e < ci.size() && ci[e] != ' ' && ci[e] != '&') ++e;
            add(ci.substr(v, e - v));
        }
    }
    return out;
}

}  // namespace

std::string endpoint::where() const {
    if (is_unix_socket()) {
        return host + "/.s.PGSQL." + (port.empty() ? std::string("5432") : port);
    }
    const std::string& name = host.empty() ? addr : host;
    std::string out = name.find(':') != std::string::npos ? "[" + name + "]" : name;
    if (!addr.empty() && addr != name) out += " (" + addr + ")";
    out += ':';
    out += port.empty() ? std::string("5432") : port;
    return out;
}

bool endpoint::is_unix_socket() const noexcept {
    return addr.empty() && !host.empty() && (host.front() == '/' || host.front() == '@');
}

error statement_error(const PGresult* r, bool connection_bad, cancel_reason why,
                      std::chrono::milliseconds timeout, const endpoint& ep) {
    const std::string_view state = field(r, PG_DIAG_SQLSTATE);
    const std::string_view severity = field(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    std::string_view primary = field(r, PG_DIAG_MESSAGE_PRIMARY);
    const bool no_server_fields = primary.empty() && state.empty();
    if (primary.empty()) primary = PQresultErrorMessage(r);

    if (PQresultStatus(r) == PGRES_BAD_RESPONSE) {
        error e(errc::protocol_error, "the server at " + ep.where() +
                                          " sent a reply libpq could not understand (" +
                                          trim(primary) + "); the connection was closed");
        return e.with_fatal(true);
    }

    // Class 08 ends the session only when the server says so (FATAL) or the
    // socket is gone: a plain ERROR 08P01 ("bind message supplies 1
    // parameters, but prepared statement requires 2") leaves it usable.
    const bool fatal_severity = severity == "FATAL" || severity == "PANIC";
    const bool lost = connection_bad || fatal_severity ||
                      (state.substr(0, 2) == "08" && severity.empty()) || state == "57P01" ||
                      state == "57P02" || state == "57P03";
    error e;
    if (lost) {
        if (no_server_fields) {
            // libpq's own report of a broken socket ("server closed the connection unexpectedly").
            return connection_lost(primary, ep);
        }
        e = error(errc::connection_lost,
                  "the connection to " + ep.where() + " ended while the statement ran (" +
                      sqlstate_label(state) +
                      "); it may or may not have taken effect; the connection was closed");
        e.with_fatal(true);
    } else if (state == "57014") {
        if (why == cancel_reason::timeout) {
            e = error(errc::timeout,
                      "the statement did not finish within " + ms(timeout) + " and was cancelled");
        } else if (why == cancel_reason::user) {
            e = error(errc::cancelled, "the statement was cancelled on request");
        } else if (contains(primary, "statement timeout")) {
            e = error(
                errc::timeout,
                "the statement ran longer than the server's statement_timeout and was cancelled");
        } else {
            e = error(errc::cancelled,
                      "the statement was cancelled by the server or an administrator");
        }
    } else {
        e = error(errc::server_error,
                  "the server rejected the statement (" + sqlstate_label(state) + ")");
    }
    if (!state.empty()) e.with_sqlstate(state);
    e.with_server_text(trim(primary), std::string(field(r, PG_DIAG_MESSAGE_DETAIL)),
                       std::string(field(r, PG_DIAG_MESSAGE_HINT)));
    return e;
}

error connection_lost(std::string_view libpq_message, const endpoint& ep, std::string_view sqlstate,
                      std::string_view server_text) {
    // When the server's FATAL (57P01 after pg_terminate_backend, 57P02/57P03
    // at shutdown) is followed at once by the end of the socket, libpq 15
    // replaces the error result, fields and all, by its own text. The
    // connection runs with verbose errors, so that text still carries
    // "FATAL:  57P01: ..." and the caller learns why the session ended.
    const server_report srv = find_server_report(libpq_message);
    std::string server_words;
    if (sqlstate.empty() && !srv.sqlstate.empty()) {
        sqlstate = srv.sqlstate;
        if (server_text.empty()) server_words = trim(srv.text);
    }
    if (!server_words.empty()) server_text = server_words;
    std::string msg = "the connection to " + ep.where() + " was lost";
    const std::string reason =
        libpq_reason(srv.sqlstate.empty() ? libpq_message : libpq_own_words(libpq_message));
    if (!reason.empty()) msg += " (" + reason + ")";
    if (!sqlstate.empty())
        msg += " after the server ended the session (" + sqlstate_label(sqlstate) + ")";
    msg += "; the connection was closed, open a new one";
    error e(errc::connection_lost, std::move(msg));
    if (!sqlstate.empty()) e.with_sqlstate(sqlstate);
    if (!server_text.empty()) e.with_server_text(std::string(server_text));
    return e.with_fatal(true);
}

std::string libpq_reason(std::string_view m) {
    // With several hosts libpq reports each attempt; the last one is the freshest.
    std::string_view last = m;
    for (std::size_t pos = m.find("connection to server "); pos != std::string_view::npos;
         pos = m.find("connection to server ", pos + 1)) {
        last = m.substr(pos);
    }
    if (last.substr(0, 21) == "connection to server ") {
        if (const std::size_t f = last.find(" failed: "); f != std::string_view::npos) {
            last = last.substr(f + 9);
        }
    }
    return trim(last.substr(0, last.find('\n')));
}

error connect_error(std::string_view m, const endpoint& ep) {
    const server_report srv = find_server_report(m);
    const std::string_view st = srv.sqlstate;
    const std::string where = ep.where();
    const std::string who = "user \"" + ep.user + "\" on database \"" + ep.db + "\" at " + where;
    std::string reason = srv.text.empty() ? libpq_reason(m) : trim(srv.text);

    error e;
    if (st == "3D000" ||
        (st.empty() && contains(m, "database \"") && contains(m, "does not exist"))) {
        e = error(errc::auth_failed, "database \"" + ep.db + "\" does not exist at " + where +
                                         ": check the database name in the connection URL");
    } else if (st.substr(0, 2) == "28" || contains(m, "password authentication failed") ||
               contains(m, "no pg_hba.conf entry") || contains(m, "authentication failed")) {
        e = error(errc::auth_failed,
                  "the server refused to authenticate " + who +
                      ": check the user name, the password and the server's pg_hba.conf");
    } else if (contains(m, "no password supplied") || contains(m, "password is required")) {
        e = error(errc::auth_failed, "the server asked " + who +
                                         " for a password but none was given: set it in the URL, "
                                         "connect_options::password, PGPASSWORD or ~/.pgpass");
    } else if (contains(m, "channel binding")) {
        e = error(errc::auth_failed,
                  "channel binding failed for " + who + " (" + reason +
                      "): check channel_binding and that the connection uses TLS");
    } else if (st == "53300" || contains(m, "too many clients") ||
               contains(m, "remaining connection slots are reserved")) {
        e = error(
            errc::too_many_connections,
            "the server at " + where +
                " refused a new connection: its connection limit is reached (max_connections, "
                "or the role's or database's CONNECTION LIMIT); use fewer connections or raise "
                "the limit, and retry later");
    } else if (st == "57P03" || contains(m, "the database system is starting up") ||
               contains(m, "the database system is shutting down") ||
               contains(m, "the database system is in recovery mode") ||
               contains(m, "not yet accepting connections")) {
        e = error(errc::server_starting,
                  "the server at " + where + " is starting up or shutting down: retry in a moment");
    } else if (contains(m, "SSL") || contains(m, "certificate") || contains(m, "TLS")) {
        e = error(errc::tls_failed, "the TLS handshake with " + where + " failed (" + reason +
                                        "): check sslmode, sslrootcert and the server certificate");
    } else if (contains(m, "timeout expired")) {
        e = error(errc::timeout, "connecting to " + where + " timed out");
    } else if (contains(m, "invalid connection option") || contains(m, "invalid integer value") ||
               contains(m, "could not match") ||
               (contains(m, "invalid ") && contains(m, " value"))) {
        e = error(errc::bad_config, "invalid connection settings (" + reason +
                                        "): see the libpq connection parameters");
    } else if (ep.is_unix_socket()) {
        e = error(errc::connect_failed, "could not connect to " + where + " (" + reason +
                                            "): check that the server is running locally and "
                                            "listens on that Unix socket");
    } else {
        e = error(errc::connect_failed, "could not connect to " + where + " (" + reason +
                                            "): check that the server is running and accepts TCP "
                                            "connections on " +
                                            where);
    }
    if (!st.empty()) {
        e.with_sqlstate(st);
        e.with_server_text(trim(srv.text));
    }
    return e.with_fatal(true);
}

bool notice_ends_session(const PGresult* notice) noexcept {
    const std::string_view sev = field(notice, PG_DIAG_SEVERITY_NONLOCALIZED);
    return sev == "FATAL" || sev == "PANIC" || field(notice, PG_DIAG_SQLSTATE) == "57P01";
}

std::string scrub_password(std::string text, std::string_view conninfo) {
    for (const std::string& pw : password_candidates(conninfo)) {
        if (text.find(pw) == std::string::npos) continue;
        // Replacing a very short password everywhere would mangle the text
        // beyond use; drop the text instead.
        if (pw.size() < 4) return "(details withheld: they may contain the password)";
        for (std::size_t pos = text.find(pw); pos != std::string::npos;
             pos = text.find(pw, pos + 3)) {
            text.replace(pos, pw.size(), "***");
        }
    }
    return text;
}

}  // namespace uvdb::postgres::detail
