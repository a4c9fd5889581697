#include "svg_chart.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace uvdb::bench {

namespace {

std::string fmt(const char* format, auto... args) {
    char buf[512];
    std::snprintf(buf, sizeof buf, format, args...);
    return buf;
}

std::string xml_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

const char* colour_of(std::string_view scenario) {
    if (scenario == "seq_unpooled") return "#d62728";
    if (scenario == "conc_unpooled") return "#ff7f0e";
    if (scenario == "seq_pooled") return "#1f77b4";
    if (scenario == "conc_pooled") return "#2ca02c";
    return "#9467bd";
}

std::string tick_label(double ms) {
    if (ms >= 1000) return fmt("%g s", ms / 1000);
    if (ms >= 1) return fmt("%g ms", ms);
    return fmt("%g µs", ms * 1000);
}

// Plot geometry.
constexpr double width = 1000, height = 560;
constexpr double left = 70, right = 290, top = 60, bottom = 60;
constexpr double plot_w = width - left - right, plot_h = height - top - bottom;
constexpr std::size_t max_points = 400;

}  // namespace

std::string latency_chart_svg(const std::vector<scenario_result>& results,
                              const std::string& subtitle) {
    double lo = 0, hi = 0;
    bool any = false;
    for (const auto& r : results) {
        if (r.sorted_ns.empty()) continue;
        const double a = static_cast<double>(std::max<std::int64_t>(r.sorted_ns.front(), 1)) / 1e6;
        const double b = static_cast<double>(std::max<std::int64_t>(r.sorted_ns.back(), 1)) / 1e6;
        lo = any ? std::min(lo, a) : a;
        hi = any ? std::max(hi, b) : b;
        any = true;
    }
    const double dec_lo = any ? std::floor(std::log10(lo)) : -2;
    double dec_hi = any ? std::ceil(std::log10(hi)) : 2;
    if (dec_hi <= dec_lo) dec_hi = dec_lo + 1;
    auto x_of = [&](double ms) {
        return left + (std::log10(std::max(ms, 1e-9)) - dec_lo) / (dec_hi - dec_lo) * plot_w;
    };
    auto y_of = [&](double pct) { return top + plot_h - pct / 100.0 * plot_h; };

    std::string s;
    s +=
        fmt("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g "
            "%g\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n",
            width, height, width, height);
    s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
    s +=
        fmt("<text x=\"%g\" y=\"24\" font-size=\"16\" font-weight=\"bold\">uvdb-bench: latency "
            "distribution per scenario (cumulative)</text>\n",
            left);
    s += fmt("<text x=\"%g\" y=\"42\" fill=\"#555\">", left) + xml_escape(subtitle) + "</text>\n";

    // Grid and axes: a vertical line per 1-2-5 step, horizontal every 10 %.
    for (double d = dec_lo; d <= dec_hi; d += 1) {
        for (double m : {1.0, 2.0, 5.0}) {
            const double ms = m * std::pow(10.0, d);
            const double x = x_of(ms);
            if (x > left + plot_w + 0.5) break;
            const bool major = m == 1.0;
            s += fmt("<line x1=\"%.1f\" y1=\"%g\" x2=\"%.1f\" y2=\"%g\" stroke=\"%s\"/>\n", x, top,
                     x, top + plot_h, major ? "#ccc" : "#eee");
            if (major || dec_hi - dec_lo <= 3) {
                s += fmt(
                    "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\" fill=\"#333\">%s</text>\n", x,
                    top + plot_h + 16, tick_label(ms).c_str());
            }
        }
    }
    for (int p = 0; p <= 100; p += 10) {
        const double y = y_of(p);
        s += fmt("<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"%s\"/>\n", left, y,
                 left + plot_w, y, p == 50 ? "#bbb" : "#eee");
        s += fmt("<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\" fill=\"#333\">%d%%</text>\n",
                 left - 6, y + 4, p);
    }
    s += fmt("<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#333\"/>\n",
             left, top, plot_w, plot_h);
    s +=
        fmt("<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">latency of one op (log scale; rag: one "
            "10-query request)</text>\n",
            left + plot_w / 2, height - 16);
    s +=
        fmt("<text transform=\"translate(18 %g) rotate(-90)\" text-anchor=\"middle\">ops completed "
            "within "
            "that latency</text>\n",
            top + plot_h / 2);

    // One step curve per scenario: rank i of n reaches (i+1)/n of the ops.
    double legend_y = top + 8;
    for (const auto& r : results) {
        const auto& v = r.sorted_ns;
        const char* colour = colour_of(r.spec.name);
        const bool unpooled = r.spec.kind == op_kind::unpooled;
        if (!v.empty()) {
            std::string pts;
            const std::size_t n = v.size();
            const std::size_t step = std::max<std::size_t>(1, n / max_points);
            double prev_y = y_of(0);
            for (std::size_t i = 0; i < n; i += step) {
                const std::size_t idx = std::min(n - 1, i);
                const double x = x_of(static_cast<double>(v[idx]) / 1e6);
                const double y =
                    y_of(100.0 * static_cast<double>(idx + 1) / static_cast<double>(n));
                pts += fmt("%.1f,%.1f %.1f,%.1f ", x, prev_y, x, y);
                prev_y = y;
            }
            const double x_max = x_of(static_cast<double>(v.back()) / 1e6);
            pts += fmt("%.1f,%.1f %.1f,%.1f", x_max, prev_y, x_max, y_of(100));
            // Not through fmt: the points list is longer than its buffer.
            s += fmt("<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", colour,
                     unpooled ? " stroke-dasharray=\"6 4\"" : "");
            s += pts;
            s += "\"/>\n";
        }
        // Legend entry with the figures people look for.
        const double lx = left + plot_w + 16;
        s += fmt(
            "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
            lx, legend_y, lx + 28, legend_y, colour, unpooled ? " stroke-dasharray=\"6 4\"" : "");
        s += fmt("<text x=\"%g\" y=\"%g\" font-weight=\"bold\">%s</text>\n", lx + 34, legend_y + 4,
                 std::string(r.spec.name).c_str());
        if (r.latency.count > 0) {
            s += fmt("<text x=\"%g\" y=\"%g\" fill=\"#444\">p50 %s · p99 %s</text>\n", lx + 34,
                     legend_y + 19, tick_label(r.latency.p50_ms).c_str(),
                     tick_label(r.latency.p99_ms).c_str());
            s += fmt("<text x=\"%g\" y=\"%g\" fill=\"#444\">%zu ok, %llu failed, W=%zu</text>\n",
                     lx + 34, legend_y + 33, r.latency.count,
                     static_cast<unsigned long long>(r.failures), r.spec.workers);
        } else {
            s += fmt("<text x=\"%g\" y=\"%g\" fill=\"#444\">no successful op</text>\n", lx + 34,
                     legend_y + 19);
        }
        legend_y += 54;
    }
    s += fmt("<text x=\"%g\" y=\"%g\" fill=\"#555\">solid: pooled · dashed: a new</text>\n",
             left + plot_w + 16, legend_y + 4);
    s += fmt("<text x=\"%g\" y=\"%g\" fill=\"#555\">connection per op</text>\n", left + plot_w + 16,
             legend_y + 18);
    s += "</svg>\n";
    return s;
}

bool write_latency_chart(const std::string& path, const std::vector<scenario_result>& results,
                         const std::string& subtitle, std::string& error) {
    const std::string svg = latency_chart_svg(results, subtitle);
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (f == nullptr) {
        error = "cannot write " + path + ": " + std::strerror(errno);
        return false;
    }
    const bool ok = std::fwrite(svg.data(), 1, svg.size(), f) == svg.size();
    const bool closed = std::fclose(f) == 0;
    if (!ok || !closed) {
        error = "cannot write " + path + ": " + std::strerror(errno);
        return false;
    }
    return true;
}

}  // namespace uvdb::bench
