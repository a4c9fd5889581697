#include "pg_conninfo.hpp"

#include <arpa/inet.h>
#include <libpq-fe.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string_view>

namespace uvdb::postgres::detail {

namespace {

std::vector<std::string> split_commas(std::string_view s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t c = s.find(',', start);
        out.emplace_back(
            s.substr(start, c == std::string_view::npos ? std::string_view::npos : c - start));
        if (c == std::string_view::npos) break;
        start = c + 1;
    }
    return out;
}

bool is_numeric_host(const std::string& h) noexcept {
    unsigned char buf[16];
    return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

std::string env_or_empty(const char* name) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::string(v) : std::string();
}

struct free_options {
    void operator()(PQconninfoOption* o) const noexcept { PQconninfoFree(o); }
};

/// Removes uvdb's own `key=value` from a URL's query or a key=value string
/// (libpq would refuse a key it does not know) and returns the value.
std::optional<std::string> take_own_param(std::string& conn, std::string_view key) {
    const bool is_url = conn.find("://") != std::string::npos;
    const std::size_t start = is_url ? conn.find('?') : 0;
    if (start == std::string::npos) return std::nullopt;
    std::size_t pos = is_url ? start + 1 : 0;
    const char sep = is_url ? '&' : ' ';
    while (pos < conn.size()) {
        std::size_t end = conn.find(sep, pos);
        if (end == std::string::npos) end = conn.size();
        const std::string_view item(conn.data() + pos, end - pos);
        if (item.size() > key.size() && item.substr(0, key.size()) == key &&
            item[key.size()] == '=') {
            std::string value(item.substr(key.size() + 1));
            // Remove the item with one separator (the following one, else the preceding one).
            std::size_t from = pos;
            std::size_t to = end;
            if (to < conn.size()) {
                ++to;
            } else if (from > (is_url ? start + 1 : 0)) {
                --from;
            } else if (is_url) {
                --from;  // the only parameter: drop the '?' too
            }
            conn.erase(from, to - from);
            return value;
        }
        pos = end + 1;
    }
    return std::nullopt;
}

result<std::size_t> cache_size_of(const std::string& v) {
    std::size_t n = 0;
    bool ok = !v.empty() && v.size() <= 6;
    for (char ch : v) {
        if (ch < '0' || ch > '9') ok = false;
        if (ok) n = n * 10 + static_cast<std::size_t>(ch - '0');
    }
    if (!ok) {
        return error(errc::bad_config,
                     "statement_cache_size must be a whole number from 0 to 999999 (0 "
                     "turns the prepared-statement cache off), got \"" +
                         v + "\"")
            .with_fatal(true);
    }
    return n;
}

// A port list item: empty (the default) or a number from 1 to 65535.
bool valid_port(std::string_view p) noexcept {
    if (p.empty()) return true;
    if (p.size() > 5) return false;
    unsigned n = 0;
    for (char ch : p) {
        if (ch < '0' || ch > '9') return false;
        n = n * 10 + static_cast<unsigned>(ch - '0');
    }
    return n >= 1 && n <= 65535;
}

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

}  // namespace

bool is_keyword_value(std::string_view conn) noexcept {
    std::size_t i = 0;
    while (i < conn.size() && is_space(conn[i])) ++i;
    const std::size_t start = i;
    while (i < conn.size() &&
           ((conn[i] >= 'a' && conn[i] <= 'z') || (conn[i] >= 'A' && conn[i] <= 'Z') ||
            (conn[i] >= '0' && conn[i] <= '9') || conn[i] == '_'))
        ++i;
    if (i == start) return false;
    while (i < conn.size() && is_space(conn[i])) ++i;
    return i < conn.size() && conn[i] == '=';
}

