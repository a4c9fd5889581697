// Rows into C++ values: tuples, single values, structs (aggregate and
// row_traits), the column count and cell errors, one()/one_or_none()/all(),
// and how long string_views read from a result stay valid.

#include <catch2/catch.hpp>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <uvdb/result_set.hpp>
#include <vector>

using uvdb::errc;

namespace {

using cell = std::optional<std::string>;

/// A result with columns (name, type name) and rows of text cells (nullopt = NULL).
uvdb::result_set make_result(const std::vector<std::pair<std::string, std::string>>& cols,
                             const std::vector<std::vector<cell>>& rows) {
    std::vector<uvdb::owned_result::column> defs;
    for (const auto& [name, type] : cols) {
        uvdb::owned_result::column c;
        c.name = name;
        c.type_name = type;
        defs.push_back(std::move(c));
    }
    auto src = std::make_unique<uvdb::owned_result>(std::move(defs));
    for (const auto& r : rows) src->add_row(r);
    return uvdb::result_set(std::move(src));
}

/// id int4, name text, score float8: two users, the second with a NULL score.
uvdb::result_set users() {
    return make_result({{"id", "int4"}, {"name", "text"}, {"score", "float8"}},
                       {{"1", "ann", "2.5"}, {"2", "bob", std::nullopt}});
}

struct user {
    int id = 0;
    std::string name;
    std::optional<double> score;
};

struct user4 {
    int id;
    std::string name;
    std::optional<double> score;
    bool admin;
};

struct user2 {
    int id;
    std::string name;
};

struct named_view {
    int id;
    std::string_view name;
    std::optional<double> score;
};

/// Fields in another order than the columns, and a derived value: needs row_traits.
struct account {
    std::string owner;
    std::int64_t id = 0;
    bool scored = false;
};

/// row_traits that throws through row::get and names columns it may not find.
struct by_name {
    std::string name;
};

struct wide {
    int c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15;
    int c16, c17, c18, c19, c20, c21, c22, c23, c24, c25, c26, c27, c28, c29, c30, c31;
};

template <class F>
uvdb::error thrown_by(F&& f) {
    try {
        f();
    } catch (const uvdb::conversion_exception& e) {
        return e.err();
    }
    FAIL("no conversion_exception");
    return {};
}

}  // namespace

template <>
struct uvdb::row_traits<account> {
    static constexpr std::size_t columns = 3;
    static uvdb::result<account> from_row(const uvdb::row& r) {
        auto id = r.try_get<std::int64_t>("id");
        if (!id) return std::move(id).err();
        auto name = r.try_get<std::string>("name");
        if (!name) return std::move(name).err();
        return account{std::move(*name), *id, !r.is_null("score")};
    }
};

template <>
struct uvdb::row_traits<by_name> {
    static by_name from_row(const uvdb::row& r) { return {r.get<std::string>("name")}; }
};

TEST_CASE("as<T...>() yields a tuple per row for structured bindings", "[unit][rows]") {
    auto rs = users();
    std::vector<std::tuple<int, std::string, std::optional<double>>> seen;
    for (auto [id, name, score] : rs.as<int, std::string, std::optional<double>>()) {
        seen.emplace_back(id, name, score);
    }
    REQUIRE(seen.size() == 2);
    CHECK(seen[0] == std::tuple(1, std::string("ann"), std::optional<double>(2.5)));
    CHECK(seen[1] == std::tuple(2, std::string("bob"), std::optional<double>()));

    auto range = rs.as<int, std::string, std::optional<double>>();
    CHECK(range.size() == 2);
    CHECK_FALSE(range.empty());
    static_assert(std::forward_iterator<decltype(range.begin())>);
    CHECK(std::distance(range.begin(), range.end()) == 2);
}

TEST_CASE("as<T>() with one value type yields the value itself", "[unit][rows]") {
    auto rs = make_result({{"n", "int8"}}, {{"7"}, {"8"}, {std::nullopt}});
    std::vector<std::optional<long>> seen;
    for (std::optional<long> n : rs.as<std::optional<long>>()) seen.push_back(n);
    CHECK(seen == std::vector<std::optional<long>>{7, 8, std::nullopt});
}

TEST_CASE("a struct reads through its fields in column order", "[unit][rows]") {
    auto rs = users();
    std::vector<user> seen;
    for (const user& u : rs.as<user>()) seen.push_back(u);
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].id == 1);
    CHECK(seen[0].name == "ann");
    CHECK(seen[0].score == 2.5);
    CHECK(seen[1].id == 2);
    CHECK(seen[1].name == "bob");
    CHECK_FALSE(seen[1].score.has_value());

    auto w = make_result(
        [] {
            std::vector<std::pair<std::string, std::string>> cols;
            for (int i = 0; i < 32; ++i) cols.emplace_back("c" + std::to_string(i), "int4");
            return cols;
        }(),
        {[] {
            std::vector<cell> cells;
            for (int i = 0; i < 32; ++i) cells.emplace_back(std::to_string(i * 10));
            return cells;
        }()});
    auto one = w.one<wide>();
    REQUIRE(one.ok());
    CHECK(one->c0 == 0);
    CHECK(one->c17 == 170);
    CHECK(one->c31 == 310);
}

