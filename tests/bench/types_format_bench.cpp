// uvdb-types-bench: does PostgreSQL's binary result format pay for the
// types of <uvdb/types.hpp>? Prints, without asserting anything:
//   1. decoding 1M timestamptz / numeric / uuid values from the text the
//      server prints vs from their binary wire form (decoders only);
//   2. one libpq query of 100k timestamptz rows in text vs binary result
//      format, decoded into sys_time<microseconds> (needs UVDB_TEST_URL or
//      libpq's PG* variables; skipped when it cannot connect).
// uvdb keeps results in text (row::text and every caller read it); these
// numbers are the evidence for that choice.

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <uvdb/types.hpp>
#include <vector>

using namespace std::chrono;
using clock_type = steady_clock;

namespace {

constexpr std::int64_t pg_epoch_us = 946'684'800'000'000;  // 2000-01-01 in Unix µs

std::uint64_t load_be(const unsigned char* p, int n) {
    std::uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = v << 8 | p[i];
    return v;
}

void store_be(std::string& out, std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out += static_cast<char>(v >> (8 * i));
}

/// PostgreSQL's binary numeric (ndigits, weight, sign, dscale, base-10000
/// digits) for a non-negative decimal with `scale` fraction digits.
std::string numeric_binary(std::int64_t unscaled, int scale) {
    std::string digits = std::to_string(unscaled);
    if (static_cast<int>(digits.size()) <= scale) digits.insert(0, scale + 1 - digits.size(), '0');
    std::string ip = digits.substr(0, digits.size() - scale);
    std::string fp = digits.substr(digits.size() - scale);
    ip.insert(0, (4 - ip.size() % 4) % 4, '0');
    fp.append((4 - fp.size() % 4) % 4, '0');
    std::vector<int> groups;
    for (std::size_t i = 0; i < ip.size(); i += 4) groups.push_back(std::stoi(ip.substr(i, 4)));
    const int weight = static_cast<int>(groups.size()) - 1;
    for (std::size_t i = 0; i < fp.size(); i += 4) groups.push_back(std::stoi(fp.substr(i, 4)));
    std::string out;
    store_be(out, groups.size(), 2);
    store_be(out, static_cast<std::uint16_t>(weight), 2);
    store_be(out, 0, 2);
    store_be(out, static_cast<std::uint64_t>(scale), 2);
    for (int g : groups) store_be(out, static_cast<std::uint64_t>(g), 2);
    return out;
}

/// The binary numeric as uvdb::numeric (which holds decimal text).
uvdb::numeric numeric_from_binary(const unsigned char* p) {
    const auto n = static_cast<int>(load_be(p, 2));
    const auto weight = static_cast<std::int16_t>(load_be(p + 2, 2));
    const auto sign = load_be(p + 4, 2);
    const auto dscale = static_cast<int>(load_be(p + 6, 2));
    std::string s = sign == 0x4000 ? "-" : "";
    char buf[8];
    bool started = false;
    for (int i = 0; i <= weight; ++i) {
        const int g = i < n ? static_cast<int>(load_be(p + 8 + 2 * i, 2)) : 0;
        if (!started) {
            s += std::to_string(g);
            started = true;
        } else {
            std::snprintf(buf, sizeof buf, "%04d", g);
            s += buf;
        }
    }
    if (!started) s += '0';
    if (dscale > 0) {
        s += '.';
        std::string f;
        for (int i = weight + 1; static_cast<int>(f.size()) < dscale; ++i) {
            const int g = (i >= 0 && i < n) ? static_cast<int>(load_be(p + 8 + 2 * i, 2)) : 0;
            std::snprintf(buf, sizeof buf, "%04d", g);
            f += buf;
        }
        s += f.substr(0, static_cast<std::size_t>(dscale));
    }
    return *uvdb::numeric::parse(s);
}

template <class F>
double best_ms(int repeats, F&& f) {
    double best = 1e300;
    for (int r = 0; r < repeats; ++r) {
        const auto t0 = clock_type::now();
        f();
        best = std::min(best, duration<double, std::milli>(clock_type::now() - t0).count());
    }
    return best;
}

sys_time<microseconds> from_text(std::string_view t) {
    uvdb::detail::civil_time c;
    microseconds d{};
    if (uvdb::detail::parse_timestamp_text(t, c) != uvdb::detail::decode_status::ok ||
        uvdb::detail::to_duration(c.days, c.ns, d) != uvdb::detail::decode_status::ok)
        std::abort();
    return sys_time<microseconds>(d);
}

sys_time<microseconds> from_binary(const unsigned char* p) {
    return sys_time<microseconds>(
        microseconds(static_cast<std::int64_t>(load_be(p, 8)) + pg_epoch_us));
}

void decoders() {
    constexpr std::size_t n = 1'000'000;
    std::mt19937_64 gen(7);
    std::vector<std::string> ts_text, num_text, uuid_text;
    std::string ts_bin, num_bin_all, uuid_bin;
    std::vector<std::size_t> num_off;
    std::uniform_int_distribution<std::int64_t> when(0, 2'000'000'000'000'000);
    std::uniform_int_distribution<std::int64_t> amount(0, 100'000'000'000);
    for (std::size_t i = 0; i < n; ++i) {
        const sys_time<microseconds> t{microseconds{when(gen)}};
        std::string s = uvdb::detail::pg_text(t);
        s.replace(s.size() - 6, 6, "+00");  // as the server prints it
        ts_text.push_back(std::move(s));
        store_be(ts_bin, static_cast<std::uint64_t>(t.time_since_epoch().count() - pg_epoch_us), 8);
        const std::int64_t a = amount(gen);
        std::string dec = std::to_string(a / 100) + "." + std::to_string(100 + a % 100).substr(1);
        num_text.push_back(dec);
        num_off.push_back(num_bin_all.size());
        num_bin_all += numeric_binary(a, 2);
        uvdb::uuid u;
        for (auto& b : u.bytes) b = static_cast<std::uint8_t>(gen());
        uuid_text.push_back(u.str());
        uuid_bin.append(reinterpret_cast<const char*>(u.bytes.data()), 16);
    }
    // Both forms must agree before they are timed.
    for (std::size_t i = 0; i < 1000; ++i) {
        if (from_text(ts_text[i]) !=
                from_binary(reinterpret_cast<const unsigned char*>(ts_bin.data()) + 8 * i) ||
            *uvdb::numeric::parse(num_text[i]) !=
                numeric_from_binary(reinterpret_cast<const unsigned char*>(num_bin_all.data()) +
                                    num_off[i])) {
            std::fprintf(stderr, "text and binary decoders disagree at %zu\n", i);
            std::exit(1);
        }
    }
    std::int64_t sink = 0;
    const double ts_t = best_ms(3, [&] {
        for (auto& s : ts_text) sink += from_text(s).time_since_epoch().count();
    });
    const double ts_b = best_ms(3, [&] {
        const auto* p = reinterpret_cast<const unsigned char*>(ts_bin.data());
        for (std::size_t i = 0; i < n; ++i)
            sink += from_binary(p + 8 * i).time_since_epoch().count();
    });
    const double nu_t = best_ms(3, [&] {
        for (auto& s : num_text)
            sink += static_cast<std::int64_t>(uvdb::numeric::parse(s)->str().size());
    });
    const double nu_b = best_ms(3, [&] {
        const auto* p = reinterpret_cast<const unsigned char*>(num_bin_all.data());
        for (std::size_t i = 0; i < n; ++i)
            sink += static_cast<std::int64_t>(numeric_from_binary(p + num_off[i]).str().size());
    });
    const double uu_t = best_ms(3, [&] {
        for (auto& s : uuid_text) sink += uvdb::uuid::parse(s)->bytes[3];
    });
    const double uu_b = best_ms(3, [&] {
        for (std::size_t i = 0; i < n; ++i) {
            uvdb::uuid u;
            std::memcpy(u.bytes.data(), uuid_bin.data() + 16 * i, 16);
            sink += u.bytes[3];
        }
    });
    std::printf("decoding 1M values (best of 3, ms):   text    binary\n");
    std::printf("  timestamptz -> sys_time<us>      %7.1f  %7.1f\n", ts_t, ts_b);
    std::printf("  numeric     -> uvdb::numeric     %7.1f  %7.1f\n", nu_t, nu_b);
    std::printf("  uuid        -> uvdb::uuid        %7.1f  %7.1f\n", uu_t, uu_b);
    std::printf("  (sink %lld)\n", static_cast<long long>(sink % 10));
}

void query(const char* conninfo) {
    PGconn* c = PQconnectdb(conninfo != nullptr ? conninfo : "");
    if (PQstatus(c) != CONNECTION_OK) {
        std::printf("query: skipped (cannot connect: %s)", PQerrorMessage(c));
        PQfinish(c);
        return;
    }
    const char* sql =
        "SELECT timestamptz '2024-01-01 00:00:00+00' + i * interval '1.000123 second' "
        "FROM generate_series(1, 100000) i";
    std::int64_t sink = 0;
    auto run = [&](int format) {
        return best_ms(5, [&] {
            PGresult* r = PQexecParams(c, sql, 0, nullptr, nullptr, nullptr, nullptr, format);
            if (PQresultStatus(r) != PGRES_TUPLES_OK) std::abort();
            const int rows = PQntuples(r);
            for (int i = 0; i < rows; ++i) {
                const char* v = PQgetvalue(r, i, 0);
                if (format == 0)
                    sink += from_text({v, static_cast<std::size_t>(PQgetlength(r, i, 0))})
                                .time_since_epoch()
                                .count();
                else
                    sink += from_binary(reinterpret_cast<const unsigned char*>(v))
                                .time_since_epoch()
                                .count();
            }
            PQclear(r);
        });
    };
    const double text_ms = run(0);
    const double bin_ms = run(1);
    std::printf("one query of 100k timestamptz rows, round trip + decode (best of 5, ms):\n");
    std::printf("  text %.1f   binary %.1f   (sink %lld)\n", text_ms, bin_ms,
                static_cast<long long>(sink % 10));
    PQfinish(c);
}

}  // namespace

int main() {
    decoders();
    const char* url = std::getenv("UVDB_TEST_URL");
    query(url);
    return 0;
}
