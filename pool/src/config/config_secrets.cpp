// Reading a password file. Messages name the file, never its content.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <system_error>

#include "config/config_detail.hpp"

namespace uvdb::detail::cfg {
namespace {

constexpr std::size_t max_password_file = std::size_t{64} * 1024;

struct fd_guard {
    int fd;
    ~fd_guard() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

converted<std::string> read_password_file(const std::string& path, const std::string& shown,
                                          std::vector<std::string>& warnings) {
    const std::string what = "password_file " + quote(printable(shown, 200));
    // O_NONBLOCK: a FIFO put there by mistake must not hang start-up.
    fd_guard f{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)};
    if (f.fd < 0) return {std::nullopt, "cannot read " + what + ": " + errno_text(errno)};
    struct stat st {};
    if (::fstat(f.fd, &st) != 0)
        return {std::nullopt, "cannot read " + what + ": " + errno_text(errno)};
    if (!S_ISREG(st.st_mode)) return {std::nullopt, what + " is not a regular file"};
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        warnings.push_back(what + " is open to its group or others (mode " + mode +
                           "); restrict it to its owner with chmod 600");
    }
    std::string content;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(f.fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return {std::nullopt, "cannot read " + what + ": " + errno_text(errno)};
        }
        if (n == 0) break;
        content.append(buf, static_cast<std::size_t>(n));
        if (content.size() > max_password_file) {
            return {std::nullopt, what + " is larger than 64 KiB: is it the right file?"};
        }
    }
    // Editors and `echo` end files with a newline that is not part of the password.
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r'))
        content.pop_back();
    if (content.empty()) return {std::nullopt, what + " is empty"};
    if (content.find_first_of(std::string("\n\r\0", 3)) != std::string::npos) {
        return {std::nullopt, what + " holds more than one line; it must hold only the password"};
    }
    return {std::move(content), {}};
}

}  // namespace uvdb::detail::cfg
