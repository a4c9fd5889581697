#pragma once
/// \file
/// The seam between drivers and libuv, part 3: blocking calls off the loop,
/// and name resolution that does not block it.

#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <uvdb/event_loop.hpp>
#include <uvdb/function.hpp>
#include <uvdb/result.hpp>
#include <vector>

namespace uvdb {

/// Runs `work` on libuv's threadpool, then `done` on the loop thread. `work`
/// must not touch loop-thread state. While the loop object lives, each runs
/// exactly once. When the event_loop is destroyed first, `work` runs at most
/// once (not at all if no thread had picked it up) and `done` never runs: it
/// is destroyed unrun.
void offload(event_loop& loop, unique_function<void()> work, unique_function<void()> done);

/// Typed form: `done` receives what `work` returned.
template <class Work, class Done>
void offload_result(event_loop& loop, Work&& work, Done&& done) {
    using R = std::invoke_result_t<Work&>;
    auto slot = std::make_unique<std::optional<R>>();
    auto* raw = slot.get();
    offload(
        loop, [raw, w = std::forward<Work>(work)]() mutable { raw->emplace(w()); },
        [s = std::move(slot), d = std::forward<Done>(done)]() mutable { d(std::move(**s)); });
}

/// One resolved address, numeric ("127.0.0.1", "::1").
struct resolved_address {
    std::string address;
    int family = 0;  ///< AF_INET or AF_INET6
};

/// Resolves `host` without blocking the loop (uv_getaddrinfo on the threadpool).
/// Numeric hosts come back immediately (still via the callback, never inline).
/// Errors are errc::connect_failed naming the host.
void resolve_host(event_loop& loop, std::string host,
                  unique_function<void(result<std::vector<resolved_address>>)> done);

}  // namespace uvdb
