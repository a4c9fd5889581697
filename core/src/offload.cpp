#include <netdb.h>
#include <sys/socket.h>
#include <uv.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <uvdb/offload.hpp>

#include "loop_state.hpp"

namespace uvdb {
namespace {

struct work_request final : detail::pending_request {
    uv_work_t req{};
    detail::loop_state* state = nullptr;
    unique_function<void()> work;
    unique_function<void()> done;
    uv_req_t* native() noexcept override { return reinterpret_cast<uv_req_t*>(&req); }

    static void run(uv_work_t* r) { static_cast<work_request*>(r->data)->work(); }

    static void after(uv_work_t* r, int status) {
        std::unique_ptr<work_request> self(static_cast<work_request*>(r->data));
        bool dead = self->state->dead;
        self->state->finish(self.get());  // may free the state when dead
        // Cancelled only by ~event_loop; either way the loop object is gone
        // and `done` is destroyed unrun.
        if (dead || status == UV_ECANCELED) return;
        unique_function<void()> done = std::move(self->done);
        self.reset();
        done();
    }
};

using resolve_callback = unique_function<void(result<std::vector<resolved_address>>)>;

error resolve_error(const std::string& host, const char* why) {
    return error(errc::connect_failed, "could not resolve host \"" + host + "\": " + why +
                                           "; check the host name and DNS");
}

struct resolve_request final : detail::pending_request {
    uv_getaddrinfo_t req{};
    detail::loop_state* state = nullptr;
    std::string host;
    resolve_callback done;
    uv_req_t* native() noexcept override { return reinterpret_cast<uv_req_t*>(&req); }

    static void on_resolved(uv_getaddrinfo_t* r, int status, struct addrinfo* res) {
        std::unique_ptr<resolve_request> self(static_cast<resolve_request*>(r->data));
        bool dead = self->state->dead;
        self->state->finish(self.get());
        if (dead) {
            uv_freeaddrinfo(res);
            return;
        }
        std::vector<resolved_address> out;
        if (status == 0) {
            for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
                char name[INET6_ADDRSTRLEN] = {};
                int rc = -1;
                if (ai->ai_family == AF_INET) {
                    rc = uv_ip4_name(reinterpret_cast<const sockaddr_in*>(ai->ai_addr), name,
                                     sizeof(name));
                } else if (ai->ai_family == AF_INET6) {
                    rc = uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(ai->ai_addr), name,
                                     sizeof(name));
                }
                if (rc != 0) continue;
                // The resolver's order is kept: it already sorted by RFC 6724.
                bool seen = std::any_of(out.begin(), out.end(), [&](const resolved_address& a) {
                    return a.address == name;
                });
                if (!seen) out.push_back(resolved_address{name, ai->ai_family});
            }
        }
        uv_freeaddrinfo(res);
        resolve_callback done = std::move(self->done);
        if (status != 0) {
            done(resolve_error(self->host, uv_strerror(status)));
        } else if (out.empty()) {
            done(resolve_error(self->host, "no IPv4 or IPv6 address"));
        } else {
            done(std::move(out));
        }
    }
};

}  // namespace

void offload(event_loop& loop, unique_function<void()> work, unique_function<void()> done) {
    auto req = std::make_unique<work_request>();
    req->state = &detail::loop_access::state(loop);
    req->work = std::move(work);
    req->done = std::move(done);
    req->req.data = req.get();
    int rc = uv_queue_work(loop.native(), &req->req, &work_request::run, &work_request::after);
    if (rc != 0) {
        // Only fails on invalid arguments; never run blocking work on the loop,
        // so the request is dropped loudly rather than run inline.
        throw std::runtime_error(std::string("uvdb::offload: uv_queue_work failed: ") +
                                 uv_strerror(rc));
    }
    detail::loop_access::state(loop).link(req.release());
}

void resolve_host(event_loop& loop, std::string host, resolve_callback done) {
    std::string bare = std::move(host);
    if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']')
        bare = bare.substr(1, bare.size() - 2);

    if (bare.empty()) {
        loop.defer([d = std::move(done)]() mutable {
            d(error(errc::connect_failed,
                    "could not resolve an empty host name; set a host in the URL"));
        });
        return;
    }
    if (bare.front() == '/') {
        // Unix socket directories are the driver's business, not the resolver's.
        loop.defer([d = std::move(done), h = std::move(bare)]() mutable {
            d(error(errc::bad_input,
                    "resolve_host: \"" + h + "\" is a Unix socket directory, not a host name"));
        });
        return;
    }
    unsigned char buf[sizeof(struct in6_addr)];
    int family = 0;
    if (uv_inet_pton(AF_INET, bare.c_str(), buf) == 0) {
        family = AF_INET;
    } else if (uv_inet_pton(AF_INET6, bare.c_str(), buf) == 0) {
        family = AF_INET6;
    }
    if (family != 0) {
        loop.defer([d = std::move(done), a = resolved_address{std::move(bare), family}]() mutable {
            d(std::vector<resolved_address>{std::move(a)});
        });
        return;
    }

    auto req = std::make_unique<resolve_request>();
    req->state = &detail::loop_access::state(loop);
    req->host = std::move(bare);
    req->done = std::move(done);
    req->req.data = req.get();
    struct addrinfo hints {};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = uv_getaddrinfo(loop.native(), &req->req, &resolve_request::on_resolved,
                            req->host.c_str(), nullptr, &hints);
    if (rc != 0) {
        loop.defer([d = std::move(req->done),
                    e = resolve_error(req->host, uv_strerror(rc))]() mutable { d(std::move(e)); });
        return;
    }
    detail::loop_access::state(loop).link(req.release());
}

}  // namespace uvdb
