#pragma once
/// \file
/// The interfaces every backend implements: a `driver` opens `connection`s.
/// The pool knows only these; it never names a backend.
///
/// Contract for implementations (the conformance suite checks it):
///  - Every callback is called exactly once, on the loop thread, never inline
///    from the call that started the operation.
///  - Operations issued while another runs are queued and run in order.
///  - close() (or destroying the connection object) completes every pending
///    callback with errc::closed; closing from inside a callback is legal, the
///    teardown happens after the callback returns.
///  - Errors carry is_fatal() = true when the connection is no longer usable;
///    is_broken() then stays true.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <uvdb/copy.hpp>
#include <uvdb/detail/callback_awaitable.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/function.hpp>
#include <uvdb/notification.hpp>
#include <uvdb/param.hpp>
#include <uvdb/result.hpp>
#include <uvdb/result_set.hpp>
#include <uvdb/stream.hpp>
#include <vector>

namespace uvdb {

class password_provider;  // <uvdb/credentials.hpp>

/// How to open one connection. Plain data; built by code or by the config loader.
struct connect_options {
    /// `postgresql://user[:password]@host[:port][,host2…]/db?key=value…` or a
    /// libpq `key=value` string. May hold a password: never log it as is
    /// (use mask_password).
    std::string url;
    /// Overrides the URL's password when non-empty (e.g. from a password file).
    std::string password;
    /// Asked for the password before each connect, when set; its answer
    /// overrides `password` and the URL's (see <uvdb/credentials.hpp>).
    /// Copies of these options share it, and with it its cache.
    std::shared_ptr<uvdb::password_provider> password_provider;
    /// Shown in pg_stat_activity; overrides the URL's application_name when non-empty.
    std::string application_name = "uvdb";
    /// Deadline for the whole connect (DNS + TCP + TLS + authentication),
    /// enforced by a loop timer. 0 = none (not recommended).
    std::chrono::milliseconds connect_timeout{10'000};
    /// Default deadline of each query; 0 = none. On expiry the query is
    /// cancelled on the server and the caller gets errc::timeout.
    std::chrono::milliseconds query_timeout{0};
    /// Extra backend parameters (e.g. "sslmode" → "verify-full"); they
    /// override the URL's query parameters.
    std::map<std::string, std::string> extra;
    /// How many statements a connection may have in flight at once: each is
    /// sent as soon as it is issued, without waiting for the results of the
    /// ones before it (PostgreSQL: libpq's pipeline mode, every statement
    /// with its own Sync, so one statement's error never touches another's;
    /// see docs/DRIVERS.md). Results still come back in order. 1: one at a
    /// time. A driver that cannot pipeline ignores it.
    std::size_t pipeline_depth = 16;
};

/// Per-call options of a query.
struct query_options {
    /// Overrides connect_options::query_timeout when not negative; 0 = none.
    std::chrono::milliseconds timeout{-1};
};

/// Transaction status, as the connection last saw it.
enum class tx_status : std::uint8_t { idle, in_transaction, failed_transaction, unknown };

/// What a server said it is, as a connection last heard it (no round trip):
/// a primary taking writes, a primary whose sessions default to read-only, or
/// a standby (a replica in recovery).
enum class server_role : std::uint8_t { unknown, primary, read_only, standby };

/// "unknown", "primary", "read-only primary" or "standby", for logs.
constexpr std::string_view to_string(server_role r) noexcept {
    switch (r) {
        case server_role::primary:
            return "primary";
        case server_role::read_only:
            return "read-only primary";
        case server_role::standby:
            return "standby";
        case server_role::unknown:
            break;
    }
    return "unknown";
}

/// What a connection can say about its server, for reports (uvdb-bench's
/// notes). Every field may be unknown: a driver fills what it knows.
struct server_facts {
    std::string product;  ///< "PostgreSQL", "SQLite"; empty: unknown
    std::string version;  ///< of the server, or of the embedded library; empty: unknown
    /// How the bytes travel, for people: "TLSv1.3", "NO TLS", "in-process"; empty: unknown.
    std::string transport;
    /// Whether the connection is encrypted; nullopt where that means nothing (in-process) or is
    /// unknown.
    std::optional<bool> tls;
    /// The server's limit on connections; 0: none or unknown.
    int max_connections = 0;
};

/// One open (or opening) connection. Loop thread only. Destroying the object
/// closes the connection (see the contract above).
class connection {
  public:
    using query_callback = unique_function<void(result<result_set>)>;
    using script_callback = unique_function<void(result<std::vector<result_set>>)>;
    using done_callback = unique_function<void(result<void>)>;

