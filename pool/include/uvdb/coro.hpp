#pragma once
/// \file
/// Coroutines with the pool: `<uvdb/task.hpp>` (task, spawn, when_all, error
/// propagation) plus the pool. The pool's, leases', transactions' and
/// connections' calls are awaitable themselves: without a callback they
/// return an awaitable giving the same `result<T>` as the callback form.
///
/// ```cpp
/// uvdb::task<uvdb::result<int>> count_users(uvdb::pool& db) {
///     auto rs = co_await db.query("SELECT count(*) FROM users");  // an error ends the task
///     co_return rs.value<int>();
/// }
/// uvdb::spawn(count_users(db), [](uvdb::task_outcome<uvdb::result<int>> r) { … });
/// ```
///
/// Coroutines resume on the loop thread (from the operation's callback).

#include <uvdb/pool.hpp>
#include <uvdb/task.hpp>
