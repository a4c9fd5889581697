#include "workers.hpp"

#include <string>
#include <utility>
#include <uvdb/param.hpp>

namespace uvdb::bench {

namespace {

constexpr std::string_view select_one = "SELECT 1";
constexpr int rag_queries = 10;
constexpr int batch_statements = 100;

bool answer_is(const result_set& rs, int expected) {
    if (rs.size() != 1 || rs.columns() != 1) return false;
    auto v = rs[0].try_get<int>(0);
    return v && *v == expected;
}

}  // namespace

std::string_view rag_sql_for(const driver& drv) noexcept {
    if (drv.name() == "postgresql") return "SELECT $1::int + 1";
    return "SELECT CAST($1 AS INTEGER) + 1";
}

std::string_view batch_sql_for(const driver& drv) noexcept {
    if (drv.name() == "postgresql") return "SELECT $1::int";
    return "SELECT CAST($1 AS INTEGER)";
}

void worker::start(phase& ph, std::size_t ops) {
    ph_ = &ph;
    left_ = ops;
    next();
}

void worker::next() {
    if (left_ == 0) return finish();
    const auto now = bench_clock::now();
    if (now >= ph_->stop_starting_at) {
        ph_->capped = true;
        return finish();
    }
    --left_;
    ++ph_->started;
    t0_ = now;
    if (ph_->kind == op_kind::unpooled) {
        connect();
    } else if (ph_->kind == op_kind::batch) {
        send_batch();
    } else if (ph_->kind == op_kind::pool_query) {
        ph_->pool->query(select_one, [this](result<result_set> r) {
            if (!r) return op_failed(r.err());
            if (!answer_is(*r, 1)) return op_wrong(*r, 1);
            op_done();
        });
    } else {
        acquire();
    }
}

void worker::finish() {
    if (--ph_->running == 0) ph_->finished_at = bench_clock::now();
}

void worker::connect() {
    conn_ = ph_->drv->connect(*ph_->loop, *ph_->connection, [this](result<void> r) {
        if (!r) {
            conn_.reset();
            return op_failed(r.err());
        }
        conn_->query(select_one, [this](result<result_set> q) { on_result(std::move(q)); });
    });
}

void worker::acquire() {
    // The same fast path as co_await pool.acquire(): a ready connection
    // is taken at once, otherwise the worker waits in the pool's queue.
    if (auto l = ph_->pool->try_acquire()) return on_lease(std::move(*l));
    ph_->pool->acquire([this](result<lease> r) {
        if (!r) return op_failed(r.err());
        on_lease(std::move(r).value());
    });
}

void worker::on_lease(lease l) {
    ph_->acquire_ns += (bench_clock::now() - t0_).count();
    ++ph_->acquired;
    lease_ = std::move(l);
    k_ = 0;
    send();
}

void worker::send() {
    if (ph_->kind == op_kind::rag) {
        lease_->query(ph_->rag_sql, make_params(k_),
                      [this](result<result_set> r) { on_result(std::move(r)); });
    } else {
        lease_->query(select_one, [this](result<result_set> r) { on_result(std::move(r)); });
    }
}

void worker::on_result(result<result_set> r) {
    if (!r) {
        give_back_after(r.err());
        return op_failed(r.err());
    }
    const int expected = ph_->kind == op_kind::rag ? k_ + 1 : 1;
    if (!answer_is(*r, expected)) {
        give_back();
        return op_wrong(*r, expected);
    }
    if (ph_->kind == op_kind::rag && ++k_ < rag_queries) return send();
    give_back();
    op_done();
}

void worker::send_batch() {
    // pool.batch takes one connection for the whole batch and gives it back.
    batch b(ph_->batch_mode);
    b.reserve(batch_statements, batch_statements * ph_->batch_sql.size());
    for (int k = 0; k < batch_statements; ++k) b.add(ph_->batch_sql, k);
    ph_->pool->batch(std::move(b), [this](result<batch_results> r) { on_batch(std::move(r)); });
}

void worker::on_batch(result<batch_results> r) {
    if (!r) return op_failed(r.err());
    if (r->size() != batch_statements) {
        ph_->failures.add_wrong_result("expected " + std::to_string(batch_statements) +
                                       " results, got " + std::to_string(r->size()));
        ++ph_->completed;
        return next();
    }
    for (int k = 0; k < batch_statements; ++k) {
        const auto& one = (*r)[static_cast<std::size_t>(k)];
        if (!one) return op_failed(one.err());
        if (!answer_is(*one, k)) return op_wrong(*one, k);
    }
    op_done();
}

void worker::give_back_after(const error& e) {
    if (conn_) {
        conn_.reset();
    } else if (e.is_fatal()) {
        lease_.invalidate(e);
    } else {
        lease_.release();
    }
}

void worker::give_back() {
    // Unpooled: destroying the handle closes the connection (legal inside
    // its own callback; the driver tears down after the callback returns).
    if (conn_) {
        conn_.reset();
    } else {
        lease_.release();
    }
}

void worker::op_done() {
    if (ph_->latencies != nullptr) ph_->latencies->record((bench_clock::now() - t0_).count());
    ++ph_->completed;
    next();
}

void worker::op_failed(const error& e) {
    ph_->failures.add(e);
    ++ph_->completed;
    next();
}

void worker::op_wrong(const result_set& rs, int expected) {
    std::string got = rs.size() == 1 && rs.columns() >= 1 ? std::string(rs[0].text(0))
                                                          : std::to_string(rs.size()) + " rows";
    ph_->failures.add_wrong_result("expected " + std::to_string(expected) + ", got " + got);
    ++ph_->completed;
    next();
}

}  // namespace uvdb::bench