result<void> check_conninfo(std::string_view conn) {
    const bool is_url = conn.find("://") != std::string_view::npos && !is_keyword_value(conn);
    const std::string what =
        is_url ? "malformed connection URL: " : "malformed connection string: ";
    std::string text(conn);
    if (auto cache_size = take_own_param(text, "statement_cache_size")) {
        if (auto n = cache_size_of(*cache_size); !n) return std::move(n).err();
    }
    char* err = nullptr;
    std::unique_ptr<PQconninfoOption, free_options> parsed(PQconninfoParse(text.c_str(), &err));
    if (!parsed) {
        std::string why = err != nullptr ? std::string(err) : std::string("out of memory");
        if (err != nullptr) PQfreemem(err);
        while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
        return error(errc::bad_config, what + scrub_password(std::move(why), conn) +
                                           " (expected postgresql://user@host:port/db?param=value "
                                           "or key=value pairs)");
    }
    std::string host, hostaddr, port;
    for (const PQconninfoOption* o = parsed.get(); o->keyword != nullptr; ++o) {
        if (o->val == nullptr) continue;
        const std::string_view k = o->keyword;
        if (k == "host") host = o->val;
        if (k == "hostaddr") hostaddr = o->val;
        if (k == "port") port = o->val;
    }
    // Port values are never echoed: "postgresql://user:secret/db" puts the
    // password where libpq reads a port.
    const std::vector<std::string> ports = split_commas(port);
    for (std::size_t i = 0; i < ports.size(); ++i) {
        if (!valid_port(ports[i])) {
            return error(errc::bad_config, what + "port " + std::to_string(i + 1) + " of " +
                                               std::to_string(ports.size()) +
                                               " is not a number from 1 to 65535");
        }
    }
    const std::size_t hosts = split_commas(!hostaddr.empty() ? hostaddr : host).size();
    if (ports.size() != 1 && ports.size() != hosts) {
        return error(errc::bad_config, what + "it names " + std::to_string(hosts) + " hosts but " +
                                           std::to_string(ports.size()) +
                                           " ports: give one port for all, or one per host");
    }
    return {};
}

const std::string* conninfo::get(std::string_view key) const noexcept {
    for (const auto& [k, v] : kv_) {
        if (k == key) return &v;
    }
    return nullptr;
}

void conninfo::set(std::string_view key, std::string value) {
    for (auto& [k, v] : kv_) {
        if (k == key) {
            v = std::move(value);
            return;
        }
    }
    kv_.emplace_back(std::string(key), std::move(value));
}

result<conninfo> conninfo::parse(const connect_options& opts) {
    // statement_cache_size is uvdb's own parameter: taken out before libpq
    // reads the string; connect_options::extra overrides the URL's.
    std::string url = opts.url;
    std::optional<std::string> cache_size = take_own_param(url, "statement_cache_size");
    if (auto it = opts.extra.find("statement_cache_size"); it != opts.extra.end())
        cache_size = it->second;
    std::size_t statement_cache = default_statement_cache_size;
    if (cache_size) {
        auto n = cache_size_of(*cache_size);
        if (!n) return std::move(n).err();
        statement_cache = *n;
    }
    char* err = nullptr;
    std::unique_ptr<PQconninfoOption, free_options> parsed(PQconninfoParse(url.c_str(), &err));
    if (!parsed) {
        std::string why = err != nullptr ? std::string(err) : std::string("out of memory");
        if (err != nullptr) PQfreemem(err);
        while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
        return error(errc::bad_config, "the connection string is invalid: " +
                                           scrub_password(std::move(why), opts.url) +
                                           " (expected postgresql://user@host:port/db?param=value "
                                           "or key=value pairs)")
            .with_fatal(true);
    }
    conninfo ci;
    ci.statement_cache_size_ = statement_cache;
    for (const PQconninfoOption* o = parsed.get(); o->keyword != nullptr; ++o) {
        if (o->val != nullptr) ci.kv_.emplace_back(o->keyword, o->val);
    }
    if (!opts.password.empty()) ci.set("password", opts.password);
    if (!opts.application_name.empty()) ci.set("application_name", opts.application_name);
    for (const auto& [k, v] : opts.extra) {
        if (k != "statement_cache_size") ci.set(k, v);
    }

    // A host given nowhere means PGHOST, then libpq's Unix socket default.
    const std::string* hostaddr = ci.get("hostaddr");
    if ((hostaddr != nullptr && !hostaddr->empty()) || !env_or_empty("PGHOSTADDR").empty()) {
        return ci;  // libpq uses the addresses as given; nothing to resolve
    }
    const std::string* host_kv = ci.get("host");
    const std::string host = host_kv != nullptr ? *host_kv : env_or_empty("PGHOST");
    if (host.empty()) return ci;
    const std::string* port_kv = ci.get("port");
    const std::string port = port_kv != nullptr ? *port_kv : env_or_empty("PGPORT");

    const std::vector<std::string> hosts = split_commas(host);
    std::vector<std::string> ports = split_commas(port);
    if (ports.size() != 1 && ports.size() != hosts.size()) {
        return error(errc::bad_config, "the connection string names " +
                                           std::to_string(hosts.size()) + " hosts but " +
                                           std::to_string(ports.size()) +
                                           " ports: give one port for all, or one per host")
            .with_fatal(true);
    }
    for (std::size_t i = 0; i < hosts.size(); ++i) {
        host_entry e;
        e.host = hosts[i];
        e.port = ports.size() == 1 ? ports[0] : ports[i];
        if (e.host.empty() || e.host.front() == '/' || e.host.front() == '@') {
            e.type = host_entry::kind::socket;
        } else if (is_numeric_host(e.host)) {
            e.type = host_entry::kind::numeric;
        } else {
            e.type = host_entry::kind::name;
        }
        ci.hosts_.push_back(std::move(e));
    }
    return ci;
}

