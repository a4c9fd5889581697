// password_file and password_command as password providers: asked before
// every connect (nothing cached), their blocking work on libuv's threadpool.

#include <memory>
#include <utility>
#include <uvdb/credentials.hpp>
#include <uvdb/offload.hpp>

#include "config/config_detail.hpp"

namespace uvdb::detail::cfg {
namespace {

// Turns a blocking read into a provider call: `work` runs off the loop, and
// its answer is not cached (expires_at empty), so a rotated secret is picked
// up by the next connect.
template <class Work>
void offload_password(event_loop& loop, password_callback done, Work work) {
    offload_result(loop, std::move(work),
                   [done = std::move(done)](converted<std::string> c) mutable {
                       if (!c.value) return done(error(errc::connect_failed, c.reason));
                       done(password_grant{std::move(*c.value), std::nullopt});
                   });
}

}  // namespace

std::shared_ptr<password_provider> password_file_provider(std::string path, std::string shown) {
    password_provider_options o;
    o.timeout = std::chrono::seconds{10};
    // The name first: the function below takes the strings over.
    std::string name = "password_file " + quote(printable(shown, 200));
    return make_password_provider(
        std::move(name),
        [path = std::move(path), shown = std::move(shown)](event_loop& loop,
                                                           password_callback done) {
            offload_password(loop, std::move(done), [path, shown] {
                // The mode warning was given when the configuration was loaded.
                std::vector<std::string> ignored;
                return read_password_file(path, shown, ignored);
            });
        },
        o);
}

std::shared_ptr<password_provider> password_command_provider(std::string command,
                                                             std::chrono::milliseconds timeout) {
    password_provider_options o;
    // The command's own deadline kills it and says so; the provider's is
    // only a backstop for a threadpool too busy to start it.
    o.timeout = timeout + std::chrono::seconds{5};
    std::string name = "password_command " + quote(printable(command, 200));
    return make_password_provider(
        std::move(name),
        [command = std::move(command), timeout](event_loop& loop, password_callback done) {
            offload_password(loop, std::move(done),
                             [command, timeout] { return run_password_command(command, timeout); });
        },
        o);
}

}  // namespace uvdb::detail::cfg
