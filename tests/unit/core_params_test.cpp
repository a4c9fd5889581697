// uvdb::params: what each C++ type binds as, the inline budget and the
// spill past it, copies and moves, and element views.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <iterator>
#include <limits>
#include <optional>
#include <ranges>
#include <span>
#include <string>
#include <uvdb/param.hpp>
#include <vector>

using uvdb::param_kind;
using uvdb::params;

namespace {

struct money {
    long long cents;
};
struct tag {
    int n;
};
std::string to_string(const tag& t) { return "tag-" + std::to_string(t.n); }

}  // namespace

template <>
struct uvdb::param_traits<money> {
    static uvdb::param to_param(const money& m) { return std::to_string(m.cents) + "c"; }
};

static_assert(std::ranges::random_access_range<const params>);
static_assert(std::is_nothrow_move_constructible_v<params>);
static_assert(std::is_nothrow_move_assignable_v<params>);
static_assert(!std::is_convertible_v<int, params>, "params(args...) is explicit");

TEST_CASE("params: each C++ type binds as the kind param gives it", "[unit][params]") {
    const std::optional<int> some = 7;
    const std::optional<std::string> none;
    const char* no_text = nullptr;
    const std::vector<std::byte> blob{std::byte{1}, std::byte{2}};
    params p(std::int16_t{-2}, 3, std::uint16_t{65535}, std::uint32_t{4000000000u},
             std::int64_t{1} << 40, std::numeric_limits<std::uint64_t>::max(), 1.5f, 2.25, true,
             nullptr, std::nullopt, some, none, no_text, "lit", std::string("str"),
             std::string_view("view"), uvdb::bytes("\x00\xff", 2), blob, money{125}, tag{4});
    REQUIRE(p.size() == 21);
    CHECK(p[0].type() == param_kind::int16);
    CHECK(p[0].as_int() == -2);
    CHECK(p[1].type() == param_kind::int32);
    CHECK(p[2].type() == param_kind::int32);
    CHECK(p[2].as_int() == 65535);
    CHECK(p[3].type() == param_kind::int64);
    CHECK(p[3].as_int() == 4000000000LL);
    CHECK(p[4].as_int() == std::int64_t{1} << 40);
    CHECK(p[5].type() == param_kind::text);
    CHECK(p[5].as_text() == "18446744073709551615");
    CHECK(p[6].type() == param_kind::float32);
    CHECK(p[6].as_double() == 1.5);
    CHECK(p[7].type() == param_kind::float64);
    CHECK(p[8].type() == param_kind::boolean);
    CHECK(p[8].as_bool());
    for (std::size_t i : {9, 10, 12, 13}) {
        INFO("element " << i);
        CHECK(p[i].is_null());
    }
    CHECK(p[11].as_int() == 7);
    CHECK(p[14].as_text() == "lit");
    CHECK(p[15].as_text() == "str");
    CHECK(p[16].as_text() == "view");
    CHECK(std::strcmp(p[16].text_c_str(), "view") == 0);
    REQUIRE(p[17].type() == param_kind::binary);
    CHECK(p[17].as_bytes().size() == 2);
    CHECK(p[17].as_bytes()[1] == std::byte{0xff});
    CHECK(p[18].type() == param_kind::binary);
    CHECK(p[18].as_bytes().size() == 2);
    CHECK(p[19].as_text() == "125c");   // param_traits
    CHECK(p[20].as_text() == "tag-4");  // to_string found by ADL

    // The same values one by one through param give the same params.
    params q;
    for (uvdb::param v : {uvdb::param(std::int16_t{-2}),
                          uvdb::param(3),
                          uvdb::param(std::uint16_t{65535}),
                          uvdb::param(std::uint32_t{4000000000u}),
                          uvdb::param(std::int64_t{1} << 40),
                          uvdb::param(std::numeric_limits<std::uint64_t>::max()),
                          uvdb::param(1.5f),
                          uvdb::param(2.25),
                          uvdb::param(true),
                          uvdb::param(nullptr),
                          uvdb::param(std::nullopt),
                          uvdb::param(some),
                          uvdb::param(none),
                          uvdb::param(no_text),
                          uvdb::param("lit"),
                          uvdb::param(std::string("str")),
                          uvdb::param(std::string_view("view")),
                          uvdb::param(uvdb::bytes("\x00\xff", 2)),
                          uvdb::param(std::span<const std::byte>(blob)),
                          uvdb::param(money{125}),
                          uvdb::param(tag{4})}) {
        q.push_back(v);
    }
    CHECK(q == p);
}

TEST_CASE("params: text keeps embedded NULs and is NUL-terminated; empty is not NULL",
          "[unit][params]") {
    const std::string with_nul("a\0b", 3);
    auto p = uvdb::make_params(with_nul, "", uvdb::bytes(), std::string());
    CHECK(p[0].as_text() == with_nul);
    CHECK(p[0].text_c_str()[3] == '\0');
    CHECK_FALSE(p[1].is_null());
    CHECK(p[1].as_text().empty());
    CHECK(*p[1].text_c_str() == '\0');
    CHECK(p[2].type() == param_kind::binary);
    CHECK(p[2].as_bytes().empty());
    CHECK(p[2].as_bytes().data() != nullptr);  // libpq reads a null pointer as NULL
    CHECK(p[3].type() == param_kind::text);
}

