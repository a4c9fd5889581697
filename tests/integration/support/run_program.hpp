#pragma once
// Runs a built program (an example, uvdb-bench) as a user would, for the
// tests that check its exit code and output.

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace uvdb::test {

struct program_run {
    int exit_code = -1;  ///< -1 when killed by a signal or the deadline
    bool timed_out = false;
    pid_t pid = 0;
    std::string out, err;
};

/// Runs `path` with `args`, stdout and stderr captured apart, stdin from
/// /dev/null. The child gets our environment without DATABASE_URL, plus
/// `extra_env` ("NAME=value" entries). Killed after `deadline`, so a hang
/// fails the test instead of blocking CI. Fails the test when `path` is not
/// an executable or cannot be started. When `signal_after` is not empty,
/// the child is sent `signal_number` once its stdout first contains it (a
/// service told to stop, e.g. SIGTERM once it printed that it serves).
program_run run_program(const std::string& path, const std::vector<std::string>& args,
                        const std::vector<std::string>& extra_env,
                        std::chrono::milliseconds deadline, const std::string& signal_after = {},
                        int signal_number = 15);

}  // namespace uvdb::test
