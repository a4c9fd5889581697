#include "report_json.hpp"

#include <cinttypes>
#include <cmath>
#include <cstdio>

namespace uvdb::bench {

namespace {

/// A number with `decimals` digits after the point, or null when `v` is
/// not measurable (negative marks "unknown" throughout the tool).
std::string number_or_null(double v, int decimals, bool valid = true) {
    if (!valid || v < 0 || !std::isfinite(v)) return "null";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

}  // namespace

std::string json_string(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    for (unsigned char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);  // UTF-8 passes through
                }
        }
    }
    out += '"';
    return out;
}

std::string json_line(const scenario_result& r) {
    const bool have_latency = r.latency.count > 0;
    std::string categories = "{";
    for (const auto& [name, count] : r.failure_detail.by_category()) {
        if (categories.size() > 1) categories += ", ";
        categories += json_string(name) + ": " + std::to_string(count);
    }
    categories += "}";

    std::string s = "{";
    s += "\"peer\": \"uvdb\"";
    s += ", \"scenario\": " + json_string(r.spec.name);
    s += ", \"ops\": " + std::to_string(r.ops);
    s += ", \"seconds\": " + number_or_null(r.seconds, 6, r.seconds > 0);
    s += ", \"ops_per_s\": " + number_or_null(r.ops_per_s(), 1);
    s += ", \"mean_ms\": " + number_or_null(r.latency.mean_ms, 4, have_latency);
    s += ", \"p50_ms\": " + number_or_null(r.latency.p50_ms, 4, have_latency);
    s += ", \"p95_ms\": " + number_or_null(r.latency.p95_ms, 4, have_latency);
    s += ", \"p99_ms\": " + number_or_null(r.latency.p99_ms, 4, have_latency);
    s += ", \"max_ms\": " + number_or_null(r.latency.max_ms, 4, have_latency);
    s += ", \"failures\": " + std::to_string(r.failures);
    s += ", \"failures_by_category\": " + categories;
    s += ", \"client_cpu_s\": " + number_or_null(r.client_cpu_s, 4);
    s += ", \"workers\": " + std::to_string(r.spec.workers);
    s += ", \"queries_per_op\": " + std::to_string(r.spec.queries_per_op);
    s += ", \"notes\": " + json_string(r.notes);
    s += "}";
    return s;
}

}  // namespace uvdb::bench
