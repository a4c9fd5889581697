// Rows into structs and tuples against the real server: the mapping reads
// what PostgreSQL sends, and its errors name the server's type names.

#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <uvdb/event_loop.hpp>
#include <uvdb/postgres/driver.hpp>
#include <vector>

#include "integration/support/test_env.hpp"

using uvdb::errc;
namespace t = uvdb::test;

namespace {

struct item {
    std::int64_t id;
    std::string label;
    std::optional<double> price;
    bool active;
    uvdb::bytes tag;
};

}  // namespace

TEST_CASE("a query's rows read into structs and tuples", "[pg][rows]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());
    const char* sql =
        "SELECT g::int8 AS id, 'item ' || g AS label, "
        "CASE WHEN g % 2 = 0 THEN g * 1.5::float8 END AS price, g % 3 = 0 AS active, "
        "decode(lpad(to_hex(g), 2, '0'), 'hex') AS tag FROM generate_series(1, 5) g";
    auto r = t::query_sync(loop, *conn, sql);
    REQUIRE(r.ok());

    std::vector<item> items;
    for (const item& i : r->as<item>()) items.push_back(i);
    REQUIRE(items.size() == 5);
    for (std::size_t k = 0; k < items.size(); ++k) {
        const auto g = static_cast<std::int64_t>(k + 1);
        INFO("row " << k);
        CHECK(items[k].id == g);
        CHECK(items[k].label == "item " + std::to_string(g));
        CHECK(items[k].price == (g % 2 == 0 ? std::optional<double>(g * 1.5) : std::nullopt));
        CHECK(items[k].active == (g % 3 == 0));
        const char byte = static_cast<char>(g);
        CHECK(items[k].tag == uvdb::bytes(&byte, 1));
    }

    // The same rows as tuples, on a temporary result_set the range keeps alive.
    std::vector<std::string> labels;
    for (auto [id, label, price, active, tag] :
         t::query_sync(loop, *conn, sql)
             .value()
             .as<long, std::string_view, std::optional<double>, bool, uvdb::bytes>()) {
        labels.emplace_back(label);
    }
    CHECK(labels == std::vector<std::string>{"item 1", "item 2", "item 3", "item 4", "item 5"});
}

TEST_CASE("one() and the mapping's errors against the server", "[pg][rows]") {
    uvdb::event_loop loop;
    auto conn = t::connect_or_fail(loop, t::test_options());

    auto count = t::query_sync(loop, *conn, "SELECT count(*) FROM generate_series(1, 42)");
    REQUIRE(count.ok());
    auto n = count->one<std::int64_t>();
    REQUIRE(n.ok());
    CHECK(*n == 42);

    auto none = t::query_sync(loop, *conn, "SELECT 1 AS id WHERE false");
    REQUIRE(none.ok());
    auto missing = none->one<int>();
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.err().value() == errc::no_rows);
    auto maybe = none->one_or_none<int>();
    REQUIRE(maybe.ok());
    CHECK_FALSE(maybe->has_value());

    // A cell type mismatch names the column, PostgreSQL's type and the C++ type.
    auto text = t::query_sync(loop, *conn, "SELECT 'abc'::text AS id, 'x' AS label");
    REQUIRE(text.ok());
    auto bad = text->one<int, std::string>();
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.err().value() == errc::conversion_error);
    CHECK(bad.err().message() == "column \"id\" (text) holds \"abc\", which is not a valid int32");

    // A column count mismatch names the server's column names.
    auto wide = t::query_sync(loop, *conn, "SELECT 1 AS id, 'x' AS label, 2.5::float8 AS price");
    REQUIRE(wide.ok());
    auto shape = wide->one<item>();
    REQUIRE_FALSE(shape.ok());
    CHECK(shape.err().value() == errc::conversion_error);
    CHECK_THAT(shape.err().message(),
               Catch::StartsWith("the result has 3 columns (id, label, price) but ") &&
                   Catch::EndsWith("item has 5 fields"));
}