    virtual ~connection() = default;

    /// Runs one statement with bound parameters ($1, $2, …; extended protocol).
    /// What a driver implements; applications use the forms below.
    virtual void query(std::string_view sql, params p, const query_options& opts,
                       query_callback cb) = 0;

    /// Runs one statement, its parameters given as values ($1 is the first):
    ///
    ///     auto r = co_await c.query("SELECT $1::int + $2", 40, 2);   // result<result_set>
    ///     c.query("SELECT $1::int", 42, [](uvdb::result<uvdb::result_set> r) { … });
    ///
    /// With a callback last, it starts the statement and returns nothing;
    /// without, it returns an awaitable (starting the statement when
    /// awaited) whose `co_await` gives result<result_set>. One argument of
    /// type uvdb::params is the whole parameter list. The SQL text must live
    /// until the call returns (awaitable: until the co_await ends).
    template <class... A>
    requires(!detail::any_is<query_options, A...>) auto query(std::string_view sql, A&&... args) {
        return query(query_options{}, sql, std::forward<A>(args)...);
    }
    /// The same with per-call options (a timeout).
    template <class... A>
    requires(!detail::any_is<query_options, A...>) auto query(const query_options& opts,
                                                              std::string_view sql, A&&... args) {
        if constexpr (detail::ends_with_callback<result_set, A...>) {
            detail::split_callback(
                [&](params p, auto&& cb) {
                    query(sql, std::move(p), opts, query_callback(std::forward<decltype(cb)>(cb)));
                },
                std::forward<A>(args)...);
        } else {
            return detail::make_callback_awaitable<result_set>(
                query_start{this, sql, detail::bind_params(std::forward<A>(args)...), opts});
        }
    }

    /// Runs a script of several statements without parameters (simple
    /// protocol) and returns every statement's result. What a driver
    /// implements; applications use the forms below.
    virtual void execute(std::string_view script, const query_options& opts,
                         script_callback cb) = 0;
    /// The same: `co_await c.execute(script)` gives result<std::vector<result_set>>;
    /// with a callback, it starts the script and returns nothing.
    void execute(std::string_view script, script_callback cb) {
        execute(script, query_options{}, std::move(cb));
    }
    void execute(const query_options& opts, std::string_view script, script_callback cb) {
        execute(script, opts, std::move(cb));
    }
    [[nodiscard]] auto execute(const query_options& opts, std::string_view script) {
        return detail::make_callback_awaitable<std::vector<result_set>>(
            execute_start{this, script, opts});
    }
    [[nodiscard]] auto execute(std::string_view script) { return execute(query_options{}, script); }

    /// One statement of a group (query_group): its text, its parameters,
    /// and the callback that gets its result.
    struct group_member {
        std::string_view sql;
        params args;
        query_callback cb;
    };
    /// Runs `members` in order as one unit: PostgreSQL sends them in one
    /// round trip, in one pipeline Sync group, so they share one implicit
    /// transaction (pgx's batches work so). Once one fails, the members after
    /// it are not run and fail with errc::not_run; a transaction one of them
    /// opened stays open (failed) until the caller ends it. Every callback
    /// runs, in order, from the loop. Each SQL text must live until the call
    /// returns. What the pool's all-or-nothing batch uses (<uvdb/batch.hpp>);
    /// applications usually want that instead.
    ///
    /// This default, for drivers that cannot send several statements as one
    /// unit (SQLite), runs them one after another and stops at the first
    /// failure, so the contract holds with one round trip per member.
    virtual void query_group(std::vector<group_member> members, const query_options& opts);

