// Running password_command: /bin/sh -c COMMAND with stdin and stderr on
// /dev/null (what it says on stderr could echo the secret, so nobody sees
// it), its stdout read through a pipe under a deadline. Blocking: the
// password provider runs it on libuv's threadpool, never on the loop.
// Messages name the command, never what it printed.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>
#include <thread>

#include "config/config_detail.hpp"

extern char** environ;  // NOLINT(readability-redundant-declaration): POSIX leaves it undeclared

namespace uvdb::detail::cfg {
namespace {

constexpr std::size_t max_output = std::size_t{64} * 1024;

struct fd_pair {
    int fds[2] = {-1, -1};
    ~fd_pair() {
        for (int fd : fds) {
            if (fd >= 0) ::close(fd);
        }
    }
    void close_one(int i) {
        if (fds[i] >= 0) ::close(fds[i]);
        fds[i] = -1;
    }
};

// Reaps `pid` (its whole process group killed first when `kill_it`), so that
// no zombie or orphaned helper outlives the call.
int reap(pid_t pid, bool kill_it) {
    if (kill_it) ::kill(-pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

}  // namespace

converted<std::string> run_password_command(const std::string& command,
                                            std::chrono::milliseconds timeout) {
    using clock = std::chrono::steady_clock;
    const std::string what = "password_command " + quote(printable(command, 200));
    fd_pair out;
    if (::pipe2(out.fds, O_CLOEXEC) != 0)
        return {std::nullopt, what + " could not be started: " + errno_text(errno)};

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawnattr_init(&attr);
    ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    ::posix_spawn_file_actions_adddup2(&actions, out.fds[1], 1);
    ::posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    // Its own process group, so that a timeout kills the shell's children too.
    ::posix_spawnattr_setpgroup(&attr, 0);
    ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    std::string shell_arg = command;
    char sh[] = "sh";
    char dash_c[] = "-c";
    char* argv[] = {sh, dash_c, shell_arg.data(), nullptr};
    pid_t pid = -1;
    const int rc = ::posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, environ);
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attr);
    if (rc != 0) return {std::nullopt, what + " could not be started: " + errno_text(rc)};
    out.close_one(1);

    const auto deadline = clock::now() + timeout;
    auto left_ms = [&] {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
        return static_cast<int>(std::max<std::chrono::milliseconds::rep>(0, left.count()));
    };
    auto timed_out = [&] {
        reap(pid, true);
        return converted<std::string>{std::nullopt, what + " did not finish within " +
                                                        format_duration(timeout) + " (killed)"};
    };
    std::string output;
    char buf[4096];
    for (;;) {
        pollfd p{out.fds[0], POLLIN, 0};
        const int left = left_ms();
        if (left == 0) return timed_out();
        const int n = ::poll(&p, 1, left);
        if (n < 0 && errno == EINTR) continue;
        if (n == 0) return timed_out();
        const ssize_t got = ::read(out.fds[0], buf, sizeof buf);
        if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (got <= 0) break;  // end of its output
        output.append(buf, static_cast<std::size_t>(got));
        if (output.size() > max_output) {
            reap(pid, true);
            return {std::nullopt, what + " printed more than 64 KiB: is it the right command?"};
        }
    }
    // Its output ended; the shell should be exiting. Wait within the deadline.
    int status = 0;
    for (;;) {
        const pid_t w = ::waitpid(pid, &status, WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) {
            return {std::nullopt, what + " could not be waited for: " + errno_text(errno)};
        }
        if (left_ms() == 0) return timed_out();
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (WIFSIGNALED(status)) {
        return {std::nullopt, what + " was killed by signal " + std::to_string(WTERMSIG(status))};
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        return {std::nullopt, what + " failed with exit status " +
                                  std::to_string(WEXITSTATUS(status)) +
                                  " (its output is not shown: it may hold a secret)"};
    }
    // A trailing newline (as `echo` prints) is not part of the password.
    if (!output.empty() && output.back() == '\n') output.pop_back();
    if (!output.empty() && output.back() == '\r') output.pop_back();
    if (output.empty()) return {std::nullopt, what + " printed nothing"};
    if (output.find_first_of(std::string("\n\r\0", 3)) != std::string::npos) {
        return {std::nullopt,
                what + " printed more than one line; it must print only the password"};
    }
    return {std::move(output), {}};
}

}  // namespace uvdb::detail::cfg
