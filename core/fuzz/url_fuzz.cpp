// Fuzzes core's part of connection strings (core/src/url.cpp, url_mask.cpp,
// url_shape.cpp): password masking, the scheme split and percent-encoding.
// Parsing is the drivers'. Two halves, chosen by the first byte:
//
// Raw text (first byte even): mask_password, url_scheme and url_encode take
// the rest as it is. None may crash or throw; the scheme is a prefix of the
// text (after blanks) made of scheme characters; url_encode writes only
// unreserved characters and %XX, and percent_decode gives the text back.
//
// Built from parts (first byte odd): a user, password, hosts, ports, database
// and parameters are drawn from the input and written as a URL (components
// percent-encoded) and as a key=value string (values quoted and escaped).
// Every component survives url_encode and percent_decode (a round trip), and
// masking must not depend on the password: the same string with another
// password masks to the same text, so no byte of the password can leak.

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <uvdb/percent.hpp>
#include <uvdb/url.hpp>
#include <vector>

namespace {

[[noreturn]] void fail() { std::abort(); }

bool is_scheme_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '-' || c == '.';
}

bool is_unreserved(char c) { return is_scheme_char(c) && c != '+'; }

/// url_encode writes unreserved characters and %XX only, and decodes back
/// (a NUL byte excepted: percent_decode refuses %00 by design).
void check_encode(std::string_view text) {
    const std::string enc = uvdb::url_encode(text);
    for (std::size_t i = 0; i < enc.size(); ++i) {
        if (enc[i] == '%') {
            if (i + 2 >= enc.size() || uvdb::hex_digit_value(enc[i + 1]) < 0 ||
                uvdb::hex_digit_value(enc[i + 2]) < 0) {
                fail();
            }
            i += 2;
        } else if (!is_unreserved(enc[i]) && enc[i] != '_' && enc[i] != '~') {
            fail();
        }
    }
    if (text.find('\0') != std::string_view::npos) return;
    const uvdb::percent_decoded d = uvdb::percent_decode(enc);
    if (!d.ok() || d.text != text) fail();
}

void check_raw(std::string_view text) {
    (void)uvdb::mask_password(text);
    const std::string_view scheme = uvdb::url_scheme(text);
    if (!scheme.empty()) {
        const auto at = static_cast<std::size_t>(scheme.data() - text.data());
        if (at > text.size() || at + scheme.size() >= text.size() ||
            text[at + scheme.size()] != ':')
            fail();
        for (std::size_t i = 0; i < at; ++i) {
            if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r' &&
                text[i] != '\f' && text[i] != '\v') {
                fail();
            }
        }
        for (char c : scheme) {
            if (!is_scheme_char(c)) fail();
        }
    }
    check_encode(text);
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
        // Plain option keys: letters and '_' only, not a key with a meaning of its own.
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
    // Bytes no driver takes by design: NUL (%00 and C strings).
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

    check_encode(p.user);
    check_encode(p.password);
    check_encode(p.database);
    for (const auto& h : p.hosts) check_encode(h);
    for (const auto& kv : p.params) check_encode(kv.second);

    const std::string url = as_url(p, p.password);
    if (uvdb::url_scheme(url) != "postgresql") fail();
    if (uvdb::mask_password(url) != uvdb::mask_password(as_url(p, other))) fail();

    const std::string kv = as_kv(p, p.password);
    if (!uvdb::url_scheme(kv).empty()) fail();
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