TEST_CASE("a struct with row_traits reads the way its specialisation says", "[unit][rows]") {
    auto rs = users();
    auto all = rs.all<account>();
    REQUIRE(all.ok());
    REQUIRE(all->size() == 2);
    CHECK((*all)[0].owner == "ann");
    CHECK((*all)[0].id == 1);
    CHECK((*all)[0].scored);
    CHECK((*all)[1].owner == "bob");
    CHECK_FALSE((*all)[1].scored);

    // row_traits<account>::columns is checked like a field count.
    auto two = make_result({{"id", "int4"}, {"name", "text"}}, {{"1", "ann"}});
    auto e = thrown_by([&] { (void)two.as<account>(); });
    CHECK(e.value() == errc::conversion_error);
    CHECK_THAT(e.message(),
               Catch::StartsWith("the result has 2 columns (id, name) but row_traits<") &&
                   Catch::EndsWith("account> reads 3 columns"));

    // A from_row that throws, without a column count: any width, errors caught
    // by the non-throwing forms and reported as conversion errors.
    auto named = rs.all<by_name>();
    REQUIRE(named.ok());
    CHECK((*named)[1].name == "bob");
    auto no_name = make_result({{"id", "int4"}}, {{"1"}});
    auto missing = no_name.one<by_name>();
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.err().value() == errc::conversion_error);
    CHECK(missing.err().message() == "no column named \"name\"; the result has columns: id");
}

TEST_CASE("a column count that does not match names both sides", "[unit][rows]") {
    auto rs = users();
    // 3 columns into a 4-field struct, and into 2 fields.
    auto e4 = thrown_by([&] { (void)rs.as<user4>(); });
    CHECK(e4.value() == errc::conversion_error);
    CHECK_THAT(e4.message(), Catch::StartsWith("the result has 3 columns (id, name, score) but ") &&
                                 Catch::EndsWith("user4 has 4 fields"));
    auto e2 = rs.one<user2>();
    REQUIRE_FALSE(e2.ok());
    CHECK_THAT(e2.err().message(), Catch::EndsWith("user2 has 2 fields"));

    // 3 columns read as 4 and as 2 values; checked before any row is read.
    auto ev = thrown_by([&] { (void)rs.as<int, std::string, double, bool>(); });
    CHECK(ev.message() == "the result has 3 columns (id, name, score) but 4 values were asked for");
    auto e1 = make_result({{"a", "int4"}, {"b", "int4"}}, {}).all<int>();
    REQUIRE_FALSE(e1.ok());
    CHECK(e1.err().message() == "the result has 2 columns (a, b) but 1 value was asked for");

    // A statement without rows (INSERT) has no columns.
    uvdb::result_set none;
    auto en = thrown_by([&] { (void)none.as<int>(); });
    CHECK(en.message() == "the result has no columns but 1 value was asked for");

    auto row = rs[0].try_as<int, std::string>();
    REQUIRE_FALSE(row.ok());
    CHECK(row.err().value() == errc::conversion_error);
}

TEST_CASE("a cell that does not convert gives row::get's error", "[unit][rows]") {
    auto rs = make_result({{"id", "int4"}, {"name", "text"}, {"score", "float8"}},
                          {{"1", "ann", "2.5"}, {"x", "bob", "1"}});
    // The first row converts; the iterator throws at the second.
    int rows = 0;
    auto e = thrown_by([&] {
        for (const user& u : rs.as<user>()) {
            (void)u;
            ++rows;
        }
    });
    CHECK(rows == 1);
    CHECK(e.value() == errc::conversion_error);
    CHECK(e.message() == "column \"id\" (int4) holds \"x\", which is not a valid int32");

    auto all = rs.all<int, std::string, double>();
    REQUIRE_FALSE(all.ok());
    CHECK(all.err().message() == e.message());

    // NULL into a field that is not optional.
    auto nulls = make_result({{"id", "int4"}, {"name", "text"}}, {{"1", std::nullopt}});
    auto u = nulls.one<user2>();
    REQUIRE_FALSE(u.ok());
    CHECK(u.err().value() == errc::conversion_error);
    CHECK(u.err().message() ==
          "column \"name\" (text) is NULL; read it as std::optional<std::string>");
    CHECK(thrown_by([&] { (void)nulls[0].as<user2>(); }).message() == u.err().message());
}

