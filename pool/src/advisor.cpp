// The sizing advisor (advisor.hpp): Little's law for the average number of
// connections busy, square-root staffing for the randomness of arrivals,
// the observed peak for bursts, and the server's limit as the ceiling.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <uvdb/advisor.hpp>

namespace uvdb {

namespace {

// Square-root staffing (Halfin–Whitt): with L connections busy on average
// and random arrivals, L + β·√L connections make a wait rare; β = 2 keeps
// the chance that a caller finds none free at a few per cent.
constexpr double staffing_beta = 2.0;
// Overflow: a quarter above the larger of size and the observed peak.
constexpr double burst_factor = 1.25;
// Fewer acquires than this and the averages mean little.
constexpr double min_acquires = 100;

std::string fmt(const char* f, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

std::size_t ceil_count(double v) {
    return v <= 0 ? 0 : static_cast<std::size_t>(std::ceil(v - 1e-9));
}

}  // namespace

std::string advice::to_string() const {
    std::string out =
        "size = " + std::to_string(size) + ", max_overflow = " + std::to_string(max_overflow);
    for (const auto& line : reasoning) out += "\n  " + line;
    return out;
}

advice advise(const advisor_input& in) {
    advice a;
    auto say = [&](std::string line) { a.reasoning.push_back(std::move(line)); };
    const double acquires = in.arrival_rate * in.window_s;
    if (in.arrival_rate <= 0 || in.mean_hold_ms <= 0 || acquires < min_acquires) {
        a.size = in.size;
        a.max_overflow = in.max_overflow;
        say("not enough observations (" + fmt("%.0f", acquires) + " acquires over " +
            fmt("%.1f", in.window_s) + " s; at least " + fmt("%.0f", min_acquires) +
            " returned leases needed): keeping size " + std::to_string(in.size) +
            " and max_overflow " + std::to_string(in.max_overflow));
        return a;
    }
    a.enough_data = true;
    say("observed " + fmt("%.1f", in.arrival_rate) + " acquires/s over " +
        fmt("%.1f", in.window_s) + " s, leases held " + fmt("%.3f", in.mean_hold_ms) +
        " ms on average, at most " + std::to_string(in.peak_in_use) + " out at once");
    const double busy = in.arrival_rate * in.mean_hold_ms / 1000.0;
    say("Little's law: " + fmt("%.1f", in.arrival_rate) + "/s x " + fmt("%.3f", in.mean_hold_ms) +
        " ms = " + fmt("%.2f", busy) + " connections busy on average");
    const double spread = staffing_beta * std::sqrt(busy);
    std::size_t size = std::max<std::size_t>(1, ceil_count(busy + spread));
    say("headroom for random arrivals: " + fmt("%.2f", busy) + " + 2 x sqrt(" + fmt("%.2f", busy) +
        ") = " + fmt("%.2f", busy + spread) + " -> size " + std::to_string(size));
    if (in.connect_ms > 0) {
        const double holds = in.connect_ms / in.mean_hold_ms;
        std::string line = "a connect takes " + fmt("%.2f", in.connect_ms) +
                           " ms = " + fmt("%.1f", holds) + " mean holds";
        if (holds >= 10 && in.peak_in_use > size) {
            // An overflow connection opened for a burst costs more than
            // waiting for a returned one: keep the peak in `size` instead.
            size = in.peak_in_use;
            line +=
                ": opening one for a burst costs more than waiting, so size covers the "
                "observed peak: size " +
                std::to_string(size);
        } else {
            line += holds >= 10 ? ": size already covers the observed peak"
                                : ": cheap enough to open overflow connections for bursts";
        }
        say(std::move(line));
    }
    const std::size_t top = std::max(size, in.peak_in_use);
    std::size_t overflow = ceil_count(burst_factor * static_cast<double>(top)) - size;
    say("bursts: 1.25 x max(size " + std::to_string(size) + ", peak " +
        std::to_string(in.peak_in_use) +
        ") = " + fmt("%.2f", burst_factor * static_cast<double>(top)) + " -> max_overflow " +
        std::to_string(overflow));
    if (in.wait_p99_ms > in.mean_hold_ms) {
        // Little's law sees the acquires that were served: when callers
        // queued, the demand was higher than the pool let through.
        say("callers waited (acquire wait p99 " + fmt("%.3f", in.wait_p99_ms) + " ms > mean hold " +
            fmt("%.3f", in.mean_hold_ms) +
            " ms): the pool limited the load, so the demand may be higher than observed; look "
            "again after running with this advice");
    }
    if (in.timeouts > 0) {
        say(std::to_string(in.timeouts) +
            " acquires timed out in the window: if leases were held that long on purpose, "
            "size covers them only when the hold times above include them");
    }
    if (in.server_max_connections > 0) {
        const std::size_t instances = std::max<std::size_t>(1, in.instances);
        const int usable = std::max(0, in.server_max_connections - in.reserved_connections);
        const std::size_t budget = static_cast<std::size_t>(usable) / instances;
        std::string line = "server max_connections " + std::to_string(in.server_max_connections) +
                           " - " + std::to_string(in.reserved_connections) +
                           " reserved = " + std::to_string(usable) + ", over " +
                           std::to_string(instances) + " instance(s) = " + std::to_string(budget) +
                           " per instance";
        if (size + overflow <= budget) {
            line += ": " + std::to_string(size) + " + " + std::to_string(overflow) + " fits";
            say(std::move(line));
        } else {
            a.capped = true;
            size = std::max<std::size_t>(1, std::min(size, budget));
            overflow = budget > size ? budget - size : 0;
            line += ": capped to size " + std::to_string(size) + " + max_overflow " +
                    std::to_string(overflow);
            say(std::move(line));
            if (busy > static_cast<double>(budget)) {
                say("the load needs " + fmt("%.1f", busy) +
                    " connections per instance on average, more than the server allows: callers "
                    "will wait; raise max_connections, run fewer instances, or put a "
                    "transaction-mode pooler (PgBouncer) in front of the server");
            }
        }
    } else {
        say("server max_connections unknown: check that size + max_overflow times the number of "
            "instances stays below it");
    }
    a.size = size;
    a.max_overflow = overflow;
    return a;
}

// ---------------------------------------------------------------- snapshot

namespace {

struct field {
    const char* key;
    double advisor_input::*real;
    std::size_t advisor_input::*count;
    std::uint64_t advisor_input::*big;
    int advisor_input::*small;
};

const field fields[] = {
    {"window_s", &advisor_input::window_s, nullptr, nullptr, nullptr},
    {"arrival_rate", &advisor_input::arrival_rate, nullptr, nullptr, nullptr},
    {"mean_hold_ms", &advisor_input::mean_hold_ms, nullptr, nullptr, nullptr},
    {"peak_in_use", nullptr, &advisor_input::peak_in_use, nullptr, nullptr},
    {"connect_ms", &advisor_input::connect_ms, nullptr, nullptr, nullptr},
    {"wait_p99_ms", &advisor_input::wait_p99_ms, nullptr, nullptr, nullptr},
    {"timeouts", nullptr, nullptr, &advisor_input::timeouts, nullptr},
    {"size", nullptr, &advisor_input::size, nullptr, nullptr},
    {"max_overflow", nullptr, &advisor_input::max_overflow, nullptr, nullptr},
    {"server_max_connections", nullptr, nullptr, nullptr, &advisor_input::server_max_connections},
    {"reserved_connections", nullptr, nullptr, nullptr, &advisor_input::reserved_connections},
    {"instances", nullptr, &advisor_input::instances, nullptr, nullptr},
};

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

}  // namespace

std::string format_snapshot(const advisor_input& in) {
    std::string out = "# uvdb advisor snapshot\n";
    for (const auto& f : fields) {
        out += f.key;
        out += " = ";
        if (f.real != nullptr) {
            out += fmt("%.6g", in.*f.real);
        } else if (f.count != nullptr) {
            out += std::to_string(in.*f.count);
        } else if (f.big != nullptr) {
            out += std::to_string(in.*f.big);
        } else {
            out += std::to_string(in.*f.small);
        }
        out += '\n';
    }
    return out;
}

result<advisor_input> parse_snapshot(std::string_view text) {
    advisor_input in;
    std::size_t line_no = 0;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        std::string_view line = trim(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ++line_no;
        if (line.empty() || line.front() == '#') continue;
        const auto eq = line.find('=');
        auto bad = [&](const std::string& why) {
            return error(errc::bad_config,
                         "advisor snapshot line " + std::to_string(line_no) + ": " + why);
        };
        if (eq == std::string_view::npos) return bad("expected key = value");
        const std::string_view key = trim(line.substr(0, eq));
        const std::string value(trim(line.substr(eq + 1)));
        for (const auto& f : fields) {
            if (key != f.key) continue;
            const char* b = value.data();
            const char* e = b + value.size();
            if (f.real != nullptr) {
                char* end = nullptr;
                const double v = std::strtod(value.c_str(), &end);
                if (value.empty() || end != e || !std::isfinite(v) || v < 0)
                    return bad(std::string(key) + " needs a number >= 0, got \"" + value + "\"");
                in.*f.real = v;
            } else {
                std::uint64_t v = 0;
                auto [p, ec] = std::from_chars(b, e, v);
                if (ec != std::errc() || p != e || value.empty())
                    return bad(std::string(key) + " needs a whole number >= 0, got \"" + value +
                               "\"");
                if (f.count != nullptr) in.*f.count = static_cast<std::size_t>(v);
                if (f.big != nullptr) in.*f.big = v;
                if (f.small != nullptr)
                    in.*f.small = static_cast<int>(std::min<std::uint64_t>(v, 1u << 30));
            }
        }
    }
    return in;
}

}  // namespace uvdb
