#pragma once
// Helpers for the [sqlite] tests: a temporary directory, URLs in it, and
// synchronous wrappers that run the loop until a callback came (with a
// deadline, never hanging: tests/support/loop_wait.hpp). Callbacks store into shared slots and
// never REQUIRE (they run inside uv_run).

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <uvdb/driver.hpp>
#include <uvdb/event_loop.hpp>
#include <uvdb/sqlite/driver.hpp>

#include "support/loop_wait.hpp"

namespace uvdb::sqlite_test {

using namespace std::chrono_literals;

/// A fresh directory, removed with everything in it.
struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "uvdb-sqlite-XXXXXX").string();
        if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    /// "sqlite:///tmp/uvdb-sqlite-…/<name><query>"
    std::string url(const std::string& name, const std::string& query = "") const {
        return "sqlite://" + (path / name).string() + query;
    }
};

inline std::shared_ptr<uvdb::driver> sqlite_driver() {
    static auto d = uvdb::sqlite::make_driver();
    return d;
}

template <class T>
struct slot {
    struct state {
        std::optional<result<T>> value;
        int calls = 0;
    };
    std::shared_ptr<state> st = std::make_shared<state>();
    bool done() const { return st->calls > 0; }
    result<T>& get() { return *st->value; }
    auto sink() {
        return [s = st](result<T> r) {
            ++s->calls;
            s->value.emplace(std::move(r));
        };
    }
};

// Running the loop with a deadline: the one copy every suite shares.
using uvdb::test::wait_until;

/// How long one statement or connect may take before a test gives up.
inline constexpr std::chrono::milliseconds step_timeout = 20s;

inline result<void> connect(event_loop& loop, std::unique_ptr<connection>& out,
                            const std::string& url) {
    connect_options o;
    o.url = url;
    slot<void> s;
    out = sqlite_driver()->connect(loop, o, s.sink());
    REQUIRE(wait_until(
        loop, [&] { return s.done(); }, step_timeout));
    return std::move(s.get());
}

inline std::unique_ptr<connection> connect_ok(event_loop& loop, const std::string& url) {
    std::unique_ptr<connection> c;
    auto r = connect(loop, c, url);
    INFO((r ? std::string("ok") : r.err().to_string()));
    REQUIRE(r.ok());
    return c;
}

inline result<result_set> query(event_loop& loop, connection& c, std::string_view sql,
                                params p = {}, query_options opts = {}) {
    slot<result_set> s;
    c.query(sql, std::move(p), opts, s.sink());
    REQUIRE(wait_until(
        loop, [&] { return s.done(); }, step_timeout));
    return std::move(s.get());
}

inline result<std::vector<result_set>> execute(event_loop& loop, connection& c,
                                               std::string_view sql) {
    slot<std::vector<result_set>> s;
    c.execute(sql, s.sink());
    REQUIRE(wait_until(
        loop, [&] { return s.done(); }, step_timeout));
    return std::move(s.get());
}

/// Runs `sql` and REQUIREs success.
inline result_set must(event_loop& loop, connection& c, std::string_view sql, params p = {}) {
    auto r = query(loop, c, sql, std::move(p));
    INFO(std::string(sql) << ": " << (r ? std::string("ok") : r.err().to_string()));
    REQUIRE(r.ok());
    return std::move(r).value();
}

inline bool contains(std::string_view hay, std::string_view needle) {
    return hay.find(needle) != std::string_view::npos;
}

}  // namespace uvdb::sqlite_test
