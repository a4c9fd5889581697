// pool::notify: a lease, the driver's notify on it, the lease back.

#include <string>
#include <uvdb/pool.hpp>

namespace uvdb {

void pool::notify(std::string_view channel, std::string_view payload, done_callback cb) {
    acquire(
        [ch = std::string(channel), pl = std::string(payload),
         cb = std::move(cb)](result<lease> l) mutable {
            if (!l) return cb(std::move(l).err());
            connection& c = l->get();
            c.notify(ch, pl, [l = std::move(*l), cb = std::move(cb)](result<void> r) mutable {
                // As pool::query does: a server that went away takes every older
                // connection with it.
                if (!r && r.err().server_gone()) {
                    l.invalidate(r.err());
                } else {
                    l.release();
                }
                cb(std::move(r));
            });
        },
        std::source_location::current());
}

}  // namespace uvdb
