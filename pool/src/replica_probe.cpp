// The built-in lag source: a dedicated connection per node (never a pooled
// lease, so a busy or exhausted pool cannot delay or starve the probe) and
// replication lag measured from WAL positions.
//
// Why WAL positions and not pg_last_xact_replay_timestamp(): the replay
// timestamp is the commit time of the last transaction replayed, so on a
// primary where nothing is written it grows by a second every second and an
// idle, fully caught-up replica would look as far behind as the time since
// the last write. It also compares two machines' clocks. Instead each round
// samples the primary's position (pg_current_wal_lsn()) and keeps a history
// of (position, time of the first sample at that position) on this process's
// steady clock; a replica whose replayed position (pg_last_wal_replay_lsn())
// is P is as far behind as the time since the primary first went past P. A
// replica that replayed the primary's latest sample has lag 0, however long
// ago the last write was. The figure is a lower bound that is at most one
// probe interval low: the write that went past P happened somewhere between
// that sample and the one before it.

#include <algorithm>
#include <charconv>
#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <uvdb/routing_pool.hpp>
#include <vector>

namespace uvdb {
namespace {

using probe_clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Subtracting '0/0' turns an LSN into a byte count a client can compare.
constexpr std::string_view primary_sql = "SELECT (pg_current_wal_lsn() - '0/0')::int8";
constexpr std::string_view replica_sql =
    "SELECT (pg_last_wal_replay_lsn() - '0/0')::int8, pg_is_in_recovery()";

// Enough for an hour of constant writes at one sample a second; samples at
// an unchanged position are not added, so an idle primary keeps one.
constexpr std::size_t max_history = 3'600;

std::optional<std::int64_t> to_int(std::string_view s) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}

class probe_lag_source final : public lag_source,
                               public std::enable_shared_from_this<probe_lag_source> {
  public:
    probe_lag_source(event_loop& loop, std::shared_ptr<driver> drv, connect_options primary,
                     std::vector<connect_options> replicas, milliseconds timeout)
        : loop_(loop), drv_(std::move(drv)), timeout_(timeout) {
        primary_.opts = std::move(primary);
        for (auto& r : replicas) {
            node n;
            n.opts = std::move(r);
            replicas_.push_back(std::move(n));
        }
        for (node* n : all()) n->opts.application_name = "uvdb-replica-probe";
    }

    ~probe_lag_source() override { close(); }

    void measure(callback cb) override {
        auto self = shared_from_this();
        run(primary_, primary_sql, [self, cb = std::move(cb)](result<result_set> r) mutable {
            self->primary_sampled(std::move(r));
            self->measure_replicas(std::move(cb));
        });
    }

    void close() noexcept override {
        closed_ = true;
        for (node* n : all()) drop(*n);
    }

  private:
    struct node {
        connect_options opts;
        std::unique_ptr<connection> conn;
        bool ready = false;
    };
    struct sample {
        std::int64_t lsn;
        probe_clock::time_point at;
    };

    std::vector<node*> all() {
        std::vector<node*> v{&primary_};
        for (auto& n : replicas_) v.push_back(&n);
        return v;
    }

    // A broken or failed connection is closed and destroyed off its own
    // callback; the next round opens a new one.
    void drop(node& n) noexcept {
        n.ready = false;
        if (!n.conn) return;
        std::shared_ptr<connection> c(std::move(n.conn));
        c->close();
        loop_.defer([c] {});
    }

    // Runs `sql` on the node's probe connection, connecting first when needed.
    void run(node& n, std::string_view sql, unique_function<void(result<result_set>)> cb) {
        if (closed_) {
            return loop_.defer([cb = std::move(cb)]() mutable {
                cb(error(errc::closed, "the replica probe is closed"));
            });
        }
        auto self = shared_from_this();
        if (n.conn && n.ready && !n.conn->is_broken()) {
            n.conn->query(sql, params{}, query_options{timeout_},
                          [self, &n, cb = std::move(cb)](result<result_set> r) mutable {
                              if (!r) self->drop(n);
                              cb(std::move(r));
                          });
            return;
        }
        drop(n);
        n.conn = drv_->connect(loop_, n.opts,
                               [self, &n, sql, cb = std::move(cb)](result<void> r) mutable {
                                   if (!r || self->closed_) {
                                       self->drop(n);
                                       if (r)
                                           r = error(errc::closed, "the replica probe is closed");
                                       return cb(std::move(r).err());
                                   }
                                   n.ready = true;
                                   self->run(n, sql, std::move(cb));
                               });
    }

    void primary_sampled(result<result_set> r) {
        if (!r || r->size() != 1) return;  // judged against the history so far
        auto lsn = to_int((*r)[0].text(0));
        if (!lsn) return;
        if (!history_.empty() && history_.back().lsn >= *lsn) return;
        history_.push_back({*lsn, probe_clock::now()});
        if (history_.size() > max_history) history_.pop_front();
    }

    result<milliseconds> lag_of(const result<result_set>& r) const {
        if (!r) return r.err();
        if (r->size() != 1 || r->columns() != 2) {
            return error(errc::protocol_error, "unexpected answer to the replica probe");
        }
        const row& row = (*r)[0];
        // Promoted: it is a primary now, as current as anything can be.
        if (row.text(1) == "f") return milliseconds{0};
        auto replayed = to_int(row.text(0));
        if (!replayed) return error(errc::server_error, "the replica has replayed no WAL yet");
        if (history_.empty()) {
            return error(errc::connect_failed,
                         "the primary's WAL position could not be sampled, so the lag is unknown");
        }
        // The first sample past the replayed position: when the primary got ahead.
        auto it = std::upper_bound(history_.begin(), history_.end(), *replayed,
                                   [](std::int64_t lsn, const sample& s) { return lsn < s.lsn; });
        if (it == history_.end()) return milliseconds{0};
        return std::chrono::duration_cast<milliseconds>(probe_clock::now() - it->at);
    }

    void measure_replicas(callback cb) {
        struct round {
            std::vector<result<milliseconds>> lags;
            std::size_t pending = 0;
            callback cb;
        };
        auto rd = std::make_shared<round>();
        rd->lags.assign(replicas_.size(), error(errc::internal, "not probed"));
        rd->pending = replicas_.size();
        rd->cb = std::move(cb);
        if (replicas_.empty()) {
            return loop_.defer([rd] { rd->cb(std::move(rd->lags)); });
        }
        auto self = shared_from_this();
        for (std::size_t i = 0; i < replicas_.size(); ++i) {
            run(replicas_[i], replica_sql, [self, rd, i](result<result_set> r) {
                rd->lags[i] = self->lag_of(r);
                if (--rd->pending == 0) rd->cb(std::move(rd->lags));
            });
        }
    }

    event_loop& loop_;
    std::shared_ptr<driver> drv_;
    milliseconds timeout_;
    node primary_;
    std::vector<node> replicas_;  // never resized after construction: callbacks hold &node
    std::deque<sample> history_;
    bool closed_ = false;
};

}  // namespace

std::shared_ptr<lag_source> make_probe_lag_source(event_loop& loop, std::shared_ptr<driver> drv,
                                                  connect_options primary,
                                                  std::vector<connect_options> replicas,
                                                  milliseconds timeout) {
    return std::make_shared<probe_lag_source>(loop, std::move(drv), std::move(primary),
                                              std::move(replicas), timeout);
}

}  // namespace uvdb
