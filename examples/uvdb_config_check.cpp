// uvdb-config --check: one real connection with the effective settings,
// reported for people (which stage failed: DNS, TCP, TLS, authentication),
// and --advise: the sizing advisor on a snapshot file. Nothing secret is
// printed: the URL is shown with its password masked, and uvdb's errors
// never carry one.

#include "uvdb_config_check.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <uvdb/advisor.hpp>
#include <uvdb/driver.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/url.hpp>
#include <vector>

namespace uvdb_config {

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

bool has(const std::string& text, const char* what) { return text.find(what) != std::string::npos; }

/// The stage a failed connect stopped at, from uvdb's code and message.
std::string stage_of(const uvdb::error& e) {
    const std::string& m = e.message();
    switch (e.value()) {
        case uvdb::errc::connect_failed:
            if (has(m, "resolve") || has(m, "translate host name") ||
                has(m, "Name or service not known") || has(m, "nodename"))
                return "DNS (the host name does not resolve)";
            if (has(m, "refused")) return "TCP (connection refused: nothing listens on that port)";
            if (has(m, "Unix socket")) return "local socket (no server on that socket)";
            return "TCP (the server is unreachable)";
        case uvdb::errc::timeout:
            return "TCP (timed out: a firewall or a wrong address)";
        case uvdb::errc::tls_failed:
            return "TLS and certificate";
        case uvdb::errc::auth_failed:
            return "authentication (user, password, database or pg_hba.conf)";
        case uvdb::errc::too_many_connections:
            return "server limit (max_connections reached)";
        case uvdb::errc::server_starting:
            return "server starting up or shutting down";
        case uvdb::errc::bad_config:
            return "configuration (a connection setting is invalid)";
        default:
            return std::string(uvdb::to_string(e.value()));
    }
}

struct check_state {
    std::unique_ptr<uvdb::connection> conn;
    std::optional<uvdb::error> failure;
    uvdb::server_facts facts;
    std::string cipher;
    std::vector<double> rtt_ms;
    clock_type::time_point ping_started;
};

constexpr int ping_count = 5;

void ping_next(check_state& st, uvdb::event_loop& loop) {
    if (st.rtt_ms.size() >= ping_count) {
        st.conn->close();
        loop.stop();
        return;
    }
    st.ping_started = clock_type::now();
    st.conn->ping(std::chrono::seconds{5}, [&st, &loop](uvdb::result<void> r) {
        if (!r) {
            st.failure = std::move(r).err();
            st.conn->close();
            loop.stop();
            return;
        }
        st.rtt_ms.push_back(
            std::chrono::duration<double, std::milli>(clock_type::now() - st.ping_started).count());
        ping_next(st, loop);
    });
}

void after_facts(check_state& st, uvdb::event_loop& loop) {
    if (st.facts.product != "PostgreSQL" || !st.facts.tls.value_or(false)) {
        ping_next(st, loop);
        return;
    }
    st.conn->query("SELECT coalesce(cipher, '') FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                   uvdb::params{}, uvdb::query_options{},
                   [&st, &loop](uvdb::result<uvdb::result_set> r) {
                       if (r && r->size() == 1) st.cipher = std::string((*r)[0].text(0));
                       ping_next(st, loop);
                   });
}

}  // namespace

int run_check(const uvdb::config& cfg, const uvdb::driver_registry& drivers,
              std::size_t instances) {
    const auto& pool = cfg.pool;
    std::cout << "checking " << uvdb::mask_password(pool.connection.url) << '\n';
    auto drv = drivers.for_url(pool.connection.url);
    if (!drv) {
        std::cout << "reached: no\nwhy: " << drv.err().message() << '\n';
        return 1;
    }
    uvdb::event_loop loop;
    check_state st;
    const auto t0 = clock_type::now();
    double connect_s = 0;
    st.conn = drv.value()->connect(loop, pool.connection, [&](uvdb::result<void> r) {
        connect_s = seconds_since(t0);
        if (!r) {
            st.failure = std::move(r).err();
            loop.stop();
            return;
        }
        st.conn->describe_server([&](uvdb::result<uvdb::server_facts> f) {
            if (!f) {
                st.failure = std::move(f).err();
                st.conn->close();
                loop.stop();
                return;
            }
            st.facts = std::move(f).value();
            after_facts(st, loop);
        });
    });
    loop.run();
    char buf[64];
    if (st.failure && st.facts.product.empty()) {
        std::snprintf(buf, sizeof buf, "%.3f", connect_s);
        std::cout << "reached: no (after " << buf << " s)\n"
                  << "stage: " << stage_of(*st.failure) << '\n'
                  << "error: " << uvdb::to_string(st.failure->value()) << ": "
                  << st.failure->message() << '\n';
        return 1;
    }
    std::snprintf(buf, sizeof buf, "%.3f", connect_s);
    std::cout << "reached: yes (connected in " << buf << " s)\n";
    std::cout << "server: " << (st.facts.product.empty() ? "unknown" : st.facts.product) << ' '
              << st.facts.version << '\n';
    std::cout << "transport: " << (st.facts.transport.empty() ? "unknown" : st.facts.transport);
    if (!st.cipher.empty()) std::cout << ", cipher " << st.cipher;
    std::cout << '\n';
    int status = 0;
    const std::size_t per_instance = pool.size + pool.max_overflow;
    const std::size_t need = per_instance * std::max<std::size_t>(1, instances);
    if (st.facts.max_connections > 0) {
        const auto limit = static_cast<std::size_t>(st.facts.max_connections);
        std::cout << "max_connections: " << limit << "; the pools need (size " << pool.size
                  << " + max_overflow " << pool.max_overflow << ") x " << instances
                  << " instance(s) = " << need;
        // PostgreSQL keeps superuser_reserved_connections (3 by default) out of reach.
        if (need + 3 <= limit) {
            std::cout << ": fits\n";
        } else {
            std::cout << ": does NOT fit (3 are reserved for superusers); lower size or "
                         "max_overflow, or raise max_connections\n";
            status = 3;
        }
    } else {
        std::cout << "max_connections: unknown (the pools need " << need << ")\n";
    }
    if (st.failure) {
        std::cout << "round trip: failed: " << st.failure->message() << '\n';
        return 1;
    }
    if (!st.rtt_ms.empty()) {
        auto v = st.rtt_ms;
        std::sort(v.begin(), v.end());
        std::snprintf(buf, sizeof buf, "%.3f", v[v.size() / 2]);
        std::cout << "round trip: " << buf << " ms median of " << v.size() << " pings";
        std::snprintf(buf, sizeof buf, " (min %.3f, max %.3f ms)\n", v.front(), v.back());
        std::cout << buf;
    }
    return status;
}

int run_advise(const std::string& path, std::size_t instances, int server_max_connections) {
    std::string text;
    if (path == "-") {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
        std::ifstream f(path);
        if (!f) {
            std::fprintf(stderr, "uvdb-config: cannot read %s\n", path.c_str());
            return 1;
        }
        std::ostringstream ss;
        ss << f.rdbuf();
        text = ss.str();
    }
    auto in = uvdb::parse_snapshot(text);
    if (!in) {
        std::fprintf(stderr, "uvdb-config: %s\n", in.err().message().c_str());
        return 1;
    }
    if (instances != 0) in.value().instances = instances;
    if (server_max_connections != 0) in.value().server_max_connections = server_max_connections;
    const uvdb::advice a = uvdb::advise(in.value());
    std::cout << "advice: " << a.to_string() << '\n';
    return 0;
}

}  // namespace uvdb_config
