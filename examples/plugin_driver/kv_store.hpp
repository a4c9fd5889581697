#pragma once
// The backend of the example plugin: named in-memory key/value stores and a
// small command language (see run_statement). No I/O and no uvdb loop code here: given a
// statement and its parameters it says what the answer is (or that the
// caller must wait, for SLEEP). kv_connection.cpp puts this on the loop.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <uvdb/error.hpp>
#include <uvdb/param.hpp>
#include <uvdb/result.hpp>
#include <uvdb/result_set.hpp>

namespace kv {

/// One named store. Connections to the same name share it; the mutex makes
/// that safe when loops on several threads use the same name.
struct store {
    std::mutex mutex;
    std::map<std::string, std::string> data;
};

/// The store called `name`, made on first use; it lives as long as the plugin.
std::shared_ptr<store> open_store(const std::string& name);

/// One connection's open transaction: its writes (a nullopt value is a
/// delete), applied to the store at COMMIT. Reads inside it see them.
struct transaction {
    std::map<std::string, std::optional<std::string>> writes;
    bool failed =
        false;  ///< a statement failed: only ROLLBACK/COMMIT (which rolls back) are accepted
};

/// What a statement asks for: an answer now, or a pause of `sleep` first.
struct outcome {
    uvdb::result<uvdb::result_set> answer = uvdb::result_set{};
    std::chrono::milliseconds sleep{-1};  ///< >= 0: SLEEP; the answer is ready after it
};

/// Runs one statement against `s`:
///   PUT key value | GET key | DELETE key | SCAN [prefix] | COUNT | SLEEP ms
///   ECHO arg… (one row: the arguments, parameters keeping their kind)
///   BEGIN | COMMIT | ROLLBACK (`tx` holds the connection's open transaction)
/// Words are case-insensitive; an argument is a bare word or $n (parameter n).
/// Anything else fails with errc::server_error and SQLSTATE 42601, the way a
/// server rejects a statement it cannot parse; the connection stays usable.
/// A failed statement inside a transaction marks it failed (SQLSTATE 25P02
/// for what follows, until ROLLBACK), as PostgreSQL does.
outcome run_statement(store& s, std::optional<transaction>& tx, std::string_view sql,
                      const uvdb::params& p);

}  // namespace kv
