// pool::copy_in: acquire, then COPY … FROM STDIN on the lease; the writer
// owns the lease until the COPY ends.

#include <memory>
#include <string>
#include <utility>
#include <uvdb/pool.hpp>

namespace uvdb {

void pool::copy_in(const query_options& opts, std::string_view sql, copy_writer_callback cb) {
    acquire(
        [text = std::string(sql), opts, cb = std::move(cb)](result<lease> l) mutable {
            if (!l) return cb(std::move(l).err());
            // Shared so that the writer can own it as a type-erased keep-alive.
            auto held = std::make_shared<lease>(std::move(*l));
            connection& c = held->get();
            c.start_copy_in(
                text, opts,
                [held, cb = std::move(cb)](result<std::unique_ptr<copy_in_sink>> sink) mutable {
                    if (!sink) {
                        held.reset();  // the connection goes back first
                        return cb(std::move(sink).err());
                    }
                    cb(copy_writer(std::move(*sink), std::move(held)));
                });
        },
        std::source_location::current());
}

}  // namespace uvdb
