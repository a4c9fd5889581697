// Spawns a program with pipes on stdout and stderr and reads both until it
// exits or its deadline passes.

#include "integration/support/run_program.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace uvdb::test {

using namespace std::chrono_literals;

program_run run_program(const std::string& path, const std::vector<std::string>& args,
                        const std::vector<std::string>& extra_env,
                        std::chrono::milliseconds deadline, const std::string& signal_after,
                        int signal_number) {
    program_run res;
    if (path.empty() || ::access(path.c_str(), X_OK) != 0) {
        FAIL("program '"
             << path
             << "' not found or not executable: build the examples (UVDB_BUILD_EXAMPLES=ON)");
    }
    std::vector<std::string> argv_s{path};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);

    std::vector<std::string> env_s;
    for (char** e = environ; *e != nullptr; ++e) {
        if (std::strncmp(*e, "DATABASE_URL=", 13) != 0) env_s.emplace_back(*e);
    }
    env_s.insert(env_s.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);

    int out_pipe[2], err_pipe[2];
    REQUIRE(::pipe2(out_pipe, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(err_pipe, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    const int rc =
        ::posix_spawn(&res.pid, path.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (rc != 0) {
        ::close(out_pipe[0]);
        ::close(err_pipe[0]);
        FAIL("posix_spawn " << path << ": " << std::strerror(rc));
    }

    const auto until = std::chrono::steady_clock::now() + deadline;
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    std::string* sinks[2] = {&res.out, &res.err};
    int open_fds = 2;
    bool signalled = false;
    while (open_fds > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left <= 0ms) {
            res.timed_out = true;
            ::kill(res.pid, SIGKILL);
            break;
        }
        const int n = ::poll(fds, 2, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || fds[i].revents == 0) continue;
            char buf[4096];
            const ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
            if (got > 0) {
                sinks[i]->append(buf, static_cast<std::size_t>(got));
                if (i == 0 && !signalled && !signal_after.empty() &&
                    res.out.find(signal_after) != std::string::npos) {
                    signalled = true;
                    ::kill(res.pid, signal_number);
                }
            } else if (got == 0 || errno != EINTR) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_fds;
            }
        }
    }
    for (auto& f : fds) {
        if (f.fd >= 0) ::close(f.fd);
    }
    int status = 0;
    while (::waitpid(res.pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!res.timed_out && WIFEXITED(status)) res.exit_code = WEXITSTATUS(status);
    return res;
}

}  // namespace uvdb::test
