#include "unit/support/fake_driver.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>
#include <uvdb/result_set.hpp>

namespace uvdb::test {

error lost_error() {
    return error(errc::connection_lost, "the server closed the connection (fake)")
        .with_sqlstate("57P01")
        .with_fatal(true);
}
error refused_error() {
    return error(errc::connect_failed, "connection refused (fake)").with_fatal(true);
}
error auth_error() {
    return error(errc::auth_failed, "password authentication failed (fake)").with_fatal(true);
}
error too_many_error() {
    return error(errc::too_many_connections, "too many connections for role (fake)")
        .with_sqlstate("53300")
        .with_fatal(true);
}

// ---------------------------------------------------------------- driver

fake_driver::fake_driver(std::shared_ptr<detail::timer_source> timers)
    : st_(std::make_shared<fake_state>()) {
    st_->timers = std::move(timers);
}

void fake_driver::kill_all() {
    for (fake_connection* c : st_->live) c->kill();
}

std::unique_ptr<connection> fake_driver::connect(event_loop& loop, const connect_options& opts,
                                                 connect_callback on_connected) {
    st_->passwords.push_back(opts.password);
    return std::make_unique<fake_connection>(loop, st_, next_id_++, std::move(on_connected),
                                             opts.pipeline_depth);
}

// ---------------------------------------------------------------- connection

fake_connection::fake_connection(event_loop& loop, std::shared_ptr<fake_state> st, std::uint64_t id,
                                 driver::connect_callback on_connected, std::size_t pipeline_depth)
    : loop_(loop), st_(std::move(st)), id_(id), depth_(std::max<std::size_t>(pipeline_depth, 1)) {
    st_->live.push_back(this);
    op o{kind::connect, {}, {}, std::move(on_connected), {}, {}, {}, {}};
    push(std::move(o));
}

fake_connection::~fake_connection() { close(); }

event_loop::clock::time_point fake_connection::now() const noexcept {
    return st_->timers ? st_->timers->now() : loop_.now();
}

void fake_connection::push(op o) {
    if (closed_) {
        // Operations on a closed connection fail, on the next loop turn.
        std::vector<op> doomed;
        doomed.push_back(std::move(o));
        loop_.defer([doomed = std::move(doomed)]() mutable {
            for (op& d : doomed) {
                error e(errc::closed, "the connection is closed (fake)");
                if (d.query_cb) d.query_cb(e);
                if (d.script_cb) d.script_cb(e);
                if (d.done_cb) d.done_cb(e);
                if (d.connect_cb) d.connect_cb(e);
            }
        });
        return;
    }
    // Sent at once while the pipeline has room; the rest when it gets some.
    if (ops_.size() < depth_) o.sent_at = now();
    ops_.push_back(std::move(o));
    st_->max_pending = std::max(st_->max_pending, ops_.size());
    start_front();
}

void fake_connection::start_front() {
    if (running_ || closed_ || ops_.empty()) return;
    running_ = true;
    op& o = ops_.front();
    std::optional<error> failure;
    std::chrono::milliseconds latency{0};
    fake_state& st = *st_;
    switch (o.k) {
        case kind::connect: {
            const std::size_t attempt = st.connect_attempts++;
            if (!st.connect_script.empty()) {
                failure = st.connect_script.front();
                st.connect_script.pop_front();
            } else if (st.connect_fault) {
                failure = st.connect_fault(attempt);
            }
            latency = st.connect_latency;
            break;
        }
        case kind::query:
        case kind::execute: {
            ++st.queries;
            latency = st.query_latency;
            std::string_view sql = o.sql;
            if (st.record_sql) st.sql_log.push_back(o.sql);
            if (sql.substr(0, 6) == "SLEEP ") {
                long long ms = 0;
                std::from_chars(sql.data() + 6, sql.data() + sql.size(), ms);
                latency = std::chrono::milliseconds(ms);
            }
            if (fatal_) {
                failure = fatal_;  // behind a fatal error: the same error, at once
                latency = std::chrono::milliseconds{0};
            } else if (dead_) {
                failure = lost_error();
            } else if (sql == "FAIL") {
                failure = error(errc::server_error, "syntax error (fake)").with_sqlstate("42601");
            } else if (st.query_fault) {
                failure = st.query_fault(*this, sql);
            }
            if (!failure && o.deadline.count() > 0 && latency > o.deadline) {
                // As a driver does: cancelled at the statement's timeout, the connection still
                // usable.
                latency = o.deadline;
                failure = error(errc::timeout, "statement timed out (fake)").with_sqlstate("57014");
            }
            break;
        }
        case kind::ping:
            ++st.pings;
            if (st.record_sql) st.ping_deadlines.push_back(o.deadline);
            latency = st.ping_latency;
            if (dead_) {
                failure = lost_error();
            } else if (st.ping_hangs || st.ping_latency > o.deadline) {
                latency = o.deadline;
                failure = error(errc::timeout, "ping timed out (fake)").with_fatal(true);
            } else if (st.ping_fault) {
                failure = st.ping_fault(*this);
            }
            break;
        case kind::reset:
            ++st.resets;
            latency = st.reset_latency;
            if (dead_) {
                failure = lost_error();
            } else if (st.reset_fault) {
                failure = st.reset_fault(*this);
            }
            break;
    }
    pending_failure_ = std::move(failure);
    std::weak_ptr<int> alive = alive_;
    if (latency.count() > 0 && st.timers) {
        timer_ = st.timers->schedule(st.timers->now() + latency, [this, alive] {
            if (alive.expired()) return;
            timer_ = 0;
            finish_front();
        });
    } else {
        loop_.defer([this, alive] {
            if (alive.expired()) return;
            finish_front();
        });
    }
}

void fake_connection::finish_front() {
    if (closed_ || ops_.empty() || !running_) return;
    running_ = false;
    op o = std::move(ops_.front());
    ops_.pop_front();
    if (ops_.size() >= depth_) ops_[depth_ - 1].sent_at = now();  // now within the depth
    std::optional<error> failure = std::move(pending_failure_);
    pending_failure_.reset();
    if (cancel_requested_ && (o.k == kind::query || o.k == kind::execute)) {
        failure = error(errc::cancelled, "canceling statement due to user request (fake)")
                      .with_sqlstate("57014");
    }
    cancel_requested_ = false;
    std::weak_ptr<int> alive = alive_;
    complete(o, std::move(failure));
    if (alive.expired()) return;  // the callback destroyed us
    start_front();
}

void fake_connection::complete(op& o, std::optional<error> failure) {
    if (failure && failure->is_fatal()) {
        broken_ = true;
        if ((o.k == kind::query || o.k == kind::execute) && !fatal_) fatal_ = failure;
    }
    switch (o.k) {
        case kind::connect:
            if (failure) {
                broken_ = true;
                o.connect_cb(std::move(*failure));
            } else {
                connected_ = true;
                ++st_->connected;
                o.connect_cb(result<void>{});
            }
            return;
        case kind::query:
        case kind::execute: {
            if (failure) {
                if (tx_ == tx_status::in_transaction) tx_ = tx_status::failed_transaction;
                if (o.query_cb) o.query_cb(std::move(*failure));
                if (o.script_cb) o.script_cb(std::move(*failure));
                return;
            }
            // As PostgreSQL: BEGIN takes options after the keyword, and
            // COMMIT of a failed transaction answers with the tag ROLLBACK.
            std::string tag;
            if (o.sql.rfind("BEGIN", 0) == 0) {
                tx_ = tx_status::in_transaction;
            } else if (o.sql.rfind("ROLLBACK TO SAVEPOINT", 0) == 0) {
                // As PostgreSQL: rolling back to a savepoint ends the failed state.
                if (tx_ == tx_status::failed_transaction) tx_ = tx_status::in_transaction;
            } else if (o.sql == "COMMIT" || o.sql == "ROLLBACK") {
                tag =
                    o.sql == "COMMIT" && tx_ == tx_status::failed_transaction ? "ROLLBACK" : o.sql;
                tx_ = tx_status::idle;
            }
            auto rows = std::make_unique<owned_result>(
                std::vector<owned_result::column>{{"?column?", column_kind::int32, 23, "int4"}});
            rows->add_row({std::string("1")});
            if (!tag.empty()) rows->set_command_tag(std::move(tag));
            if (o.query_cb) {
                o.query_cb(result_set(std::move(rows)));
            } else if (o.script_cb) {
                std::vector<result_set> sets;
                sets.emplace_back(std::move(rows));
                o.script_cb(std::move(sets));
            }
            return;
        }
        case kind::ping:
            if (failure) {
                broken_ = true;
                o.done_cb(std::move(*failure));
            } else {
                o.done_cb(result<void>{});
            }
            return;
        case kind::reset:
            if (failure) {
                broken_ = true;
                o.done_cb(std::move(*failure));
            } else {
                tx_ = tx_status::idle;
                o.done_cb(result<void>{});
            }
            return;
    }
}

void fake_connection::query(std::string_view sql, params p, const query_options& opts,
                            query_callback cb) {
    // Read every parameter as a driver binds it (text as a C string, as libpq
    // takes it), so a view into the wrong memory shows under the sanitizers.
    for (const param_view v : p) {
        if (v.type() == param::kind::text) {
            st_->param_bytes_read += std::strlen(v.text_c_str());
        } else if (v.type() == param::kind::binary) {
            st_->param_bytes_read += v.as_bytes().size();
            for (std::byte b : v.as_bytes()) st_->param_byte_sum += std::to_integer<unsigned>(b);
        }
    }
    st_->params_bound += p.size();
    if (st_->record_params) st_->last_params = p;
    if (st_->record_sql) {
        st_->query_timeouts.push_back(opts.timeout);
        st_->param_counts.push_back(p.size());
    }
    op o{kind::query, std::string(sql), opts.timeout, {}, std::move(cb), {}, {}, {}};
    push(std::move(o));
}

void fake_connection::execute(std::string_view script, const query_options& opts,
                              script_callback cb) {
    op o{kind::execute, std::string(script), opts.timeout, {}, {}, std::move(cb), {}, {}};
    push(std::move(o));
}

void fake_connection::ping(std::chrono::milliseconds deadline, done_callback cb) {
    op o{kind::ping, {}, deadline, {}, {}, {}, std::move(cb), {}};
    push(std::move(o));
}

void fake_connection::reset(done_callback cb) {
    if (!ops_.empty()) {
        // Contract: reset fails (fatal) while a query still runs.
        broken_ = true;
        loop_.defer([cb = std::move(cb)]() mutable {
            cb(error(errc::bad_input, "reset while a query runs (fake)").with_fatal(true));
        });
        return;
    }
    op o{kind::reset, {}, {}, {}, {}, {}, std::move(cb), {}};
    push(std::move(o));
}

void fake_connection::cancel() {
    if (!running_ || ops_.empty()) return;
    const kind k = ops_.front().k;
    if (k != kind::query && k != kind::execute) return;
    cancel_requested_ = true;
    if (timer_ != 0 && st_->timers) {
        st_->timers->cancel(timer_);
        timer_ = 0;
        std::weak_ptr<int> alive = alive_;
        loop_.defer([this, alive] {
            if (alive.expired()) return;
            finish_front();
        });
    }
}

void fake_connection::mark_closed() noexcept {
    closed_ = true;
    broken_ = true;
    auto& live = st_->live;
    live.erase(std::remove(live.begin(), live.end(), this), live.end());
    ++st_->closes;
}

void fake_connection::close() {
    if (closed_) return;
    mark_closed();
    if (timer_ != 0 && st_->timers) st_->timers->cancel(timer_);
    timer_ = 0;
    running_ = false;
    if (ops_.empty()) return;
    std::vector<op> doomed(std::make_move_iterator(ops_.begin()),
                           std::make_move_iterator(ops_.end()));
    ops_.clear();
    loop_.defer([doomed = std::move(doomed)]() mutable {
        for (op& d : doomed) {
            error e(errc::closed, "the connection was closed (fake)");
            if (d.query_cb) d.query_cb(e);
            if (d.script_cb) d.script_cb(e);
            if (d.done_cb) d.done_cb(e);
            if (d.connect_cb) d.connect_cb(e);
        }
    });
}

}  // namespace uvdb::test