TEST_CASE("one() needs exactly one row; none is no_rows, more conversion_error", "[unit][rows]") {
    auto none = make_result({{"id", "int4"}}, {});
    auto one = make_result({{"id", "int4"}}, {{"5"}});
    auto two = make_result({{"id", "int4"}}, {{"5"}, {"6"}});

    auto r0 = none.one<int>();
    REQUIRE_FALSE(r0.ok());
    CHECK(r0.err().value() == errc::no_rows);
    CHECK(r0.err().message() ==
          "one() needs exactly one row but the result has 0 rows; use one_or_none() when no "
          "row is an answer");
    auto r1 = one.one<int>();
    REQUIRE(r1.ok());
    CHECK(*r1 == 5);
    auto r2 = two.one<int>();
    REQUIRE_FALSE(r2.ok());
    CHECK(r2.err().value() == errc::conversion_error);
    CHECK(r2.err().message() == "one() needs exactly one row but the result has 2 rows");

    // The column count comes first: no rows in a result of the wrong shape is
    // not "not found".
    auto wrong = none.one<int, int>();
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.err().value() == errc::conversion_error);

    auto o0 = none.one_or_none<int>();
    REQUIRE(o0.ok());
    CHECK_FALSE(o0->has_value());
    auto o1 = one.one_or_none<int>();
    REQUIRE(o1.ok());
    CHECK(*o1 == std::optional<int>(5));
    auto o2 = two.one_or_none<int>();
    REQUIRE_FALSE(o2.ok());
    CHECK(o2.err().message() == "one_or_none() needs at most one row but the result has 2 rows");

    // Several types give a tuple, as does a std::tuple alone.
    auto pair = make_result({{"id", "int4"}, {"name", "text"}}, {{"1", "ann"}});
    auto t = pair.one<int, std::string>();
    REQUIRE(t.ok());
    CHECK(*t == std::tuple(1, std::string("ann")));
    auto t2 = pair.one<std::tuple<int, std::string>>();
    REQUIRE(t2.ok());
    CHECK(*t2 == *t);
    CHECK(pair[0].as<std::tuple<long, std::string>>() == std::tuple(1L, std::string("ann")));
}

TEST_CASE("empty results read as nothing", "[unit][rows]") {
    auto rs = make_result({{"id", "int4"}, {"name", "text"}, {"score", "float8"}}, {});
    int n = 0;
    for (const user& u : rs.as<user>()) {
        (void)u;
        ++n;
    }
    CHECK(n == 0);
    CHECK(rs.as<user>().empty());
    auto all = rs.all<user>();
    REQUIRE(all.ok());
    CHECK(all->empty());
}

TEST_CASE("string_views read from a result stay valid while it lives", "[unit][rows]") {
    auto rs = users();
    std::vector<std::string_view> names;
    for (auto [id, name] :
         make_result({{"id", "int4"}, {"name", "text"}}, {}).as<int, std::string_view>()) {
        (void)id;
        names.push_back(name);
    }
    CHECK(names.empty());

    for (const named_view& v : rs.as<named_view>()) names.push_back(v.name);
    auto all = rs.all<named_view>();
    REQUIRE(all.ok());
    // Read again and after other reads: the views point into the result's cells.
    (void)rs.all<user>();
    REQUIRE(names.size() == 2);
    CHECK(names[0] == "ann");
    CHECK(names[1] == "bob");
    CHECK((*all)[1].name == "bob");
    CHECK(names[0].data() == rs[0].text(1).data());

    // On a temporary the range owns the result for the loop.
    std::vector<std::string> copied;
    for (auto [id, name] :
         make_result({{"id", "int4"}, {"name", "text"}}, {{"1", "cy"}, {"2", "di"}})
             .as<int, std::string_view>()) {
        copied.emplace_back(name);
    }
    CHECK(copied == std::vector<std::string>{"cy", "di"});

    // one()/all() on a temporary refuse what would dangle (a static_assert);
    // this is what they look at.
    static_assert(uvdb::detail::reader_t<named_view>::borrows());
    static_assert(uvdb::detail::reader_t<int, std::optional<std::string_view>>::borrows());
    static_assert(uvdb::detail::reader_t<std::tuple<std::string_view>>::borrows());
    static_assert(!uvdb::detail::reader_t<user>::borrows());
    static_assert(!uvdb::detail::reader_t<std::string>::borrows());
    auto owned = make_result({{"id", "int4"}, {"name", "text"}}, {{"1", "ed"}}).one<user2>();
    REQUIRE(owned.ok());
    CHECK(owned->name == "ed");
}

TEST_CASE("row::as reads one row", "[unit][rows]") {
    auto rs = users();
    for (uvdb::row r : rs) {
        auto u = r.try_as<user>();
        REQUIRE(u.ok());
        CHECK(u->id == static_cast<int>(r.index()) + 1);
    }
    CHECK(rs[1].as<user>().name == "bob");
    CHECK(std::get<1>(rs[0].as<int, std::string, std::optional<double>>()) == "ann");
    uvdb::row detached(nullptr, 0);
    CHECK(detached.try_as<int>().err().value() == errc::bad_input);
}
