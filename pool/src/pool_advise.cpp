// pool::advise and its inputs: the advisor (advisor.cpp) is a pure
// function; this fills its input from the pool's stats.

#include <memory>
#include <utility>
#include <uvdb/pool.hpp>

#include "pool_core.hpp"

namespace uvdb {

advisor_input pool::advisor_snapshot(std::size_t instances) const {
    const pool_stats st = core_->stats();
    advisor_input in;
    in.window_s = std::chrono::duration<double>(st.uptime).count();
    if (in.window_s > 0) in.arrival_rate = static_cast<double>(st.acquires) / in.window_s;
    if (const auto n = st.use_time.total(); n > 0) {
        in.mean_hold_ms = std::chrono::duration<double, std::milli>(core_->use_time_sum()).count() /
                          static_cast<double>(n);
    }
    in.peak_in_use = st.peak_checked_out;
    in.connect_ms = std::chrono::duration<double, std::milli>(st.connect_time).count();
    in.wait_p99_ms =
        std::chrono::duration<double, std::milli>(st.wait_time.percentile(0.99)).count();
    in.timeouts = st.timeouts;
    in.size = st.size;
    in.max_overflow = st.max_overflow;
    in.server_max_connections = core_->server_max_connections;
    in.instances = instances;
    return in;
}

advice pool::advise(std::size_t instances) const {
    return uvdb::advise(advisor_snapshot(instances));
}

void pool::read_server_limit(done_callback cb) {
    if (core_->server_max_connections > 0) {
        core_->loop().defer([cb = std::move(cb)]() mutable { cb(result<void>()); });
        return;
    }
    acquire(
        [core = detail::core_ref(core_), cb = std::move(cb)](result<lease> l) mutable {
            if (!l) return cb(std::move(l).err());
            auto held = std::make_shared<lease>(std::move(l).value());
            connection& c = **held;
            c.describe_server([core, held, cb = std::move(cb)](result<server_facts> f) mutable {
                held->release();
                if (!f) return cb(std::move(f).err());
                core->server_max_connections = f.value().max_connections;
                cb(result<void>());
            });
        },
        std::source_location::current());
}

}  // namespace uvdb
