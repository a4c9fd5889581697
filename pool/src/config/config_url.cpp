// The configuration's URL, checked by the driver that will connect with it
// (the loader holds no parser of its own, so the two cannot disagree), and
// the parameter names it sets, found structurally.

#include <string>
#include <string_view>
#include <uvdb/driver_registry.hpp>
#include <vector>

#include "config/config_detail.hpp"

namespace uvdb::detail::cfg {

std::string check_url(const driver_registry& registry, std::string_view url) {
    auto d = registry.for_url(url);
    if (!d) return d.err().message();
    auto ok = (*d)->check(url);
    if (!ok) return ok.err().message();
    return {};
}

std::vector<std::string> url_param_keys(std::string_view url) {
    std::vector<std::string> keys;
    const bool is_url =
        url.find("://") != std::string_view::npos && url.find("://") < url.find('=');
    if (is_url) {
        const std::size_t q = url.find('?');
        if (q == std::string_view::npos) return keys;
        std::string_view rest = url.substr(q + 1);
        while (!rest.empty()) {
            const std::size_t amp = rest.find('&');
            const std::string_view item = rest.substr(0, amp);
            const std::size_t eq = item.find('=');
            if (eq != std::string_view::npos && eq > 0) keys.emplace_back(item.substr(0, eq));
            if (amp == std::string_view::npos) break;
            rest.remove_prefix(amp + 1);
        }
        return keys;
    }
    // key=value pairs: a key is the word before each '=' outside quotes.
    std::size_t i = 0;
    const std::size_t n = url.size();
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (i < n) {
        while (i < n && space(url[i])) ++i;
        const std::size_t start = i;
        while (i < n && !space(url[i]) && url[i] != '=') ++i;
        const std::size_t end = i;
        while (i < n && space(url[i])) ++i;
        if (i >= n || url[i] != '=') continue;
        if (end > start) keys.emplace_back(url.substr(start, end - start));
        ++i;
        while (i < n && space(url[i])) ++i;
        if (i < n && url[i] == '\'') {
            for (++i; i < n && url[i] != '\''; ++i) {
                if (url[i] == '\\') ++i;
            }
            ++i;
        } else {
            while (i < n && !space(url[i])) i += url[i] == '\\' ? 2 : 1;
        }
    }
    return keys;
}

}  // namespace uvdb::detail::cfg