bool conninfo::needs_dns() const noexcept {
    for (const auto& h : hosts_) {
        if (h.type == host_entry::kind::name) return true;
    }
    return false;
}

result<void> conninfo::apply_resolved(const std::string& resolve_error) {
    std::string host, hostaddr, port;
    std::size_t n = 0;
    auto add = [&](const std::string& h, const std::string& a, const std::string& p) {
        if (n++ != 0) {
            host += ',';
            hostaddr += ',';
            port += ',';
        }
        host += h;
        hostaddr += a;  // empty item: libpq uses the host (socket) as is
        port += p;
    };
    for (const auto& e : hosts_) {
        switch (e.type) {
            case host_entry::kind::socket:
                add(e.host, {}, e.port);
                break;
            case host_entry::kind::numeric:
                add(e.host, e.host, e.port);
                break;
            case host_entry::kind::name:
                for (const auto& a : e.addrs) add(e.host, a, e.port);
                break;
        }
    }
    if (n == 0) {
        return error(errc::connect_failed,
                     resolve_error.empty() ? "no host name could be resolved" : resolve_error)
            .with_fatal(true);
    }
    set("host", std::move(host));
    set("hostaddr", std::move(hostaddr));
    set("port", std::move(port));
    return {};
}

void conninfo::arrays(std::vector<const char*>& keywords, std::vector<const char*>& values) const {
    keywords.clear();
    values.clear();
    for (const auto& [k, v] : kv_) {
        keywords.push_back(k.c_str());
        values.push_back(v.c_str());
    }
    keywords.push_back(nullptr);
    values.push_back(nullptr);
}

std::chrono::milliseconds conninfo::url_connect_timeout() const noexcept {
    const std::string* v = get("connect_timeout");
    if (v == nullptr) return std::chrono::milliseconds{0};
    long seconds = 0;
    for (char ch : *v) {
        if (ch < '0' || ch > '9' || seconds > 86'400) return std::chrono::milliseconds{0};
        seconds = seconds * 10 + (ch - '0');
    }
    if (seconds == 1)
        seconds = 2;  // libpq's minimum, since a 1 s timeout fires early on whole-second clocks
    return std::chrono::seconds{seconds};
}

std::size_t conninfo::host_count() const {
    const std::string* hostaddr = get("hostaddr");
    const std::string* host = get("host");
    if (hostaddr != nullptr && !hostaddr->empty()) return split_commas(*hostaddr).size();
    if (host != nullptr && !host->empty()) return split_commas(*host).size();
    return 1;
}

conninfo conninfo::for_host(std::size_t i, const std::string& target_session_attrs) const {
    conninfo one = *this;
    // Item i of a list, or its only item (one port for every host).
    auto item = [i](const std::string* list) -> std::string {
        if (list == nullptr) return {};
        std::vector<std::string> items = split_commas(*list);
        if (items.size() == 1) return items.front();
        return i < items.size() ? items[i] : std::string();
    };
    for (const char* key : {"host", "hostaddr", "port"}) {
        if (const std::string* list = get(key)) one.set(key, item(list));
    }
    if (!target_session_attrs.empty()) one.set("target_session_attrs", target_session_attrs);
    return one;
}

std::string conninfo::target_session_attrs() const {
    const std::string* v = get("target_session_attrs");
    if (v != nullptr && !v->empty()) return *v;
    const std::string env = env_or_empty("PGTARGETSESSIONATTRS");
    return env.empty() ? std::string("any") : env;
}

endpoint conninfo::first_endpoint() const {
    endpoint ep;
    if (!hosts_.empty()) {
        ep.host = hosts_.front().host;
        ep.port = hosts_.front().port;
        if (!hosts_.front().addrs.empty()) ep.addr = hosts_.front().addrs.front();
    } else {
        const std::string* h = get("host");
        const std::string* a = get("hostaddr");
        const std::string* p = get("port");
        ep.host = h != nullptr ? *h : env_or_empty("PGHOST");
        ep.addr = a != nullptr ? *a : env_or_empty("PGHOSTADDR");
        ep.port = p != nullptr ? *p : env_or_empty("PGPORT");
        if (ep.host.empty() && ep.addr.empty()) ep.host = "/var/run/postgresql";
    }
    const std::string* u = get("user");
    ep.user = u != nullptr ? *u : env_or_empty("PGUSER");
    const std::string* d = get("dbname");
    ep.db = d != nullptr ? *d : env_or_empty("PGDATABASE");
    if (ep.db.empty()) ep.db = ep.user;
    return ep;
}

}  // namespace uvdb::postgres::detail
