#include <algorithm>
#include <string>
#include <utility>
#include <uvdb/driver_registry.hpp>
#include <uvdb/url.hpp>

namespace uvdb {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) {
        if (!out.empty()) out += ", ";
        out += s;
    }
    return out.empty() ? std::string("none") : out;
}

}  // namespace

driver_registry& driver_registry::global() {
    static driver_registry registry;
    return registry;
}

result<void> driver_registry::add(std::shared_ptr<driver> d) { return add_all({std::move(d)}); }

result<void> driver_registry::add_all(const std::vector<std::shared_ptr<driver>>& ds) {
    // Every scheme of every driver is checked before anything is added, so a
    // conflict (with the registry or between the drivers themselves)
    // registers nothing.
    std::vector<std::pair<std::string, std::shared_ptr<driver>>> wanted;
    for (const auto& d : ds) {
        if (!d) return error(errc::bad_input, "driver_registry::add: the driver is null");
        std::size_t before = wanted.size();
        for (const auto& s : d->schemes()) {
            std::string k = lower(s);
            if (k.empty()) {
                return error(errc::bad_input,
                             "driver \"" + std::string(d->name()) +
                                 "\" declares an empty URL scheme; nothing registered");
            }
            auto same = std::find_if(wanted.begin(), wanted.end(),
                                     [&](const auto& w) { return w.first == k; });
            if (same == wanted.end()) {
                wanted.emplace_back(std::move(k), d);
            } else if (same->second != d) {
                return error(errc::bad_config,
                             "URL scheme \"" + k + "\" is claimed by both driver \"" +
                                 std::string(same->second->name()) + "\" and driver \"" +
                                 std::string(d->name()) + "\"; nothing registered");
            }
        }
        if (wanted.size() == before) {
            return error(errc::bad_input, "driver \"" + std::string(d->name()) +
                                              "\" declares no URL scheme; nothing registered");
        }
    }
    for (const auto& [k, d] : wanted) {
        for (const auto& [scheme, holder] : entries_) {
            if (scheme == k && holder != d) {
                return error(errc::bad_config,
                             "URL scheme \"" + k + "\" is already registered by driver \"" +
                                 std::string(holder->name()) + "\"; driver \"" +
                                 std::string(d->name()) + "\" was not registered");
            }
        }
    }
    entries_.reserve(entries_.size() + wanted.size());
    for (auto& w : wanted) {
        bool present = std::any_of(entries_.begin(), entries_.end(),
                                   [&](const auto& e) { return e.first == w.first; });
        if (!present) entries_.push_back(std::move(w));
    }
    return {};
}

result<std::shared_ptr<driver>> driver_registry::for_url(std::string_view url) const {
    std::string_view scheme = url_scheme(url);
    if (scheme.empty()) {
        // No scheme (libpq's "host=db dbname=app", say): the driver that
        // claims the string takes it; more than one claim is ambiguous.
        std::shared_ptr<driver> claimant;
        std::vector<std::string> claimants;
        for (const auto& [s, d] : entries_) {
            if (d == claimant || !d->accepts(url)) continue;
            if (!claimant) claimant = d;
            claimants.emplace_back(d->name());
        }
        if (claimants.size() == 1) return claimant;
        if (claimants.size() > 1) {
            return error(errc::driver_not_found,
                         "the connection string has no URL scheme and several drivers accept it (" +
                             join(claimants) +
                             "); write it as a URL with the scheme of the one meant");
        }
        return error(
            errc::driver_not_found,
            "the connection string has no URL scheme (expected e.g. scheme://… or scheme:…) and no "
            "registered driver accepts it as it is; registered schemes: " +
                join(schemes()));
    }
    if (auto d = find(scheme)) return d;
    return error(errc::driver_not_found,
                 "no driver registered for URL scheme \"" + lower(scheme) +
                     "\"; registered schemes: " + join(schemes()) +
                     " (register the driver, e.g. uvdb::postgres::register_driver(), "
                     "or load its plugin)");
}

std::shared_ptr<driver> driver_registry::find(std::string_view scheme) const {
    std::string k = lower(scheme);
    for (const auto& [s, d] : entries_) {
        if (s == k) return d;
    }
    return nullptr;
}

std::vector<std::string> driver_registry::schemes() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& e : entries_) out.push_back(e.first);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace uvdb
