#pragma once
// The connection string as libpq keywords: parsed once with PQconninfoParse
// (URLs and key=value alike), overridden by connect_options, and with every
// host name resolved by us — libpq would call a blocking getaddrinfo on the
// loop thread otherwise. Each resolved address becomes its own host entry:
// `host` keeps the name (TLS verification, .pgpass), `hostaddr` carries the
// address, `port` stays aligned.

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <uvdb/driver.hpp>
#include <uvdb/offload.hpp>
#include <uvdb/result.hpp>
#include <vector>

#include "pg_error.hpp"
#include "pg_statement_cache.hpp"

namespace uvdb::postgres::detail {

/// Whether `conn` reads as libpq's key=value form: its first word is a
/// keyword followed by '=' (the scheme-less strings this driver claims).
bool is_keyword_value(std::string_view conn) noexcept;

/// Validates a connection string the way the driver will read it
/// (PQconninfoParse, uvdb's own statement_cache_size, the ports and their
/// count) without I/O or the environment. errc::bad_config saying what and
/// where (a key, a host's number), never the password.
result<void> check_conninfo(std::string_view conn);

struct host_entry {
    enum class kind : unsigned char { socket, numeric, name };
    std::string host;  ///< empty: libpq's default (Unix socket)
    std::string port;  ///< empty: the common port / default
    kind type = kind::socket;
    std::vector<std::string> addrs;  ///< resolved addresses (kind::name)
};

class conninfo {
  public:
    /// Parses opts.url and applies password, application_name and extra.
    /// Errors are errc::bad_config and never contain the password.
    static result<conninfo> parse(const connect_options& opts);

    /// The host entries to resolve: those of kind::name. Empty when hostaddr
    /// was given or every host is numeric or a socket.
    std::vector<host_entry>& hosts() noexcept { return hosts_; }
    bool needs_dns() const noexcept;

    /// Rewrites host/hostaddr/port from the resolved entries. Fails with
    /// errc::connect_failed when no host could be resolved.
    result<void> apply_resolved(const std::string& resolve_error);

    /// NUL-terminated keyword and value arrays for PQconnectStartParams; valid
    /// while this object lives and is not modified.
    void arrays(std::vector<const char*>& keywords, std::vector<const char*>& values) const;

    /// The URL's connect_timeout (seconds, as libpq reads it), or 0. libpq
    /// ignores it in non-blocking mode, so the connection's timer honours it.
    std::chrono::milliseconds url_connect_timeout() const noexcept;

    /// How many hosts the string names: before apply_resolved, as written;
    /// after it, one per resolved address. 1 when it names none (PGHOST,
    /// libpq's default).
    std::size_t host_count() const;
    /// A copy naming only host `i` (of host_count()), with its address and
    /// port; a non-empty `target_session_attrs` replaces the string's.
    conninfo for_host(std::size_t i, const std::string& target_session_attrs) const;

    /// The target_session_attrs asked for ("any" when not given).
    std::string target_session_attrs() const;

    /// Where the first attempt goes, for messages before libpq knows more.
    endpoint first_endpoint() const;

    /// How many prepared statements the connection keeps (uvdb's own URL or
    /// extra parameter `statement_cache_size`, never passed to libpq); 0 = off.
    std::size_t statement_cache_size() const noexcept { return statement_cache_size_; }

  private:
    const std::string* get(std::string_view key) const noexcept;
    void set(std::string_view key, std::string value);

    std::vector<std::pair<std::string, std::string>> kv_;
    std::vector<host_entry> hosts_;
    bool expand_ = false;
    std::size_t statement_cache_size_ = 0;
};

}  // namespace uvdb::postgres::detail
