#pragma once
/// \file
/// The --json output: one object per scenario on one line, with the keys
/// docs/BENCHMARKS.md requires (peer, scenario, ops, seconds, ops_per_s, p50_ms,
/// p99_ms, failures, client_cpu_s, notes) and the recommended ones (mean_ms,
/// p95_ms, max_ms, workers, queries_per_op, failures_by_category); null
/// where a figure cannot be measured.

#include <string>

#include "scenario.hpp"

namespace uvdb::bench {

/// The JSON line for one scenario, without the trailing newline.
std::string json_line(const scenario_result& r);

/// `s` as a JSON string literal (quotes included).
std::string json_string(std::string_view s);

}  // namespace uvdb::bench
