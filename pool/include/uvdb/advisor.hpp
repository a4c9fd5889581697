#pragma once
/// \file
/// The sizing advisor: from what a pool observed (arrival rate, how long
/// leases are held, the peak of leases out at once, connect time) and the
/// server's connection limit shared by the application's instances, a
/// recommended `size` and `max_overflow` with the reasoning in numbers.
///
/// `uvdb::advise()` is a pure function of advisor_input; pool::advise()
/// fills the input from the pool's own stats. The same input can be written
/// to and read from a small text snapshot (`key = value` lines) so that
/// `uvdb-config --advise FILE` gives the same advice away from the process.
/// docs/OPERATIONS.md explains the method with a worked example.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <uvdb/result.hpp>
#include <vector>

namespace uvdb {

/// What the advice is computed from. Durations in milliseconds as doubles:
/// hold times of a few microseconds matter as much as seconds.
struct advisor_input {
    double window_s = 0;             ///< observation window (the pool's uptime)
    double arrival_rate = 0;         ///< acquires per second over the window
    double mean_hold_ms = 0;         ///< mean time a lease was held
    std::size_t peak_in_use = 0;     ///< most leases out at once
    double connect_ms = 0;           ///< recent connect time (0: unknown)
    double wait_p99_ms = 0;          ///< 99th percentile of acquire waits (for the report)
    std::uint64_t timeouts = 0;      ///< acquires that timed out in the window
    std::size_t size = 0;            ///< configured now
    std::size_t max_overflow = 0;    ///< configured now
    int server_max_connections = 0;  ///< the server's limit (0: unknown)
    /// Connections the server keeps for superusers and other clients
    /// (PostgreSQL's superuser_reserved_connections defaults to 3).
    int reserved_connections = 3;
    std::size_t instances = 1;  ///< application instances sharing the server
};

struct advice {
    std::size_t size = 0;
    std::size_t max_overflow = 0;
    bool enough_data = false;  ///< false: too few observations, the current values are kept
    bool capped = false;       ///< the server's limit per instance lowered the recommendation
    /// The reasoning, one step per line, with the numbers.
    std::vector<std::string> reasoning;
    /// "size = 17, max_overflow = 5" followed by the reasoning, one line each.
    std::string to_string() const;
};

/// The recommendation for `in` (see docs/OPERATIONS.md, "Sizing advisor").
advice advise(const advisor_input& in);

/// The snapshot text: "# uvdb advisor snapshot" and one `key = value` line
/// per field of advisor_input (the field names).
std::string format_snapshot(const advisor_input& in);
/// Reads format_snapshot's text. Unknown keys and blank or # lines are
/// skipped; a malformed value is errc::bad_config naming the line.
result<advisor_input> parse_snapshot(std::string_view text);

}  // namespace uvdb