    /// Cheap liveness check (a round trip) that fails with errc::timeout after `deadline`.
    virtual void ping(std::chrono::milliseconds deadline, done_callback cb) = 0;
    /// The same, awaitable: `co_await c.ping(1s)` gives result<void>.
    [[nodiscard]] auto ping(std::chrono::milliseconds deadline) {
        return detail::make_callback_awaitable<void>(ping_start{this, deadline});
    }

    /// Makes the connection fit for its next user: rolls back an open or
    /// failed transaction. Fails (fatal) when a query is still running.
    virtual void reset(done_callback cb) = 0;
    /// The same, awaitable: `co_await c.reset()` gives result<void>.
    [[nodiscard]] auto reset() { return detail::make_callback_awaitable<void>(reset_start{this}); }

    /// Asks the server to cancel the statement in flight; its callback then
    /// completes with errc::cancelled. No effect when nothing runs. A late
    /// cancel never reaches a later statement.
    virtual void cancel() = 0;

    /// Closes the connection now. Idempotent. Pending callbacks get errc::closed.
    virtual void close() = 0;

    /// Connected and not broken.
    virtual bool is_ready() const noexcept = 0;
    /// A fatal error was seen (or it was closed); it must be thrown away.
    virtual bool is_broken() const noexcept = 0;
    /// Nothing queued or running.
    virtual bool is_idle() const noexcept = 0;
    /// Operations issued and not yet answered: in flight and waiting.
    virtual std::size_t pending() const noexcept { return is_idle() ? 0 : 1; }
    /// How many statements this connection sends ahead without waiting for
    /// the results of earlier ones (connect_options::pipeline_depth where the
    /// driver pipelines); 1 when it runs one at a time.
    virtual std::size_t pipeline_depth() const noexcept { return 1; }
    /// When the operation whose results are awaited now (the oldest in
    /// flight) was sent; clock::time_point{} when none is in flight. How long
    /// a statement issued now would wait behind the ones before it starts
    /// from there.
    virtual event_loop::clock::time_point front_sent_at() const noexcept { return {}; }
    virtual tx_status transaction_status() const noexcept = 0;
    /// The role the server last reported, without a round trip (PostgreSQL:
    /// the in_hot_standby and default_transaction_read_only values it sends
    /// whenever they change). unknown where the driver cannot tell.
    virtual server_role reported_role() const noexcept { return server_role::unknown; }
    /// True once the server no longer has the role the connection was opened
    /// for (PostgreSQL: target_session_attrs read-write or primary and the
    /// server became a standby or read-only, or a statement failed with
    /// SQLSTATE 25006; standby or prefer-standby and the standby was
    /// promoted). The connection still answers, but a pool must not reuse it,
    /// and connections opened to that server before it are suspect as well.
    virtual bool role_lost() const noexcept { return false; }

    /// The server's process id for this session (PostgreSQL backend pid), or 0.
    virtual std::int64_t server_pid() const noexcept { return 0; }
    /// A short description for logs, without secrets ("127.0.0.1:5432/app pid 4711").
    virtual std::string describe() const = 0;

    using server_facts_callback = unique_function<void(result<server_facts>)>;
    /// Describes the server (product, version, TLS, connection limit); may run
    /// statements, queued like any other. Optional for a driver: this default
    /// knows nothing and only pings, so that it completes like every
    /// operation (never inline) and a dead connection still fails.
    virtual void describe_server(server_facts_callback cb) {
        ping(std::chrono::seconds{10}, [cb = std::move(cb)](result<void> r) mutable {
            if (!r) return cb(std::move(r).err());
            cb(server_facts{});
        });
    }

