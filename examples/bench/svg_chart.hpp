#pragma once
/// \file
/// --svg FILE: a self-contained SVG chart of the latency distributions, one
/// cumulative curve per scenario on a log-scale latency axis (pooled solid,
/// unpooled dashed), with axis labels and a legend; any browser shows it.

#include <string>
#include <vector>

#include "scenario.hpp"

namespace uvdb::bench {

/// The chart as SVG text. `subtitle` goes under the title (e.g. server and TLS).
std::string latency_chart_svg(const std::vector<scenario_result>& results,
                              const std::string& subtitle);

/// Writes the chart to `path`; false (and `error` set) when the file cannot be written.
bool write_latency_chart(const std::string& path, const std::vector<scenario_result>& results,
                         const std::string& subtitle, std::string& error);

}  // namespace uvdb::bench
