#pragma once
// uvdb::connection for the kv backend: statements queued and answered on the
// loop thread, never inline; SLEEP waits on a uvdb::timer, which is what makes
// query timeouts and cancel() real here.
//
// The SDK does the plumbing: uvdb::connection_adapter is the object the
// application holds (it forwards to our `session` and closes it when
// destroyed), uvdb::pending_completion holds each statement's callback.

#include <memory>
#include <uvdb/driver.hpp>

namespace kv {

/// Opens a connection to the store named by opts.url (kv://name). Loop thread
/// only. Destroying the returned object closes it: every statement still
/// queued gets errc::closed (on the loop, after the destructor returns).
std::unique_ptr<uvdb::connection> open_connection(uvdb::event_loop& loop,
                                                  const uvdb::connect_options& opts,
                                                  uvdb::driver::connect_callback on_connected);

}  // namespace kv