    /// Streams one statement's rows in chunks with back-pressure (see
    /// <uvdb/stream.hpp>). What a driver implements; applications use
    /// stream() below. This default refuses with errc::bad_input.
    virtual std::unique_ptr<stream_source<result_set>> open_stream(std::string_view sql, params p,
                                                                   const stream_options& opts);
    /// Runs a COPY … TO STDOUT and streams its data in chunks. What a driver
    /// implements; applications use copy_out() below. This default refuses.
    virtual std::unique_ptr<stream_source<std::string>> open_copy_out(std::string_view sql,
                                                                      const stream_options& opts);

    /// Starts a streamed statement, its parameters given as values:
    /// `auto s = c.stream("SELECT …", 42); while (auto chunk = co_await s.next()) …`.
    /// The SQL text must live until the call returns. The connection runs
    /// nothing else until the stream ends or is closed (later statements queue).
    template <class... A>
    requires(!detail::any_is<stream_options, A...>) row_stream
        stream(std::string_view sql, A&&... args) {
        return row_stream(open_stream(sql, detail::bind_params(std::forward<A>(args)...), {}));
    }
    template <class... A>
    requires(!detail::any_is<stream_options, A...>) row_stream
        stream(const stream_options& opts, std::string_view sql, A&&... args) {
        return row_stream(open_stream(sql, detail::bind_params(std::forward<A>(args)...), opts));
    }
    /// Starts a COPY … TO STDOUT whose data arrives in chunks.
    copy_stream copy_out(std::string_view sql, const stream_options& opts = {}) {
        return copy_stream(open_copy_out(sql, opts));
    }

    // ---- server notifications (PostgreSQL LISTEN/NOTIFY); optional for a driver ----
    /// Makes `handler` receive this session's notifications (replacing an
    /// earlier handler); see notification_handler for when it is called.
    /// Default: errc::bad_input "notifications are not supported by this driver".
    virtual result<void> on_notification(notification_handler /*handler*/) {
        return error(errc::bad_input, "notifications are not supported by this driver");
    }
    /// Subscribes this session to `channel`, any string (the driver quotes
    /// it; a name the backend cannot hold is errc::bad_input); `cb` runs once
    /// the server confirmed. Queued like a statement. Default: fails with
    /// errc::bad_input (after a ping, so that it completes like every operation).
    virtual void listen(std::string_view /*channel*/, done_callback cb) {
        refuse_later(std::move(cb), "notifications are not supported by this driver");
    }
    /// `co_await c.listen("jobs")` gives result<void>.
    [[nodiscard]] auto listen(std::string channel) {
        return detail::make_callback_awaitable<void>(listen_start{this, std::move(channel), false});
    }
    /// Ends the subscription to `channel`; `cb` runs once the server confirmed.
    virtual void unlisten(std::string_view /*channel*/, done_callback cb) {
        refuse_later(std::move(cb), "notifications are not supported by this driver");
    }
    [[nodiscard]] auto unlisten(std::string channel) {
        return detail::make_callback_awaitable<void>(listen_start{this, std::move(channel), true});
    }
    /// Sends a notification on `channel` with `payload`, both bound as
    /// parameters (PostgreSQL: `SELECT pg_notify($1, $2)`); the server's
    /// limits apply and its errors come back as they are.
    virtual void notify(std::string_view /*channel*/, std::string_view /*payload*/,
                        done_callback cb) {
        refuse_later(std::move(cb), "notifications are not supported by this driver");
    }
    /// `co_await c.notify("jobs", "42")` gives result<void>.
    [[nodiscard]] auto notify(std::string channel, std::string payload) {
        return detail::make_callback_awaitable<void>(
            notify_start{this, std::move(channel), std::move(payload)});
    }
    using copy_in_callback = unique_function<void(result<std::unique_ptr<copy_in_sink>>)>;
    /// Starts `COPY … FROM STDIN` (copy.hpp): `cb` gets the sink the rows
    /// are written to once the server waits for them, or the statement's
    /// error. What a driver implements; applications use copy_in below.
    /// Optional for a driver: this default refuses with errc::bad_input
    /// (after a ping, so that it completes like every operation, never inline).
    virtual void start_copy_in(std::string_view /*sql*/, const query_options& /*opts*/,
                               copy_in_callback cb) {
        ping(std::chrono::seconds{10}, [cb = std::move(cb)](result<void> r) mutable {
            if (!r) return cb(std::move(r).err());
            cb(error(errc::bad_input, "COPY is not supported by this driver"));
        });
    }
    using copy_writer_callback = unique_function<void(result<copy_writer>)>;
    /// Starts a COPY FROM STDIN and gives its writer (see uvdb::copy_writer):
    ///
    ///     auto w = co_await c.copy_in("COPY t FROM STDIN WITH (FORMAT csv)");
    ///
    /// The connection runs nothing else until the writer finished or aborted;
    /// the timeout (query_options, else the connection's query_timeout)
    /// covers the whole COPY, the writing included.
    void copy_in(const query_options& opts, std::string_view sql, copy_writer_callback cb) {
        start_copy_in(sql, opts,
                      [cb = std::move(cb)](result<std::unique_ptr<copy_in_sink>> r) mutable {
                          if (!r) return cb(std::move(r).err());
                          cb(copy_writer(std::move(*r)));
                      });
    }
    void copy_in(std::string_view sql, copy_writer_callback cb) {
        copy_in(query_options{}, sql, std::move(cb));
    }
    [[nodiscard]] auto copy_in(const query_options& opts, std::string_view sql) {
        return detail::make_callback_awaitable<copy_writer>(copy_in_start{this, sql, opts});
    }
    [[nodiscard]] auto copy_in(std::string_view sql) { return copy_in(query_options{}, sql); }

