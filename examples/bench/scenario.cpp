#include "scenario.hpp"

namespace uvdb::bench {

namespace {

// Kept in one table so that the JSON, the tables and the spec agree.
// batch runs only when named: it measures the batch API against pgbench's
// pipelines, not what the five pool scenarios compare.
constexpr std::array<scenario_spec, 6> k_scenarios{{
    {"seq_unpooled", op_kind::unpooled, 1, 1000, 0, 1, false, true},
    {"seq_pooled", op_kind::pooled, 1, 1000, 100, 1, false, true},
    {"conc_pooled", op_kind::pool_query, 100, 20000, 1000, 1, true, true},
    {"conc_unpooled", op_kind::unpooled, 100, 2000, 0, 1, true, true},
    {"rag", op_kind::rag, 100, 2000, 100, 10, true, true},
    {"batch", op_kind::batch, 100, 1000, 100, 100, true, false},
}};

}  // namespace

const std::array<scenario_spec, 6>& all_scenarios() noexcept { return k_scenarios; }

const scenario_spec* find_scenario(std::string_view name) noexcept {
    for (const auto& s : k_scenarios) {
        if (s.name == name) return &s;
    }
    return nullptr;
}

std::string scenario_names() {
    std::string out;
    for (const auto& s : k_scenarios) {
        if (!out.empty()) out += ", ";
        out += s.name;
    }
    return out;
}

std::size_t ops_of_worker(std::size_t ops, std::size_t workers, std::size_t i) noexcept {
    if (workers == 0) return 0;
    return ops / workers + (i < ops % workers ? 1 : 0);
}

double scenario_result::ops_per_s() const noexcept {
    if (seconds <= 0) return -1;
    return static_cast<double>(ops - failures) / seconds;
}

double scenario_result::cpu_us_per_query() const noexcept {
    const std::uint64_t queries = (ops - failures) * spec.queries_per_op;
    if (client_cpu_s < 0 || queries == 0) return -1;
    return client_cpu_s * 1e6 / static_cast<double>(queries);
}

}  // namespace uvdb::bench