TEST_CASE("params: the usual statement stays inline; more spills to the heap", "[unit][params]") {
    CHECK(sizeof(params) <= 384);
    params small(1, "two", 3.0, std::string(40, 'x'));
    CHECK_FALSE(small.spilled());

    // Exactly the byte budget: inline. One byte more: spilled.
    const std::string fill(params::inline_bytes - 1, 'f');  // + its NUL
    params exact(fill);
    CHECK_FALSE(exact.spilled());
    CHECK(exact.bytes_used() == params::inline_bytes);
    params over(fill + "g");
    CHECK(over.spilled());
    CHECK(over[0].as_text() == fill + "g");

    // Exactly the count budget: inline.
    params eight(1, 2, 3, 4, 5, 6, 7, 8);
    CHECK_FALSE(eight.spilled());
    eight.push_back(9);
    CHECK(eight.spilled());
    for (int i = 0; i < 9; ++i) CHECK(eight[static_cast<std::size_t>(i)].as_int() == i + 1);
}

TEST_CASE("params: 100 parameters of 10 KB spill and read back whole", "[unit][params]") {
    params p;
    std::vector<std::string> texts;
    for (int i = 0; i < 100; ++i) {
        texts.push_back(std::string(10 * 1024, static_cast<char>('a' + i % 26)) +
                        std::to_string(i));
        if (i % 2 == 0) {
            p.push_back(texts.back());
        } else {
            p.emplace_back(std::string_view(texts.back()));
        }
    }
    REQUIRE(p.size() == 100);
    CHECK(p.spilled());
    CHECK(p.capacity() >= 100);
    for (std::size_t i = 0; i < 100; ++i) {
        INFO("parameter " << i);
        CHECK(p[i].as_text() == texts[i]);
        CHECK(std::strlen(p[i].text_c_str()) == texts[i].size());
    }
    // Moving a spilled params steals its blocks; a copy is equal and independent.
    const char* first = p[0].text_c_str();
    params moved(std::move(p));
    CHECK(moved[0].text_c_str() == first);
    CHECK(p.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty and usable
    CHECK_FALSE(p.spilled());
    p.push_back(1);
    CHECK(p[0].as_int() == 1);
    params copy(moved);
    CHECK(copy == moved);
    CHECK(copy[0].text_c_str() != moved[0].text_c_str());
    // The variadic constructor reserves once for big strings it can see.
    params two(texts[0], texts[1]);
    CHECK(two.byte_capacity() == texts[0].size() + texts[1].size() + 2);
}

TEST_CASE("params: copy and move, inline and spilled, both ways", "[unit][params]") {
    params inline_one(42, "inline");
    params spilled_one(std::string(1000, 's'), 1, 2, 3, 4, 5, 6, 7, 8, 9);
    REQUIRE(spilled_one.spilled());

    params a = inline_one;
    a = spilled_one;  // inline ← spilled copy
    CHECK(a == spilled_one);
    a = inline_one;  // keeps its heap storage, holds the inline one's values
    CHECK(a == inline_one);
    CHECK(a.size() == 2);

    params b(std::move(a));
    CHECK(b == inline_one);
    b = std::move(spilled_one);
    CHECK(b.size() == 10);
    CHECK(b[0].as_text() == std::string(1000, 's'));
    b = params(7);
    CHECK(b.size() == 1);
    CHECK(b[0].as_int() == 7);
    auto& self = b;
    b = self;
    CHECK(b[0].as_int() == 7);
    CHECK(params() == params{});
    CHECK_FALSE(params(1) == params(2));
    CHECK_FALSE(params(1) == params(1, 2));
    CHECK_FALSE(params("1") == params(1));
}

TEST_CASE("params: an element pushed into its own params survives the growth", "[unit][params]") {
    params p(std::string(100, 'q'), 5);
    for (int i = 0; i < 20; ++i) p.push_back(p[0]);  // regrows bytes and slots on the way
    p.push_back(p[1]);
    REQUIRE(p.size() == 23);
    for (std::size_t i = 2; i < 22; ++i) CHECK(p[i].as_text() == std::string(100, 'q'));
    CHECK(p[22].as_int() == 5);
    const uvdb::param owned(p[0]);
    CHECK(owned.as_text() == std::string(100, 'q'));
}

TEST_CASE("params: the vector-like surface callers use", "[unit][params]") {
    params p{1, "x", nullptr};  // an initializer list of param
    CHECK(p.size() == 3);
    CHECK(p.front().as_int() == 1);
    CHECK(p.back().is_null());
    CHECK_THROWS_AS(p.at(3), std::out_of_range);
    CHECK(p.at(1).as_text() == "x");

    std::vector<param_kind> kinds;
    for (const auto& v : p) kinds.push_back(v.type());
    CHECK(kinds == std::vector<param_kind>{param_kind::int32, param_kind::text, param_kind::null});
    CHECK(std::distance(p.begin(), p.end()) == 3);
    CHECK((*(p.begin() + 2)).is_null());

    p.clear();
    CHECK(p.empty());
    CHECK(p.bytes_used() == 0);
    p.reserve(100);
    CHECK(p.capacity() >= 100);
    p.resize(3);
    CHECK(p.size() == 3);
    CHECK(std::all_of(p.begin(), p.end(), [](uvdb::param_view v) { return v.is_null(); }));
    p.resize(1);
    CHECK(p.size() == 1);

    params none = uvdb::make_params();
    CHECK(none.empty());
    auto v = p.emplace_back(std::string("built"));
    CHECK(v.as_text() == "built");
}
