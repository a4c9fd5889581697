// Runs the conformance suite against the SQLite driver: each connection gets
// a new database file in a temporary directory (removed at exit).

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <uvdb/conformance/target.hpp>
#include <uvdb/sqlite/driver.hpp>

namespace {

struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "uvdb-conformance-XXXXXX").string();
        if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

const uvdb::conformance::registration reg([] {
    static temp_dir dir;
    uvdb::conformance::target t;
    t.name = "sqlite";
    t.driver = uvdb::sqlite::make_driver();
    t.options = [] {
        static std::atomic<int> n{0};
        uvdb::connect_options o;
        o.url = "sqlite://" + (dir.path / ("conformance-" + std::to_string(++n) + ".db")).string() +
                "?journal_mode=wal";
        return o;
    };
    t.bad_options = [] {
        uvdb::connect_options o;
        o.url = "sqlite://" + (dir.path / "no-such-directory" / "x.db").string();
        return o;
    };
    // Counts to 10^9 (minutes) unless interrupted.
    t.long_running_sql =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 1000000000) "
        "SELECT count(*) FROM c";
    // No kill hook: SQLite has no server process to kill. Fatal errors (a
    // damaged file) are checked by the [sqlite] tests instead.
    return t;
});

}  // namespace
