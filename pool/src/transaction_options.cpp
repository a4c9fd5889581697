// The pure parts of transactions: the BEGIN statement for a set of options,
// which errors are worth running a transaction again for, and the back-off
// between attempts. No I/O, so the unit tests check them directly.

#include <algorithm>
#include <uvdb/transaction.hpp>

namespace uvdb {

std::string begin_statement(const tx_options& opts) {
    // PostgreSQL's BEGIN takes the transaction modes separated by commas.
    std::string sql = "BEGIN";
    const char* sep = " ";
    switch (opts.isolation) {
        case isolation_level::server_default:
            break;
        case isolation_level::read_committed:
            sql += " ISOLATION LEVEL READ COMMITTED";
            sep = ", ";
            break;
        case isolation_level::repeatable_read:
            sql += " ISOLATION LEVEL REPEATABLE READ";
            sep = ", ";
            break;
        case isolation_level::serializable:
            sql += " ISOLATION LEVEL SERIALIZABLE";
            sep = ", ";
            break;
    }
    if (opts.read_only) {
        sql += sep;
        sql += "READ ONLY";
        sep = ", ";
    }
    if (opts.deferrable) {
        sql += sep;
        sql += "DEFERRABLE";
    }
    return sql;
}

bool is_transaction_conflict(const error& e) noexcept {
    if (e.value() == errc::commit_unknown) return false;
    const std::string_view s = e.sqlstate();
    return s == "40001" || s == "40P01";
}

std::chrono::milliseconds retry_backoff(const retry_policy& policy, unsigned failed_attempt,
                                        double unit) noexcept {
    using ms = std::chrono::milliseconds;
    const ms cap = std::max(policy.max_backoff, ms{0});
    ms base = std::max(policy.initial_backoff, ms{0});
    // Doubling stops at the cap, so a large attempt count cannot overflow.
    for (unsigned i = 1; i < failed_attempt && base < cap; ++i) base *= 2;
    base = std::min(base, cap);
    unit = std::clamp(unit, 0.0, 1.0);
    const auto half = base.count() / 2;
    return ms{half + static_cast<ms::rep>(static_cast<double>(base.count() - half) * unit)};
}

}  // namespace uvdb
