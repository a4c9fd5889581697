// Fuzzes connection-string parsing and password masking (core/src/url.cpp,
// url_mask.cpp). Two halves, chosen by the first byte:
//
// Raw text (first byte even): parse_url and mask_password take the rest as
// it is. Neither may crash; an error must be bad_config with a message; a
// parsed password of 4+ characters that the text holds only once must not
// survive mask_password (shorter ones coincide with other parts too often).
//
// Built from parts (first byte odd): a user, password, hosts, ports, database
// and parameters are drawn from the input and written as a URL (components
// percent-encoded) and as a key=value string (values quoted and escaped).
// Both must parse back to exactly those parts (a round trip), and masking
// must not depend on the password: the same string with another password
// masks to the same text, so no byte of the password can leak.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <uvdb/url.hpp>
#include <vector>

namespace {

[[noreturn]] void fail() { std::abort(); }

std::size_t count(std::string_view hay, std::string_view needle) {
    std::size_t n = 0;
    for (std::size_t at = hay.find(needle); at != std::string_view::npos;
         at = hay.find(needle, at + 1)) {
        ++n;
    }
    return n;
}

void check_raw(std::string_view text) {
    auto r = uvdb::parse_url(text);
    const std::string masked = uvdb::mask_password(text);
    if (!r) {
        if (r.err().value() != uvdb::errc::bad_config || r.err().message().empty()) fail();
        return;
    }
    const uvdb::parsed_url& u = *r;
    if (u.has_password && u.password.size() >= 4 && count(text, u.password) == 1 &&
        masked.find(u.password) != std::string::npos) {
        fail();
    }
}

/// A key=value value, always quoted: backslash and quote escaped.
std::string kv_quote(std::string_view v) {
    std::string out = "'";
    for (char c : v) {
        if (c == '\\' || c == '\'') out += '\\';
        out += c;
    }
    out += '\'';
    return out;
}

struct parts {
    std::string user, password, database;
    std::vector<std::string> hosts;
    std::string port;  // one port for all hosts, or empty
    std::vector<std::pair<std::string, std::string>> params;
};

std::string as_url(const parts& p, std::string_view password) {
    std::string s = "postgresql://";
    if (!p.user.empty() || !password.empty()) {
        s += uvdb::url_encode(p.user);
        s += ':';
        s += uvdb::url_encode(password);
        s += '@';
    }
    for (std::size_t i = 0; i < p.hosts.size(); ++i) {
        if (i != 0) s += ',';
        s += uvdb::url_encode(p.hosts[i]);
        if (!p.port.empty()) s += ':' + p.port;
    }
    s += '/';
    s += uvdb::url_encode(p.database);
    for (std::size_t i = 0; i < p.params.size(); ++i) {
        s += i == 0 ? '?' : '&';
        s += uvdb::url_encode(p.params[i].first) + '=' + uvdb::url_encode(p.params[i].second);
    }
    return s;
}

std::string as_kv(const parts& p, std::string_view password) {
    std::string s = "user=" + kv_quote(p.user) + " password=" + kv_quote(password);
    if (!p.hosts.empty()) {
        std::string list;
        for (std::size_t i = 0; i < p.hosts.size(); ++i) list += (i ? "," : "") + p.hosts[i];
        s += " host=" + kv_quote(list);
    }
    if (!p.port.empty()) s += " port=" + p.port;
    s += " dbname=" + kv_quote(p.database);
    for (const auto& [k, v] : p.params) s += "\t" + k + " = " + kv_quote(v);
    return s;
}

void check_parsed(const uvdb::parsed_url& u, const parts& p, bool url) {
    if (u.user != p.user || u.password != p.password || !u.has_password) fail();
    if (u.database != p.database) fail();
    if (u.hosts.size() != p.hosts.size()) fail();
    for (std::size_t i = 0; i < p.hosts.size(); ++i) {
        if (u.hosts[i].host != p.hosts[i] || u.hosts[i].port != p.port) fail();
    }
    if (u.params.size() != p.params.size()) fail();
    for (const auto& [k, v] : p.params) {
        auto it = u.params.find(k);
        if (it == u.params.end() || it->second != v) fail();
    }
    if (url != (u.scheme == "postgresql")) fail();
}

void check_built(FuzzedDataProvider& in) {
    parts p;
    p.user = in.ConsumeRandomLengthString(24);
    p.password = in.ConsumeRandomLengthString(32);
    if (p.password.empty()) p.password = "x";  // an empty one is not written as such in a URL
    const std::size_t hosts = in.ConsumeIntegralInRange<std::size_t>(0, 3);
    for (std::size_t i = 0; i < hosts; ++i) {
        // Host names: no separators of the host list, and not empty.
        std::string h = in.ConsumeRandomLengthString(16);
        std::string clean;
        for (char c : h) {
            if (c != ',' && c != '[' && c != ']' && c != '\0') clean += c;
        }
        p.hosts.push_back(clean.empty() ? "h" : clean);
    }
    if (hosts != 0 && in.ConsumeBool())
        p.port = std::to_string(in.ConsumeIntegralInRange<unsigned>(1, 65535));
    p.database = in.ConsumeRandomLengthString(16);
    const std::size_t params = in.ConsumeIntegralInRange<std::size_t>(0, 3);
    for (std::size_t i = 0; i < params; ++i) {
        // Keys the parser keeps as parameters: letters and '_' only, not a known key.
        std::string k;
        for (char c : in.ConsumeRandomLengthString(12)) {
            if ((c >= 'a' && c <= 'z') || c == '_') k += c;
        }
        if (k.empty() || k == "host" || k == "port" || k == "user" || k == "password" ||
            k == "dbname") {
            k = "opt" + std::to_string(i);
        }
        bool dup = false;
        for (const auto& kv : p.params) dup = dup || kv.first == k;
        if (!dup) p.params.emplace_back(k, in.ConsumeRandomLengthString(16));
    }
    // Bytes the parser refuses by design: NUL (%00 and C strings).
    auto no_nul = [](std::string& s) {
        for (auto& c : s) {
            if (c == '\0') c = '0';
        }
    };
    no_nul(p.user);
    no_nul(p.password);
    no_nul(p.database);
    for (auto& kv : p.params) no_nul(kv.second);
    const std::string other = p.password + "Q";

    const std::string url = as_url(p, p.password);
    auto ru = uvdb::parse_url(url);
    if (!ru) fail();
    check_parsed(*ru, p, true);
    if (uvdb::mask_password(url) != uvdb::mask_password(as_url(p, other))) fail();

    // key=value: hosts with spaces or quotes would need a quoting the host
    // list does not have; those are covered by the URL form above.
    const std::string kv = as_kv(p, p.password);
    auto rk = uvdb::parse_url(kv);
    if (!rk) fail();
    check_parsed(*rk, p, false);
    if (uvdb::mask_password(kv) != uvdb::mask_password(as_kv(p, other))) fail();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    if ((data[0] & 1) == 0) {
        check_raw(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
    } else {
        FuzzedDataProvider in(data + 1, size - 1);
        check_built(in);
    }
    return 0;
}
