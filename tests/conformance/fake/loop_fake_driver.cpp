#include "loop_fake_driver.hpp"

#include <charconv>
#include <deque>
#include <string>
#include <uvdb/connection_adapter.hpp>
#include <uvdb/pending_completion.hpp>
#include <uvdb/timer.hpp>

namespace uvdb::test {
namespace {

using namespace std::chrono_literals;

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\n')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.remove_suffix(1);
    return std::string(s);
}

std::optional<std::string> text_of(param_view p) {
    static constexpr char hex[] = "0123456789abcdef";
    switch (p.type()) {
        case param::kind::null:
            return std::nullopt;
        case param::kind::boolean:
            return p.as_bool() ? "t" : "f";
        case param::kind::int16:
        case param::kind::int32:
        case param::kind::int64:
            return std::to_string(p.as_int());
        case param::kind::float32:
        case param::kind::float64: {
            char buf[32];
            auto [end, ec] = std::to_chars(buf, buf + sizeof buf, p.as_double());
            return std::string(buf, ec == std::errc() ? end : buf);
        }
        case param::kind::text:
            return std::string(p.as_text());
        case param::kind::binary: {
            std::string out = "\\x";
            for (std::byte b : p.as_bytes()) {
                out += hex[std::to_integer<int>(b) >> 4];
                out += hex[std::to_integer<int>(b) & 0xf];
            }
            return out;
        }
    }
    return std::nullopt;
}

column_kind kind_of(param_view p) {
    switch (p.type()) {
        case param::kind::int16:
        case param::kind::int32:
        case param::kind::int64:
            return column_kind::int64;
        case param::kind::float32:
        case param::kind::float64:
            return column_kind::float64;
        case param::kind::binary:
            return column_kind::binary;
        case param::kind::boolean:
            return column_kind::boolean;
        default:
            return column_kind::text;
    }
}

struct op {
    enum class kind { query, script, ping, reset } k = kind::query;
    std::string sql;
    params args;
    std::chrono::milliseconds timeout{0};
    pending_completion cb;
};

class fake_state : public std::enable_shared_from_this<fake_state> {
  public:
    fake_state(event_loop& loop, connect_options opts)
        : loop_(loop), opts_(std::move(opts)), sleep_(loop), deadline_(loop) {}

    void start(driver::connect_callback cb) {
        on_connected_ = std::move(cb);
        loop_.defer([self = shared_from_this()] {
            if (self->closed_) return;
            if (self->opts_.url == "fake://ok") {
                self->ready_ = true;
                if (auto cb = std::move(self->on_connected_)) cb(result<void>());
                self->pump();
            } else {
                self->broken_ = true;
                self->reason_ = error(errc::connect_failed, "fake: cannot reach " + self->opts_.url)
                                    .with_fatal(true);
                if (auto cb = std::move(self->on_connected_)) cb(result<void>(self->reason_));
                self->fail_all(self->reason_);
            }
        });
    }

    void submit(op o) {
        if (closed_ || broken_) {
            error e = closed_ ? error(errc::closed, "fake: closed")
                              : error(errc::connection_lost, "fake: broken: " + reason_.message())
                                    .with_fatal(true);
            loop_.defer([o = std::move(o), e]() mutable { complete(o, e); });
            return;
        }
        queue_.push_back(std::move(o));
        if (ready_ && !running_) loop_.defer([self = shared_from_this()] { self->pump(); });
    }

    // The uvdb::connection operations, reached through connection_adapter.
    void query(std::string_view sql, params p, const query_options& o,
               connection::query_callback cb) {
        op x;
        x.sql = sql;
        x.args = std::move(p);
        x.timeout = o.timeout;
        x.cb = std::move(cb);
        submit(std::move(x));
    }
    void execute(std::string_view sql, const query_options& o, connection::script_callback cb) {
        op x;
        x.k = op::kind::script;
        x.sql = sql;
        x.timeout = o.timeout;
        x.cb = std::move(cb);
        submit(std::move(x));
    }
    void ping(std::chrono::milliseconds, connection::done_callback cb) {
        op x;
        x.k = op::kind::ping;
        x.cb = std::move(cb);
        submit(std::move(x));
    }

