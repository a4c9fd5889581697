#pragma once
// A connection's prepared statements, keyed by SQL text, least recently used
// first out. The driver prepares a statement the first time its text is run
// (Parse sent together with the first Bind/Execute, so a miss costs no extra
// round trip) and from then on sends only Bind/Execute: the server neither
// parses nor plans it again.
//
// The cache only keeps the book; the connection talks to the server. Names
// the cache gave up on (evicted, or found stale) wait in `to_close()` until
// the connection next prepares something and sends their DEALLOCATE along.
// Loop thread only, like the connection that owns it.

#include <libpq-fe.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace uvdb::postgres::detail {

/// The cache size when the URL does not say (`statement_cache_size`).
inline constexpr std::size_t default_statement_cache_size = 100;

class statement_cache {
  public:
    struct entry {
        std::string sql;
        std::string name;        ///< uvdb_s<N>, unique on the connection
        std::vector<Oid> types;  ///< parameter types it was prepared with
        /// The sequence number of the command whose Sync group carries its
        /// Parse. While that command is in flight the server may still refuse
        /// the Parse, so statements pipelined behind it go unnamed.
        std::uint64_t parsed_by = 0;
    };

    /// capacity 0: the cache is off and every statement goes unnamed.
    explicit statement_cache(std::size_t capacity = default_statement_cache_size)
        : capacity_(capacity) {}

    bool enabled() const noexcept { return capacity_ != 0; }
    std::size_t size() const noexcept { return lru_.size(); }
    std::size_t capacity() const noexcept { return capacity_; }

    /// The statement prepared for `sql` with these parameter types, made the
    /// most recently used; nullptr on a miss. A statement prepared with other
    /// types is dropped (and queued for DEALLOCATE): it would read the
    /// parameters wrongly.
    const entry* find(std::string_view sql, const Oid* types, int n);
    /// Records a statement about to be prepared and returns it; when the
    /// cache is full the least recently used one is evicted to to_close().
    const entry& insert(std::string_view sql, const Oid* types, int n, std::uint64_t parsed_by = 0);
    /// The statement named `name`, or nullptr.
    const entry* by_name(std::string_view name) const;
    /// Forgets the statement named `name`. `on_server`: it still exists
    /// there and is queued for DEALLOCATE (a stale plan, 0A000); otherwise
    /// the server never had it or already dropped it (failed Parse, 26000).
    void forget(std::string_view name, bool on_server);
    /// Forgets everything without closing: the server dropped them all
    /// (DISCARD ALL, DEALLOCATE ALL).
    void clear() noexcept;

    /// Names to DEALLOCATE the next time the connection prepares a statement.
    std::vector<std::string>& to_close() noexcept { return to_close_; }

  private:
    struct sv_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    using list_type = std::list<entry>;

    std::size_t capacity_;
    std::uint64_t next_id_ = 0;
    list_type lru_;  // most recently used at the front
    std::unordered_map<std::string, list_type::iterator, sv_hash, std::equal_to<>> by_sql_;
    std::vector<std::string> to_close_;
};

/// True for statements that must not be prepared through the cache: COPY
/// (libpq refuses it in pipeline mode, which a cache miss uses), also when
/// white space or comments come before it.
bool uncacheable(std::string_view sql) noexcept;
/// What a statement is to pipelining (docs/DRIVERS.md, "Pipelining"), from
/// its first keyword(s).
enum class statement_kind : std::uint8_t {
    /// SELECT, INSERT, UPDATE, DELETE, MERGE, WITH, VALUES, TABLE, SHOW:
    /// pipelined, and may share a Sync group with the SET that gives them
    /// their own statement_timeout.
    ordinary,
    begins,     ///< BEGIN, START TRANSACTION: pipelined, never timed by the server
    ends,       ///< COMMIT, END, ROLLBACK, ABORT: pipelined, never timed by the server
    savepoint,  ///< SAVEPOINT, RELEASE, ROLLBACK TO: pipelined, never timed by the server
    /// Everything else (SET, DDL, VACUUM, CALL, DO, COPY, LISTEN, PREPARE
    /// TRANSACTION, COMMIT PREPARED…): runs alone, after the pipeline drained.
    other,
};
statement_kind classify(std::string_view sql) noexcept;

/// True when a command tag says the server dropped every prepared statement.
bool drops_prepared_statements(const char* command_tag) noexcept;

}  // namespace uvdb::postgres::detail
