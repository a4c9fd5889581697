#include "kv_connection.hpp"

#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <uvdb/connection_adapter.hpp>
#include <uvdb/pending_completion.hpp>
#include <uvdb/timer.hpp>
#include <vector>

#include "kv_store.hpp"

namespace kv {

// Everything a connection is, kept alive by the application's connection
// (a uvdb::connection_adapter) and by any work it deferred to the loop, so a
// deferred callback never sees freed memory.
class session : public std::enable_shared_from_this<session> {
  public:
    enum class kind { query, script, ping, reset };
    struct op {
        kind k;
        std::string sql;
        uvdb::params p;
        std::chrono::milliseconds timeout{0};
        uvdb::pending_completion cb;
    };

    session(uvdb::event_loop& loop, std::string name, std::chrono::milliseconds default_timeout)
        : loop_(loop),
          name_(std::move(name)),
          default_timeout_(default_timeout),
          sleep_(loop),
          deadline_(loop) {}

    void start(uvdb::driver::connect_callback cb, std::optional<uvdb::error> bad_url) {
        loop_.defer(
            [self = shared_from_this(), cb = std::move(cb), bad = std::move(bad_url)]() mutable {
                if (self->closed_)
                    return cb(uvdb::error(uvdb::errc::closed, "kv: closed while connecting"));
                if (bad) {
                    self->closed_ = true;
                    self->fail_all(uvdb::errc::closed);
                    return cb(std::move(*bad));
                }
                self->store_ = open_store(self->name_);
                cb({});
                self->pump();
            });
    }

    // The uvdb::connection operations, reached through connection_adapter.
    void query(std::string_view sql, uvdb::params p, const uvdb::query_options& opts,
               uvdb::connection::query_callback cb) {
        push({kind::query, std::string(sql), std::move(p), opts.timeout, std::move(cb)});
    }
    void execute(std::string_view script, const uvdb::query_options& opts,
                 uvdb::connection::script_callback cb) {
        push({kind::script, std::string(script), {}, opts.timeout, std::move(cb)});
    }
    void ping(std::chrono::milliseconds, uvdb::connection::done_callback cb) {
        push({kind::ping, {}, {}, {}, std::move(cb)});
    }
    void reset(uvdb::connection::done_callback cb) {
        if (!is_idle()) return fail_reset(std::move(cb));
        push({kind::reset, {}, {}, {}, std::move(cb)});
    }

    void push(op o) {
        queue_.push_back(std::move(o));
        if (closed_) return fail_all(uvdb::errc::closed);
        if (store_) schedule_pump();
    }

    void cancel() {
        // Only a SLEEP is ever in flight; anything else answers at once.
        if (running_ && sleep_.active())
            finish_running(uvdb::error(uvdb::errc::cancelled, "kv: statement cancelled"));
    }

    // reset() while a statement is queued or runs: the contract makes that
    // fatal (the pool must not reuse a connection whose state is unknown).
    void fail_reset(uvdb::connection::done_callback cb) {
        close();
        loop_.defer([self = shared_from_this(), cb = std::move(cb)]() mutable {
            uvdb::error e(
                uvdb::errc::bad_input,
                "kv: reset() while a statement is still running; the connection was closed");
            cb(std::move(e.with_fatal(true)));
        });
    }

    uvdb::tx_status transaction_status() const noexcept {
        if (!tx_) return uvdb::tx_status::idle;
        return tx_->failed ? uvdb::tx_status::failed_transaction : uvdb::tx_status::in_transaction;
    }

    void close() {
        if (closed_) return;
        closed_ = true;
        sleep_.close();
        deadline_.close();
        fail_all(uvdb::errc::closed);
    }

    bool is_ready() const noexcept { return store_ && !closed_; }
    bool is_broken() const noexcept { return closed_; }
    bool is_idle() const noexcept { return queue_.empty() && !running_; }
    std::string describe() const { return "kv://" + name_; }

  private:
    void schedule_pump() {
        if (pump_scheduled_) return;
        pump_scheduled_ = true;
        loop_.defer([self = shared_from_this()] {
            self->pump_scheduled_ = false;
            self->pump();
        });
    }

    // Runs the statement at the head of the queue, if none is running.
    void pump() {
        if (running_ || closed_ || !store_ || queue_.empty()) return;
        running_ = true;
        op& o = queue_.front();
        switch (o.k) {
            case kind::ping:
                return finish_running(uvdb::result_set{});
            case kind::reset:
                tx_.reset();  // roll back whatever the last user left open
                return finish_running(uvdb::result_set{});
            case kind::script:
                return finish_running(run_script(o.sql));
            case kind::query:
                break;
        }
        outcome out = run_statement(*store_, tx_, o.sql, o.p);
        if (out.sleep.count() < 0) return finish_running(std::move(out.answer));
        auto timeout = o.timeout.count() >= 0 ? o.timeout : default_timeout_;
        if (timeout.count() > 0 && timeout < out.sleep) {
            deadline_.start(timeout, [this] {
                finish_running(uvdb::error(uvdb::errc::timeout, "kv: statement timed out"));
            });
        }
        sleep_.start(out.sleep, [this, answer = std::move(out.answer)]() mutable {
            finish_running(std::move(answer));
        });
    }