    void reset(connection::done_callback cb) {
        if (!closed_ && !broken_ && (running_ || !queue_.empty())) {
            broken_ = true;
            reason_ = error(errc::bad_input, "fake: reset while a statement runs").with_fatal(true);
            loop_.defer([cb = std::move(cb), e = reason_]() mutable { cb(result<void>(e)); });
            fail_all(error(errc::connection_lost, "fake: broken by reset").with_fatal(true));
            return;
        }
        op o;
        o.k = op::kind::reset;
        o.cb = std::move(cb);
        submit(std::move(o));
    }

    void cancel() {
        if (running_ && sleeping_) stop_sleep(error(errc::cancelled, "fake: cancelled"));
    }
    void kill() { killed_ = true; }

    void close() {
        if (closed_) return;
        closed_ = broken_ = true;
        ready_ = false;
        sleep_.close();
        deadline_.close();
        if (on_connected_)
            loop_.defer([cb = std::move(on_connected_)]() mutable {
                cb(result<void>(error(errc::closed, "fake: closed")));
            });
        on_connected_ = nullptr;
        if (running_) queue_.push_front(std::move(current_));
        running_ = sleeping_ = false;
        fail_all(error(errc::closed, "fake: closed"));
    }

    bool is_ready() const noexcept { return ready_ && !broken_; }
    bool is_broken() const noexcept { return broken_; }
    bool is_idle() const noexcept { return queue_.empty() && !running_; }
    tx_status transaction_status() const noexcept {
        return !is_ready() ? tx_status::unknown
               : in_tx_    ? tx_status::in_transaction
                           : tx_status::idle;
    }
    std::string describe() const { return "loop fake"; }

  private:
    static void complete(op& o, const error& e) { o.cb.fail(e); }

    void fail_all(const error& e) {
        std::deque<op> q = std::move(queue_);
        queue_.clear();
        for (op& o : q) loop_.defer([o = std::move(o), e]() mutable { complete(o, e); });
    }

    // Runs the front operation (always from a deferred function: never inline).
    void pump() {
        if (running_ || !ready_ || broken_ || queue_.empty()) return;
        current_ = std::move(queue_.front());
        queue_.pop_front();
        running_ = true;
        if (killed_)
            return finish_error(
                error(errc::connection_lost, "fake: the link dropped").with_fatal(true));
        switch (current_.k) {
            case op::kind::ping:
                return finish_void();
            case op::kind::reset:
                pending_ = 0;
                in_tx_ = false;
                return finish_void();
            case op::kind::query: {
                if (trim(current_.sql) == "SLEEP") return start_sleep();
                auto r = statement(current_.sql, current_.args);
                if (!r) return finish_error(std::move(r).err());
                running_ = false;
                current_.cb.complete(std::move(r));
                return pump();
            }
            case op::kind::script: {
                std::vector<result_set> out;
                std::string_view rest = current_.sql;
                while (!rest.empty()) {
                    auto semi = rest.find(';');
                    std::string one = trim(rest.substr(0, semi));
                    rest =
                        semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
                    if (one.empty()) continue;
                    auto r = statement(one, {});
                    if (!r) return finish_error(std::move(r).err());
                    out.push_back(std::move(r).value());
                }
                running_ = false;
                current_.cb.complete(result<std::vector<result_set>>(std::move(out)));
                return pump();
            }
        }
    }

    void finish_void() {
        running_ = false;
        current_.cb.complete(result<void>());
        pump();
    }

    void finish_error(error e) {
        running_ = false;
        if (e.is_fatal()) {
            broken_ = true;
            reason_ = e;
        }
        op o = std::move(current_);
        complete(o, e);
        if (broken_) fail_all(error(errc::connection_lost, "fake: broken").with_fatal(true));
        pump();
    }

    void start_sleep() {
        sleeping_ = true;
        sleep_.start(
            60s, [this] { loop_.defer([self = shared_from_this()] { self->stop_sleep({}); }); });
        auto t = current_.timeout.count() > 0 ? current_.timeout : opts_.query_timeout;
        if (t.count() > 0)
            deadline_.start(t, [this] {
                loop_.defer([self = shared_from_this()] {
                    self->stop_sleep(error(errc::timeout, "fake: deadline passed"));
                });
            });
    }

