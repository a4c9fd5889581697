// [sqlite] Rows into structs: SQLite's results (copied into an owned_result)
// read the same way as PostgreSQL's, declared type names in the errors.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sqlite_test_util.hpp"

using namespace uvdb;
using namespace uvdb::sqlite_test;

namespace {

struct note {
    std::int64_t id;
    std::string body;
    std::optional<double> weight;
};

}  // namespace

TEST_CASE("sqlite: rows read into structs, tuples and one()", "[sqlite][rows]") {
    event_loop loop;
    auto c = connect_ok(loop, "sqlite::memory:");
    must(loop, *c, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, weight REAL)");
    must(loop, *c, "INSERT INTO notes VALUES (1, 'a', 0.5), (2, 'b', NULL), (3, 'c', 2)");

    auto rs = must(loop, *c, "SELECT id, body, weight FROM notes ORDER BY id");
    auto all = rs.all<note>();
    REQUIRE(all.ok());
    REQUIRE(all->size() == 3);
    CHECK((*all)[0].weight == 0.5);
    CHECK_FALSE((*all)[1].weight.has_value());
    CHECK((*all)[2].body == "c");

    // The range keeps the temporary result alive for the loop, not longer.
    std::vector<std::string> bodies;
    for (auto [id, body] : must(loop, *c, "SELECT id, body FROM notes ORDER BY id")
                               .as<std::int64_t, std::string_view>()) {
        CHECK(id == static_cast<std::int64_t>(bodies.size()) + 1);
        bodies.emplace_back(body);
    }
    CHECK(bodies == std::vector<std::string>{"a", "b", "c"});

    auto one = must(loop, *c, "SELECT count(*) FROM notes").one<int>();
    REQUIRE(one.ok());
    CHECK(*one == 3);
    auto none = must(loop, *c, "SELECT id, body, weight FROM notes WHERE id > 9").one<note>();
    REQUIRE_FALSE(none.ok());
    CHECK(none.err().value() == errc::no_rows);

    auto bad = must(loop, *c, "SELECT body, id, weight FROM notes WHERE id = 1").one<note>();
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.err().value() == errc::conversion_error);
    CHECK(bad.err().message() == "column \"body\" (TEXT) holds \"a\", which is not a valid int64");
}