    uvdb::result<uvdb::result_set> run_script(const std::string& script) {
        // Answered as one result set per statement by the script callback; see finish_running.
        script_results_.clear();
        std::string_view rest = script;
        while (!rest.empty()) {
            auto semi = rest.find(';');
            auto stmt = rest.substr(0, semi);
            rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
            if (stmt.find_first_not_of(" \t\r\n") == std::string_view::npos) continue;
            outcome out = run_statement(*store_, tx_, stmt, {});
            if (!out.answer) return std::move(out.answer).err();
            if (out.sleep.count() >= 0) {
                return uvdb::error(uvdb::errc::bad_input, "kv: SLEEP is not allowed in a script");
            }
            script_results_.push_back(std::move(*out.answer));
        }
        return uvdb::result_set{};
    }

    // Completes the running statement on the loop (never inline) and moves on.
    void finish_running(uvdb::result<uvdb::result_set> r) {
        sleep_.stop();
        deadline_.stop();
        op o = std::move(queue_.front());
        queue_.pop_front();
        auto scripts = std::move(script_results_);
        loop_.defer([self = shared_from_this(), o = std::move(o), r = std::move(r),
                     scripts = std::move(scripts)]() mutable {
            self->running_ = false;
            deliver(o, std::move(r), std::move(scripts));
            self->pump();
        });
    }

    static void deliver(op& o, uvdb::result<uvdb::result_set> r,
                        std::vector<uvdb::result_set> scripts) {
        switch (o.k) {
            case kind::query:
                return o.cb.complete(std::move(r));
            case kind::script:
                if (!r) return o.cb.fail(r.err());
                return o.cb.complete(
                    uvdb::result<std::vector<uvdb::result_set>>(std::move(scripts)));
            case kind::ping:
            case kind::reset:
                if (!r) return o.cb.fail(r.err());
                return o.cb.complete(uvdb::result<void>());
        }
    }

    // Every queued statement (and the running one) gets `code`, on the loop.
    void fail_all(uvdb::errc code) {
        std::deque<op> ops;
        ops.swap(queue_);
        if (ops.empty()) return;
        loop_.defer([self = shared_from_this(), ops = std::move(ops), code]() mutable {
            self->running_ = false;
            for (auto& o : ops) {
                auto e = uvdb::error(code, "kv: connection closed before the statement completed");
                o.cb.fail(e.with_fatal(true));
            }
        });
    }

    uvdb::event_loop& loop_;
    std::string name_;
    std::chrono::milliseconds default_timeout_;
    std::shared_ptr<store> store_;   // set once connected
    std::optional<transaction> tx_;  // the open transaction, if any
    std::deque<op> queue_;           // front() is the running one while running_
    std::vector<uvdb::result_set> script_results_;
    uvdb::timer sleep_;
    uvdb::timer deadline_;
    bool running_ = false;
    bool closed_ = false;
    bool pump_scheduled_ = false;
};

namespace {

// "kv://name" → name; the name is [A-Za-z0-9_-]+, "default" when empty.
uvdb::result<std::string> store_name(std::string_view url) {
    constexpr std::string_view scheme = "kv://";
    if (url.size() < scheme.size() || url.substr(0, scheme.size()) != scheme) {
        return uvdb::error(uvdb::errc::bad_config,
                           "kv: the URL must start with kv:// (e.g. kv://cache)");
    }
    std::string name(url.substr(scheme.size()));
    if (name.empty()) return std::string("default");
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok) {
            return uvdb::error(
                uvdb::errc::bad_config,
                "kv: a store name may hold letters, digits, '_' and '-' only (kv://name)");
        }
    }
    return name;
}

}  // namespace

std::unique_ptr<uvdb::connection> open_connection(uvdb::event_loop& loop,
                                                  const uvdb::connect_options& opts,
                                                  uvdb::driver::connect_callback on_connected) {
    auto name = store_name(opts.url);
    auto s =
        std::make_shared<session>(loop, name ? *name : std::string("invalid"), opts.query_timeout);
    std::optional<uvdb::error> bad;
    if (!name) bad = std::move(name).err().with_fatal(true);
    s->start(std::move(on_connected), std::move(bad));
    return std::make_unique<uvdb::connection_adapter<session, std::shared_ptr<session>>>(
        std::move(s));
}

}  // namespace kv