    void stop_sleep(std::optional<error> e) {
        if (!running_ || !sleeping_) return;
        sleeping_ = false;
        sleep_.stop();
        deadline_.stop();
        if (e) {
            // cancel() is an application call: complete later, never inline.
            loop_.defer([self = shared_from_this(), e = *e] {
                if (self->running_) self->finish_error(e);
            });
            return;
        }
        running_ = false;
        owned_result::column col{"sleep", column_kind::int64, 0, "int8"};
        auto r = std::make_unique<owned_result>(std::vector<owned_result::column>{col});
        r->add_row({std::string("0")});
        current_.cb.complete(result<result_set>(result_set(std::move(r))));
        pump();
    }

    result<result_set> statement(const std::string& sql, const params& args) {
        std::string s = trim(sql);
        std::string word = s.substr(0, s.find(' '));
        std::string arg =
            s.size() > word.size() ? trim(std::string_view(s).substr(word.size())) : "";
        auto one_int = [](std::string name, std::int64_t v) {
            auto r = std::make_unique<owned_result>(std::vector<owned_result::column>{
                {std::move(name), column_kind::int64, 0, "int8"}});
            r->add_row({std::to_string(v)});
            return result_set(std::move(r));
        };
        auto empty = [] { return result_set(std::make_unique<owned_result>()); };
        if (word == "SELECT") return one_int("n", std::stoll(arg.empty() ? "0" : arg));
        if (word == "ECHO") {
            std::size_t k = arg.empty() ? 0 : std::stoul(arg);
            if (args.size() != k)
                return error(errc::server_error, "fake: ECHO " + arg + " needs " + arg +
                                                     " parameters, got " +
                                                     std::to_string(args.size()))
                    .with_server_text("wrong parameter count");
            std::vector<owned_result::column> cols;
            std::vector<std::optional<std::string>> row;
            for (std::size_t i = 0; i < k; ++i) {
                cols.push_back({"c" + std::to_string(i + 1), kind_of(args[i]), 0, "fake"});
                row.push_back(text_of(args[i]));
            }
            auto r = std::make_unique<owned_result>(std::move(cols));
            r->add_row(std::move(row));
            return result_set(std::move(r));
        }
        if (word == "BOOM")
            return error(errc::server_error, "fake: syntax error")
                .with_sqlstate("42601")
                .with_server_text("syntax error at BOOM");
        if (word == "CREATE") return empty();
        if (word == "BEGIN") {
            in_tx_ = true;
            return empty();
        }
        if (word == "INSERT") {
            (in_tx_ ? pending_ : committed_) += 1;
            return empty();
        }
        if (word == "COUNT") return one_int("count", committed_ + pending_);
        if (word == "ROLLBACK") {
            in_tx_ = false;
            pending_ = 0;
            return empty();
        }
        if (word == "COMMIT") {
            in_tx_ = false;
            committed_ += pending_;
            pending_ = 0;
            return empty();
        }
        return error(errc::server_error, "fake: unknown statement")
            .with_server_text("unknown: " + word);
    }

    event_loop& loop_;
    connect_options opts_;
    timer sleep_;
    timer deadline_;
    driver::connect_callback on_connected_;
    std::deque<op> queue_;
    op current_;
    bool ready_ = false, broken_ = false, closed_ = false, running_ = false, sleeping_ = false,
         killed_ = false, in_tx_ = false;
    std::int64_t committed_ = 0, pending_ = 0;
    error reason_;
};

/// The object the application holds; kill_loop_fake() reaches the state through it.
using fake_connection = connection_adapter<fake_state, std::shared_ptr<fake_state>>;

class loop_fake_driver final : public driver {
  public:
    std::string_view name() const noexcept override { return "fake"; }
    std::vector<std::string> schemes() const override { return {"fake"}; }
    std::unique_ptr<connection> connect(event_loop& loop, const connect_options& opts,
                                        connect_callback cb) override {
        auto s = std::make_shared<fake_state>(loop, opts);
        s->start(std::move(cb));
        return std::make_unique<fake_connection>(std::move(s));
    }
};

}  // namespace

std::shared_ptr<uvdb::driver> make_loop_fake_driver() {
    return std::make_shared<loop_fake_driver>();
}

bool kill_loop_fake(connection& c) {
    auto* f = dynamic_cast<fake_connection*>(&c);
    if (f == nullptr) return false;
    f->impl().kill();
    return true;
}

}  // namespace uvdb::test
