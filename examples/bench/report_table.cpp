#include "report_table.hpp"

#include <algorithm>
#include <cinttypes>
#include <cmath>

namespace uvdb::bench {

namespace {

std::string fmt(const char* format, auto... args) {
    char buf[256];
    std::snprintf(buf, sizeof buf, format, args...);
    return buf;
}

/// Display width of UTF-8 text (code points; the tables hold no wide characters).
std::size_t width_of(const std::string& s) {
    return static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string ms_text(double ms) {
    if (ms < 0) return "-";
    if (ms >= 1000) return fmt("%.2f s", ms / 1000);
    if (ms >= 100) return fmt("%.0f ms", ms);
    if (ms >= 10) return fmt("%.1f ms", ms);
    if (ms >= 1) return fmt("%.2f ms", ms);
    if (ms >= 0.01) return fmt("%.3f ms", ms);
    return fmt("%.2f µs", ms * 1000);
}

std::string seconds_text(double s) {
    if (s < 0) return "-";
    return s >= 1 ? fmt("%.2f s", s) : ms_text(s * 1000);
}

std::string with_thousands(double v) {
    if (v < 0 || !std::isfinite(v)) return "-";
    auto n = static_cast<std::uint64_t>(std::llround(v));
    std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

std::string ratio_text(double r) {
    if (!std::isfinite(r) || r <= 0) return "-";
    if (r >= 10000) return with_thousands(r) + "x";
    if (r >= 100) return fmt("%.0fx", r);
    if (r >= 10) return fmt("%.1fx", r);
    return fmt("%.2fx", r);
}

/// "29.0x faster" when `better` is smaller than `worse` (times).
std::string faster(double worse, double better) {
    if (worse <= 0 || better <= 0) return "-";
    return ratio_text(worse / better) + (worse >= better ? " faster" : " slower");
}

std::string failed_text(const scenario_result& r) {
    if (r.ops == 0) return "0";
    return fmt("%" PRIu64 " (%.1f%%)", r.failures,
               100.0 * static_cast<double>(r.failures) / static_cast<double>(r.ops));
}

const scenario_result* find(const std::vector<scenario_result>& rs, std::string_view name) {
    for (const auto& r : rs) {
        if (r.spec.name == name) return &r;
    }
    return nullptr;
}

void print_comparison(std::FILE* out, const std::string& title, const scenario_result& u,
                      const scenario_result& p) {
    std::fprintf(out, "\n%s\n\n", title.c_str());
    text_table t({"Metric", "Without pooling", "With pooling", "Improvement"});
    const bool same_n = u.ops == p.ops;
    const double u_per = u.ops > 0 ? u.seconds / static_cast<double>(u.ops) : -1;
    const double p_per = p.ops > 0 ? p.seconds / static_cast<double>(p.ops) : -1;
    t.add({"Total time", seconds_text(u.seconds) + (same_n ? "" : fmt(" (%zu queries)", u.ops)),
           seconds_text(p.seconds) + (same_n ? "" : fmt(" (%zu queries)", p.ops)),
           same_n ? faster(u.seconds, p.seconds) : faster(u_per, p_per) + " per query"});
    t.add({"Mean per query", ms_text(u.latency.mean_ms), ms_text(p.latency.mean_ms),
           faster(u.latency.mean_ms, p.latency.mean_ms)});
    const double overhead = u.latency.mean_ms - p.latency.mean_ms;
    t.add({"Connection overhead", overhead > 0 ? ms_text(overhead) : "-",
           p.mean_acquire_ms >= 0 ? ms_text(p.mean_acquire_ms) + " (acquire)" : "-",
           p.mean_acquire_ms > 0 && overhead > 0
               ? ratio_text(overhead / p.mean_acquire_ms) + " less"
               : "-"});
    t.add(
        {"Throughput", with_thousands(u.ops_per_s()) + " q/s",
         with_thousands(p.ops_per_s()) + " q/s",
         u.ops_per_s() > 0 && p.ops_per_s() > 0 ? ratio_text(p.ops_per_s() / u.ops_per_s()) : "-"});
    t.add({"P50 latency", ms_text(u.latency.count ? u.latency.p50_ms : -1),
           ms_text(p.latency.count ? p.latency.p50_ms : -1),
           faster(u.latency.p50_ms, p.latency.p50_ms)});
    t.add({"P95 latency", ms_text(u.latency.count ? u.latency.p95_ms : -1),
           ms_text(p.latency.count ? p.latency.p95_ms : -1),
           faster(u.latency.p95_ms, p.latency.p95_ms)});
    t.add({"P99 latency", ms_text(u.latency.count ? u.latency.p99_ms : -1),
           ms_text(p.latency.count ? p.latency.p99_ms : -1),
           faster(u.latency.p99_ms, p.latency.p99_ms)});
    t.add({"Max latency", ms_text(u.latency.count ? u.latency.max_ms : -1),
           ms_text(p.latency.count ? p.latency.max_ms : -1),
           faster(u.latency.max_ms, p.latency.max_ms)});
    t.add({"Failed requests", failed_text(u), failed_text(p), ""});
    // One row per error category seen on either side.
    std::vector<std::string> cats;
    for (const auto& [name, n] : u.failure_detail.by_category()) cats.push_back(name);
    for (const auto& [name, n] : p.failure_detail.by_category()) {
        if (std::find(cats.begin(), cats.end(), name) == cats.end()) cats.push_back(name);
    }
    auto count_of = [](const scenario_result& r, const std::string& name) -> std::string {
        for (const auto& [n, c] : r.failure_detail.by_category()) {
            if (n == name) return std::to_string(c);
        }
        return "0";
    };
    for (const auto& name : cats) t.add({"  " + name, count_of(u, name), count_of(p, name), ""});
    t.print(out);
}

}  // namespace

void text_table::print(std::FILE* out, std::size_t first_right) const {
    std::vector<std::size_t> widths;
    for (const auto& row : rows_) {
        if (widths.size() < row.size()) widths.resize(row.size(), 0);
        for (std::size_t c = 0; c < row.size(); ++c)
            widths[c] = std::max(widths[c], width_of(row[c]));
    }
    auto print_row = [&](const std::vector<std::string>& row) {
        std::string line = "|";
        for (std::size_t c = 0; c < widths.size(); ++c) {
            const std::string cell = c < row.size() ? row[c] : std::string();
            const std::string pad(widths[c] - width_of(cell), ' ');
            line += ' ';
            line += c >= first_right ? pad + cell : cell + pad;
            line += " |";
        }
        std::fprintf(out, "%s\n", line.c_str());
    };
    print_row(rows_.front());
    std::string rule = "|";
    for (std::size_t c = 0; c < widths.size(); ++c) {
        rule += c >= first_right ? std::string(widths[c] + 1, '-') + ":|"
                                 : std::string(widths[c] + 2, '-') + "|";
    }
    std::fprintf(out, "%s\n", rule.c_str());
    for (std::size_t r = 1; r < rows_.size(); ++r) print_row(rows_[r]);
}

void print_report(std::FILE* out, const run_header& header,
                  const std::vector<scenario_result>& results) {
    std::fprintf(out, "uvdb-bench: %s (from %s)\n", header.target.c_str(), header.source.c_str());
    std::fprintf(out, "server: %s\n", header.server.c_str());
    std::fprintf(out, "%s\n", header.pool.c_str());

    const auto* su = find(results, "seq_unpooled");
    const auto* sp = find(results, "seq_pooled");
    if (su != nullptr && sp != nullptr) {
        print_comparison(
            out,
            fmt("Sequential: %zu queries one after another (seq_unpooled vs seq_pooled)", sp->ops),
            *su, *sp);
    }
    const auto* cu = find(results, "conc_unpooled");
    const auto* cp = find(results, "conc_pooled");
    if (cu != nullptr && cp != nullptr) {
        print_comparison(
            out,
            fmt("Concurrent: %zu workers (conc_unpooled %zu queries vs conc_pooled %zu queries)",
                cp->spec.workers, cu->ops, cp->ops),
            *cu, *cp);
    }

    std::fprintf(
        out,
        "\nEvery scenario (latency of successful ops; rag: of whole 10-query requests; batch: of "
        "whole 100-statement batches, CPU/query per statement)\n\n");
    text_table t({"scenario", "W", "ops", "failed", "time", "ops/s", "mean", "p50", "p95", "p99",
                  "max", "CPU", "CPU/query"});
    for (const auto& r : results) {
        const bool lat = r.latency.count > 0;
        const double cpu_q = r.cpu_us_per_query();
        t.add({std::string(r.spec.name), std::to_string(r.spec.workers), std::to_string(r.ops),
               std::to_string(r.failures), seconds_text(r.seconds), with_thousands(r.ops_per_s()),
               ms_text(lat ? r.latency.mean_ms : -1), ms_text(lat ? r.latency.p50_ms : -1),
               ms_text(lat ? r.latency.p95_ms : -1), ms_text(lat ? r.latency.p99_ms : -1),
               ms_text(lat ? r.latency.max_ms : -1), seconds_text(r.client_cpu_s),
               cpu_q >= 0 ? fmt("%.1f µs", cpu_q) : "-"});
    }
    t.print(out);

    std::fprintf(out, "\nNotes\n");
    for (const auto& r : results) {
        std::fprintf(out, "  %-14s %s\n", std::string(r.spec.name).c_str(), r.notes.c_str());
        for (const auto& [cat, msg] : r.failure_detail.first_messages()) {
            std::fprintf(out, "  %-14s first %s failure: %s\n", "", cat.c_str(), msg.c_str());
        }
    }
}

}  // namespace uvdb::bench
