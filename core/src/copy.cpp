// copy_writer: the caller's side of COPY FROM STDIN over a driver's copy_in_sink.

#include <uvdb/copy.hpp>

namespace uvdb {

copy_writer::copy_writer(copy_writer&& other) noexcept
    : sink_(std::move(other.sink_)),
      keep_(std::move(other.keep_)),
      ended_(other.ended_),
      bytes_(other.bytes_),
      waits_(other.waits_) {}

copy_writer& copy_writer::operator=(copy_writer&& other) noexcept {
    if (this != &other) {
        copy_writer dropped(std::move(*this));  // aborts what this held, if unfinished
        sink_ = std::move(other.sink_);
        keep_ = std::move(other.keep_);
        ended_ = other.ended_;
        bytes_ = other.bytes_;
        waits_ = other.waits_;
    }
    return *this;
}

copy_writer::~copy_writer() {
    if (!sink_ || ended_) return;
    // The connection (a lease) must not go back while the server still
    // expects data: it goes once the server has confirmed the abort.
    sink_->abort("the copy_writer was destroyed before finish()",
                 [keep = std::move(keep_)](result<void> /*aborted*/) {});
}

error copy_writer::not_open_error() {
    return error(errc::bad_input,
                 "the COPY is not open: the writer is empty, or finish() or "
                 "abort() was called already");
}

std::optional<result<void>> copy_writer::start_write(std::string_view bytes) {
    if (!sink_) return result<void>(not_open_error());
    if (ended_) return result<void>(not_open_error());
    result<bool> r = sink_->try_write(bytes);
    if (!r) return result<void>(std::move(r).err());
    bytes_ += bytes.size();
    if (*r) return result<void>();
    ++waits_;
    return std::nullopt;
}

void copy_writer::write(std::string_view bytes, done_callback cb) {
    if (!sink_) {
        cb(result<void>(not_open_error()));  // no connection to defer on: an empty writer
        return;
    }
    if (!ended_) {
        if (result<bool> r = sink_->try_write(bytes)) {
            bytes_ += bytes.size();
            if (!*r) ++waits_;
        }
    }
    // Room or not, error or not: the sink answers from the loop (an error
    // stays with the COPY, so it reports it too).
    if (ended_) {
        sink_->wait_writable([cb = std::move(cb)](result<void> /*ignored*/) mutable {
            cb(result<void>(not_open_error()));
        });
        return;
    }
    sink_->wait_writable(std::move(cb));
}

void copy_writer::finish(count_callback cb) {
    if (!sink_ || ended_) {
        if (!sink_) {
            cb(result<std::uint64_t>(not_open_error()));
            return;
        }
        sink_->wait_writable([cb = std::move(cb)](result<void> /*ignored*/) mutable {
            cb(result<std::uint64_t>(not_open_error()));
        });
        return;
    }
    ended_ = true;
    sink_->finish([keep = std::move(keep_), cb = std::move(cb)](result<std::uint64_t> r) mutable {
        keep.reset();  // the connection goes back before the caller goes on
        cb(std::move(r));
    });
}

void copy_writer::abort(std::string_view message, done_callback cb) {
    if (!sink_ || ended_) {
        if (!sink_) {
            cb(result<void>(not_open_error()));
            return;
        }
        sink_->wait_writable([cb = std::move(cb)](result<void> /*ignored*/) mutable {
            cb(result<void>(not_open_error()));
        });
        return;
    }
    ended_ = true;
    sink_->abort(message, [keep = std::move(keep_), cb = std::move(cb)](result<void> r) mutable {
        keep.reset();
        cb(std::move(r));
    });
}

}  // namespace uvdb
