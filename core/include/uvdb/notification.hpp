#pragma once
/// \file
/// A server notification (PostgreSQL's NOTIFY) as a connection delivers it,
/// and the handler type a connection calls with each one. Backend-neutral:
/// a driver that has no notifications never calls the handler.

#include <cstdint>
#include <string>
#include <uvdb/function.hpp>
#include <uvdb/result.hpp>

namespace uvdb {

/// One notification: the channel it was sent on (as the server spells it,
/// unquoted), its payload (may be empty) and the server process id of the
/// session that sent it.
struct notification {
    std::string channel;
    std::string payload;
    std::int64_t sender_pid = 0;
};

/// Called on the loop thread with every notification a connection receives,
/// in the order the server sent them; called one last time with an error
/// when the connection fails (it then calls it never again). Not called
/// after close().
using notification_handler = unique_function<void(result<notification>)>;

}  // namespace uvdb