  private:
    // What the awaitable forms start when awaited; each holds what the call
    // took (the parameters by value), in the awaiting coroutine's frame.
    struct listen_start {
        connection* c;
        std::string channel;
        bool un;
        template <class Done>
        void operator()(Done done) && {
            if (un) {
                c->unlisten(channel, done_callback(std::move(done)));
            } else {
                c->listen(channel, done_callback(std::move(done)));
            }
        }
    };
    struct notify_start {
        connection* c;
        std::string channel;
        std::string payload;
        template <class Done>
        void operator()(Done done) && {
            c->notify(channel, payload, done_callback(std::move(done)));
        }
    };
    /// Fails `cb` with `why` without calling it inline: the default of an
    /// optional operation a driver does not offer.
    void refuse_later(done_callback cb, const char* why) {
        ping(std::chrono::seconds{10},
             [cb = std::move(cb), why](result<void>) mutable { cb(error(errc::bad_input, why)); });
    }
    struct query_start {
        connection* c;
        std::string_view sql;
        params p;
        query_options opts;
        template <class Done>
        void operator()(Done done) && {
            c->query(sql, std::move(p), opts, query_callback(std::move(done)));
        }
    };
    struct execute_start {
        connection* c;
        std::string_view script;
        query_options opts;
        template <class Done>
        void operator()(Done done) && {
            c->execute(script, opts, script_callback(std::move(done)));
        }
    };
    struct ping_start {
        connection* c;
        std::chrono::milliseconds deadline;
        template <class Done>
        void operator()(Done done) && {
            c->ping(deadline, done_callback(std::move(done)));
        }
    };
    struct copy_in_start {
        connection* c;
        std::string_view sql;
        query_options opts;
        template <class Done>
        void operator()(Done done) && {
            c->copy_in(opts, sql, copy_writer_callback(std::move(done)));
        }
    };
    struct reset_start {
        connection* c;
        template <class Done>
        void operator()(Done done) && {
            c->reset(done_callback(std::move(done)));
        }
    };
};

inline std::unique_ptr<stream_source<result_set>> connection::open_stream(
    std::string_view /*sql*/, params /*p*/, const stream_options& /*opts*/) {
    return std::make_unique<detail::failed_stream_source<result_set>>(
        error(errc::bad_input, "streaming is not supported by this driver"));
}
namespace detail {

/// What a group member gets when an earlier one (#`first`) stopped the
/// group: "the statement was not run: statement #2 of its group failed first".
inline error group_not_run(std::size_t first, std::string_view why) {
    return error(errc::not_run, "the statement was not run: statement #" + std::to_string(first) +
                                    " of its group " + std::string(why));
}

/// The default connection::query_group: one member at a time, stopping at
/// the first failure. Owns the SQL texts (the caller's live only during the
/// call) and deletes itself after the last callback.
class group_chain {
  public:
    group_chain(connection& c, std::vector<connection::group_member> members,
                const query_options& opts)
        : c_(c), members_(std::move(members)), opts_(opts) {
        sql_.reserve(members_.size());
        for (const auto& m : members_) sql_.emplace_back(m.sql);
    }

