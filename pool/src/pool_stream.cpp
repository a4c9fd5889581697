// pool::stream and pool::copy_out: acquire a connection, start the stream on
// it, and let the stream hold the lease until the connection is free again
// (the stream's end, or the drain after a close), so the pool never gets a
// connection back with a statement still running on it.

#include <memory>
#include <string>
#include <utility>
#include <uvdb/pool.hpp>

namespace uvdb {

void pool::start_stream(std::string_view sql, params p, const stream_options& opts,
                        stream_callback cb, std::source_location where) {
    // The SQL is copied: the caller's text need not outlive a wait for a connection.
    acquire(
        [sql = std::string(sql), p = std::move(p), opts,
         cb = std::move(cb)](result<lease> r) mutable {
            if (!r) {
                cb(std::move(r).error());
                return;
            }
            auto held = std::make_shared<lease>(std::move(*r));
            auto src = held->get().open_stream(sql, std::move(p), opts);
            cb(row_stream(std::move(src), std::move(held)));
        },
        where);
}

void pool::start_copy_out(std::string_view sql, const stream_options& opts, copy_stream_callback cb,
                          std::source_location where) {
    acquire(
        [sql = std::string(sql), opts, cb = std::move(cb)](result<lease> r) mutable {
            if (!r) {
                cb(std::move(r).error());
                return;
            }
            auto held = std::make_shared<lease>(std::move(*r));
            auto src = held->get().open_copy_out(sql, opts);
            cb(copy_stream(std::move(src), std::move(held)));
        },
        where);
}

}  // namespace uvdb
