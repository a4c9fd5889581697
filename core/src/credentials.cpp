// password_provider: one call in flight shared by every waiting connect, a
// cache until the expiry the provider gave, a deadline per call, and errors
// that name the provider but never carry a password.

#include <exception>
#include <utility>
#include <uvdb/credentials.hpp>

namespace uvdb {

namespace {

// A name that quotes part of itself (password_command "…") is not quoted again.
std::string label(const std::string& name) {
    if (name.find('"') != std::string::npos) return "password provider " + name;
    return "password provider \"" + name + "\"";
}

std::string duration_text(std::chrono::milliseconds d) {
    if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
    return std::to_string(d.count()) + " ms";
}

}  // namespace

password_provider::password_provider(std::string name, fetch_function fetch,
                                     password_provider_options opts)
    : name_(std::move(name)), fetch_(std::move(fetch)), opts_(std::move(opts)) {}

password_provider::~password_provider() = default;

password_provider::clock::time_point password_provider::now() const {
    return opts_.clock ? opts_.clock() : clock::now();
}

std::uint64_t password_provider::calls() const noexcept {
    std::lock_guard lock(mutex_);
    return calls_;
}

void password_provider::forget() noexcept {
    std::lock_guard lock(mutex_);
    cached_.reset();
}

void password_provider::cancel(ticket t) noexcept {
    waiter doomed{};
    {
        std::lock_guard lock(mutex_);
        for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
            if (it->id == t) {
                doomed = std::move(*it);
                waiters_.erase(it);
                break;
            }
        }
    }
    // `doomed` (and what its callback holds) goes here, outside the lock.
}

password_provider::ticket password_provider::get(event_loop& loop, password_result_callback cb) {
    std::unique_lock lock(mutex_);
    const ticket id = next_ticket_++;
    waiter w{id, &loop, std::this_thread::get_id(), std::move(cb)};
    if (cached_ && now() + opts_.refresh_margin < cached_until_) {
        std::string pw = *cached_;
        lock.unlock();
        deliver(std::move(w), std::move(pw));
        return id;
    }
    waiters_.push_back(std::move(w));
    if (in_flight_) return id;  // the call in flight answers this one too
    in_flight_ = true;
    ++calls_;
    lock.unlock();
    start_fetch(loop);
    return id;
}

void password_provider::start_fetch(event_loop& loop) {
    std::uint64_t fetch_id = 0;
    {
        std::lock_guard lock(mutex_);
        fetch_id = ++fetch_id_;
    }
    std::weak_ptr<password_provider> weak = weak_from_this();
    if (opts_.timeout.count() > 0) {
        deadline_ = std::make_unique<timer>(loop);
        deadline_->start(opts_.timeout, [weak, fetch_id, t = opts_.timeout, n = name_] {
            if (auto self = weak.lock()) {
                self->finish(fetch_id, error(errc::timeout, label(n) + " did not answer within " +
                                                                duration_text(t)));
            }
        });
    }
    const std::thread::id loop_thread = std::this_thread::get_id();
    // The answer may come from any thread; the waiters are completed on the
    // loop of the call, where its deadline timer lives.
    password_callback done = [weak, fetch_id, loop = &loop,
                              loop_thread](result<password_grant> r) mutable {
        auto self = weak.lock();
        if (!self) return;  // nobody waits any more
        if (std::this_thread::get_id() == loop_thread) {
            loop->defer([self = std::move(self), fetch_id, r = std::move(r)]() mutable {
                self->finish(fetch_id, std::move(r));
            });
        } else {
            loop->post([self = std::move(self), fetch_id, r = std::move(r)]() mutable {
                self->finish(fetch_id, std::move(r));
            });
        }
    };
    try {
        if (!fetch_) throw std::runtime_error("no function given");
        fetch_(loop, std::move(done));
    } catch (const std::exception& ex) {
        // Never inline: the connects waiting are told from the loop.
        loop.defer([weak, fetch_id, why = std::string(ex.what()), n = name_] {
            if (auto self = weak.lock())
                self->finish(fetch_id, error(errc::connect_failed, label(n) + " threw: " + why));
        });
    } catch (...) {
        loop.defer([weak, fetch_id, n = name_] {
            if (auto self = weak.lock())
                self->finish(fetch_id, error(errc::connect_failed, label(n) + " threw"));
        });
    }
}

void password_provider::finish(std::uint64_t fetch_id, result<password_grant> r) {
    std::vector<waiter> done;
    {
        std::lock_guard lock(mutex_);
        // A late answer (after its deadline) or a second one is ignored: the
        // waiters were told already.
        if (!in_flight_ || fetch_id != fetch_id_) return;
        in_flight_ = false;
        if (deadline_) deadline_->close();
        if (r && r->expires_at) {
            cached_ = r->password;
            cached_until_ = *r->expires_at;
        } else {
            cached_.reset();
        }
        done.swap(waiters_);
    }
    for (auto& w : done) {
        if (r) {
            deliver(std::move(w), r->password);
        } else {
            error e = r.err();
            // The provider's own words, behind its name; a provider that
            // already named itself is not named twice.
            if (e.message().rfind(name_, 0) != 0 && e.message().rfind(label(name_), 0) != 0) {
                e.with_message(label(name_) + " failed: " + e.message());
            }
            deliver(std::move(w), std::move(e));
        }
    }
}

void password_provider::deliver(waiter w, result<std::string> r) {
    auto run = [cb = std::move(w.cb), r = std::move(r)]() mutable { cb(std::move(r)); };
    if (std::this_thread::get_id() == w.thread) {
        w.loop->defer(std::move(run));
    } else {
        w.loop->post(std::move(run));
    }
}

std::shared_ptr<password_provider> make_password_provider(std::string name,
                                                          password_provider::fetch_function fetch,
                                                          password_provider_options opts) {
    return std::make_shared<password_provider>(std::move(name), std::move(fetch), std::move(opts));
}

void resolve_password(event_loop& loop, const connect_options& opts,
                      unique_function<void(result<connect_options>)> cb) {
    if (!opts.password_provider) {
        // A copy of its own (init-capture): a plain capture of `opts` would be
        // const, and moving it would copy.
        loop.defer([copy = opts, cb = std::move(cb)]() mutable { cb(std::move(copy)); });
        return;
    }
    auto provider = opts.password_provider;
    provider->get(loop, [opts = opts, cb = std::move(cb)](result<std::string> r) mutable {
        if (!r) return cb(std::move(r).err());
        opts.password = std::move(*r);
        opts.password_provider.reset();
        cb(std::move(opts));
    });
}

}  // namespace uvdb