    void next() {
        const std::size_t i = at_;
        c_.query(sql_[i], std::move(members_[i].args), opts_, [this](result<result_set> r) {
            const bool failed = !r;
            const std::size_t done = at_++;
            members_[done].cb(std::move(r));
            if (!failed && at_ < members_.size()) return next();
            for (std::size_t k = at_; k < members_.size(); ++k) {
                members_[k].cb(group_not_run(done, "failed first"));
            }
            delete this;
        });
    }

  private:
    connection& c_;
    std::vector<connection::group_member> members_;
    std::vector<std::string> sql_;
    query_options opts_;
    std::size_t at_ = 0;
};

}  // namespace detail

inline void connection::query_group(std::vector<group_member> members, const query_options& opts) {
    if (members.empty()) return;
    (new detail::group_chain(*this, std::move(members), opts))->next();
}

inline std::unique_ptr<stream_source<std::string>> connection::open_copy_out(
    std::string_view /*sql*/, const stream_options& /*opts*/) {
    return std::make_unique<detail::failed_stream_source<std::string>>(
        error(errc::bad_input, "COPY TO STDOUT is not supported by this driver"));
}

/// A backend. Stateless apart from configuration; shared by all its connections.
class driver {
  public:
    using connect_callback = unique_function<void(result<void>)>;

    virtual ~driver() = default;

    /// Human name ("postgresql").
    virtual std::string_view name() const noexcept = 0;
    /// URL schemes it serves ("postgresql", "postgres").
    virtual std::vector<std::string> schemes() const = 0;

    /// Whether this driver understands `conn`, a connection string with no
    /// URL scheme (libpq's `host=db dbname=app`, say). driver_registry asks
    /// every driver when a string has no scheme and picks the one that says
    /// yes. Strings with a scheme are routed by schemes() and never reach
    /// this. Default: false (the driver takes URLs with its schemes only).
    virtual bool accepts(std::string_view /*conn*/) const { return false; }

    /// Checks `conn` (a URL with one of this driver's schemes, or a string
    /// accepts() said yes to) without any I/O: errc::bad_config saying what
    /// is wrong and where (a position, a key), never containing the password.
    /// The configuration loader calls it so that a bad string is reported
    /// with the file and line it came from. Default: accepts everything (the
    /// driver's connect() then reports what it finds).
    virtual result<void> check(std::string_view /*conn*/) const { return {}; }

    /// `name` quoted as an identifier of this backend, so that any string
    /// can name a channel, a table…: PostgreSQL puts it in double quotes and
    /// doubles each `"` inside. errc::bad_input naming the problem when the
    /// backend cannot hold it (PostgreSQL: a NUL, more than 63 bytes).
    /// Default: errc::bad_input (the driver does not say how to quote).
    virtual result<std::string> quote_identifier(std::string_view /*name*/) const {
        return error(errc::bad_input, "this driver does not quote identifiers");
    }

    /// Starts opening a connection and returns it at once; `on_connected` runs
    /// when it is ready or failed. Statements issued before then are queued.
    /// Destroying the returned object aborts the connect (`on_connected` then
    /// gets errc::closed).
    virtual std::unique_ptr<connection> connect(event_loop& loop, const connect_options& opts,
                                                connect_callback on_connected) = 0;
};

}  // namespace uvdb
