// The Prometheus text exposition format 0.0.4, written from the samples
// metrics.cpp's visitor gives: no second list of metrics to keep in step.

#include <charconv>
#include <string>
#include <uvdb/metrics.hpp>

namespace uvdb::metrics {
namespace {

void append_number(std::string& out, double v) {
    char buf[32];
    // Shortest text that reads back as the same double ("12", "0.0031").
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void append_count(std::string& out, std::uint64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

// µs as exact decimal seconds ("0.00001", "2.5", "100"): bucket bounds then
// read as the round numbers they are, not as 1.0000000000000001e-05.
void append_seconds_from_us(std::string& out, std::uint64_t us) {
    append_count(out, us / 1'000'000);
    std::uint64_t frac = us % 1'000'000;
    if (frac == 0) return;
    char digits[7] = "000000";
    for (int i = 5; i >= 0; --i, frac /= 10) digits[i] = static_cast<char>('0' + frac % 10);
    int len = 6;
    while (digits[len - 1] == '0') --len;
    out += '.';
    out.append(digits, static_cast<std::size_t>(len));
}

// Label values escape backslash, double quote and line feed; HELP text
// backslash and line feed (the format's rules).
void append_escaped(std::string& out, std::string_view s, bool quotes) {
    for (char c : s) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '"' && quotes) {
            out += "\\\"";
        } else {
            out += c;
        }
    }
}

// `{a="x",b="y"` without the closing brace, so a histogram can add `le`.
void append_labels_open(std::string& out, std::span<const label> labels) {
    out += '{';
    bool first = true;
    for (const label& l : labels) {
        if (!first) out += ',';
        first = false;
        out += l.name;
        out += "=\"";
        append_escaped(out, l.value, true);
        out += '"';
    }
}

void append_labels(std::string& out, std::span<const label> labels) {
    if (labels.empty()) return;
    append_labels_open(out, labels);
    out += '}';
}

void append_histogram(std::string& out, const sample& s) {
    const wait_histogram& h = *s.histogram;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < wait_histogram::bucket_count; ++i) {
        cumulative += h.count(i);
        out += s.prometheus;
        out += "_bucket";
        append_labels_open(out, s.labels);
        out += s.labels.empty() ? "le=\"" : ",le=\"";
        if (i < wait_histogram::upper_bounds_us.size()) {
            append_seconds_from_us(out, wait_histogram::upper_bounds_us[i]);
        } else {
            out += "+Inf";
        }
        out += "\"} ";
        append_count(out, cumulative);
        out += '\n';
    }
    out += s.prometheus;
    out += "_sum";
    append_labels(out, s.labels);
    out += ' ';
    append_number(out, static_cast<double>(h.sum_us()) / 1e6);
    out += '\n';
    out += s.prometheus;
    out += "_count";
    append_labels(out, s.labels);
    out += ' ';
    append_count(out, cumulative);
    out += '\n';
}

const char* type_name(metric_type t) {
    switch (t) {
        case metric_type::counter:
            return "counter";
        case metric_type::histogram:
            return "histogram";
        case metric_type::gauge:
            break;
    }
    return "gauge";
}

}  // namespace

std::string render_prometheus_snapshots(std::span<const pool_snapshot> pools) {
    std::string out;
    out.reserve(2048 + pools.size() * 12'000);  // about 11 kB per pool
    std::string_view family;                    // the last HELP/TYPE written
    visit_snapshots(pools, [&](const sample& s) {
        if (s.prometheus != family) {
            family = s.prometheus;
            out += "# HELP ";
            out += s.prometheus;
            out += ' ';
            append_escaped(out, s.help, false);
            out += "\n# TYPE ";
            out += s.prometheus;
            out += ' ';
            out += type_name(s.type);
            out += '\n';
        }
        if (s.type == metric_type::histogram) {
            append_histogram(out, s);
            return;
        }
        out += s.prometheus;
        append_labels(out, s.labels);
        out += ' ';
        append_number(out, s.value);
        out += '\n';
    });
    return out;
}

std::string render_prometheus(const std::vector<const pool*>& pools) {
    std::vector<pool_snapshot> snaps;
    snaps.reserve(pools.size());
    for (const pool* p : pools) snaps.push_back(snapshot(*p));
    return render_prometheus_snapshots(snaps);
}

}  // namespace uvdb::metrics
