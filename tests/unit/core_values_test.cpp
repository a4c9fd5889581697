#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <uvdb/result_set.hpp>

namespace {

using cell = std::optional<std::string>;

/// One row; each column gets (name, type name, text or NULL).
uvdb::result_set one_row(const std::vector<std::pair<std::string, std::string>>& cols,
                         std::vector<cell> cells) {
    std::vector<uvdb::owned_result::column> defs;
    for (auto& [name, type] : cols) {
        uvdb::owned_result::column c;
        c.name = name;
        c.type_name = type;
        defs.push_back(std::move(c));
    }
    auto src = std::make_unique<uvdb::owned_result>(std::move(defs));
    src->add_row(std::move(cells));
    return uvdb::result_set(std::move(src));
}

uvdb::result_set single(const std::string& type, cell value, const std::string& name = "v") {
    return one_row({{name, type}}, {std::move(value)});
}

template <class T>
std::string error_of(const uvdb::result_set& rs) {
    auto r = rs[0].try_get<T>(0);
    REQUIRE_FALSE(r.ok());
    return r.err().message();
}

}  // namespace

TEST_CASE("bool accepts PostgreSQL's and common spellings", "[unit][values]") {
    for (const char* t : {"t", "true", "1", "TRUE"}) CHECK(single("bool", t).value<bool>());
    for (const char* f : {"f", "false", "0", "FALSE"}) CHECK_FALSE(single("bool", f).value<bool>());
    CHECK(error_of<bool>(single("text", "yes")) ==
          "column \"v\" (text) holds \"yes\", which is not a valid bool");
}

TEST_CASE("integers convert with range checks at every width", "[unit][values]") {
    CHECK(single("int2", "-32768").value<std::int16_t>() ==
          std::numeric_limits<std::int16_t>::min());
    CHECK(single("int2", "32767").value<std::int16_t>() == 32767);
    CHECK(single("int4", "-2147483648").value<int>() == std::numeric_limits<int>::min());
    CHECK(single("int8", "9223372036854775807").value<std::int64_t>() ==
          std::numeric_limits<std::int64_t>::max());
    CHECK(single("int8", "-9223372036854775808").value<long long>() ==
          std::numeric_limits<long long>::min());
    CHECK(single("numeric", "18446744073709551615").value<std::uint64_t>() ==
          std::numeric_limits<std::uint64_t>::max());
    CHECK(single("int2", "255").value<std::uint8_t>() == 255);
    CHECK(single("int2", "-128").value<std::int8_t>() == -128);
    CHECK(single("int4", "-0").value<unsigned>() == 0u);
    CHECK(single("int4", "42").value<long>() == 42);
    CHECK(single("int4", "42").value<unsigned short>() == 42);

    CHECK(error_of<std::int16_t>(single("int8", "99999999999", "n")) ==
          "column \"n\" (int8) holds 99999999999, which does not fit int16");
    CHECK(error_of<std::int16_t>(single("int4", "32768")) ==
          "column \"v\" (int4) holds 32768, which does not fit int16");
    CHECK(error_of<std::int64_t>(single("numeric", "9223372036854775808")) ==
          "column \"v\" (numeric) holds 9223372036854775808, which does not fit int64");
    CHECK(error_of<std::uint32_t>(single("int4", "-1")) ==
          "column \"v\" (int4) holds -1, which does not fit uint32");
    CHECK(error_of<std::uint8_t>(single("int4", "256")) ==
          "column \"v\" (int4) holds 256, which does not fit uint8");
    CHECK(error_of<std::uint64_t>(single("numeric", "18446744073709551616")) ==
          "column \"v\" (numeric) holds 18446744073709551616, which does not fit uint64");
    CHECK(error_of<int>(single("numeric", "1.5")) ==
          "column \"v\" (numeric) holds \"1.5\", which is not a valid int32");
    CHECK(error_of<int>(single("text", "")) ==
          "column \"v\" (text) holds \"\", which is not a valid int32");
    CHECK(error_of<unsigned>(single("text", "-x")) ==
          "column \"v\" (text) holds \"-x\", which is not a valid uint32");
    CHECK(error_of<int>(single("text", " 1")).find("not a valid int32") != std::string::npos);
}

TEST_CASE("floating point values convert, including NaN and infinities", "[unit][values]") {
    CHECK(single("float8", "3.25").value<double>() == 3.25);
    CHECK(single("float8", "-1e308").value<double>() == -1e308);
    CHECK(single("float4", "0.5").value<float>() == 0.5f);
    CHECK(std::isnan(single("float8", "NaN").value<double>()));
    CHECK(single("float8", "Infinity").value<double>() == std::numeric_limits<double>::infinity());
    CHECK(single("float4", "-Infinity").value<float>() == -std::numeric_limits<float>::infinity());
    CHECK(single("int4", "7").value<double>() == 7.0);
    CHECK(error_of<float>(single("float8", "1e300")) ==
          "column \"v\" (float8) holds 1e300, which does not fit float32");
    CHECK(error_of<double>(single("text", "abc")) ==
          "column \"v\" (text) holds \"abc\", which is not a valid float64");
    CHECK(error_of<double>(single("text", "1.5x")).find("not a valid float64") !=
          std::string::npos);
}

TEST_CASE("text converts to std::string and std::string_view", "[unit][values]") {
    auto rs = single("text", "héllo");
    CHECK(rs.value<std::string>() == "héllo");
    CHECK(rs.value<std::string_view>() == "héllo");
    CHECK(single("text", "").value<std::string>().empty());
}

TEST_CASE("bytea's hex text form converts to bytes", "[unit][values]") {
    auto b = single("bytea", "\\x00ff10Ab").value<uvdb::bytes>();
    REQUIRE(b.data.size() == 4);
    CHECK(b.data[0] == std::byte{0x00});
    CHECK(b.data[1] == std::byte{0xff});
    CHECK(b.data[2] == std::byte{0x10});
    CHECK(b.data[3] == std::byte{0xab});
    CHECK(single("bytea", "\\x").value<uvdb::bytes>().data.empty());
    CHECK_THAT(error_of<uvdb::bytes>(single("text", "plain")),
               Catch::StartsWith("column \"v\" (text) is not in PostgreSQL's hex bytea form"));
    CHECK_THAT(error_of<uvdb::bytes>(single("bytea", "\\x0")), Catch::Contains("odd length"));
    CHECK_THAT(error_of<uvdb::bytes>(single("bytea", "\\xzz")), Catch::Contains("non-hex"));
}

TEST_CASE("NULL needs std::optional", "[unit][values]") {
    auto rs = single("int4", std::nullopt, "x");
    CHECK(rs[0].is_null(0));
    CHECK(rs[0].is_null("x"));
    CHECK(rs[0].text(0).empty());
    CHECK_FALSE(rs.value<std::optional<int>>().has_value());
    CHECK_FALSE(rs.value<std::optional<std::string>>().has_value());
    CHECK(error_of<int>(rs) == "column \"x\" (int4) is NULL; read it as std::optional<int>");
    CHECK(error_of<std::string>(rs) ==
          "column \"x\" (int4) is NULL; read it as std::optional<std::string>");
    CHECK(error_of<std::int64_t>(rs) ==
          "column \"x\" (int4) is NULL; read it as std::optional<std::int64_t>");
    CHECK(error_of<double>(rs) == "column \"x\" (int4) is NULL; read it as std::optional<double>");
    CHECK(error_of<bool>(rs) == "column \"x\" (int4) is NULL; read it as std::optional<bool>");
    CHECK(error_of<uvdb::bytes>(rs) ==
          "column \"x\" (int4) is NULL; read it as std::optional<uvdb::bytes>");

    auto set = single("int4", "5");
    CHECK(set.value<std::optional<int>>() == 5);
    // A conversion error inside optional is still an error.
    CHECK(error_of<std::optional<std::int8_t>>(single("int4", "300")) ==
          "column \"v\" (int4) holds 300, which does not fit int8");
}

TEST_CASE("get throws conversion_exception carrying the error", "[unit][values]") {
    auto rs = single("text", "abc");
    try {
        (void)rs[0].get<int>(0);
        FAIL("get<int> should have thrown");
    } catch (const uvdb::conversion_exception& e) {
        CHECK(e.err().code() == uvdb::errc::conversion_error);
        CHECK(std::string(e.what()) == e.err().message());
    }
}

TEST_CASE("columns are found by name; unknown names and indexes are explained", "[unit][values]") {
    auto rs = one_row({{"id", "int8"}, {"name", "text"}, {"score", "float8"}},
                      {cell("7"), cell("ann"), cell("1.5")});
    REQUIRE(rs.size() == 1);
    REQUIRE(rs.columns() == 3);
    CHECK(rs.column_name(1) == "name");
    CHECK(rs.column_type_name(0) == "int8");
    CHECK(*rs.column_index("score") == 2);
    auto r = rs[0];
    CHECK(r.size() == 3);
    CHECK(r.get<std::int64_t>("id") == 7);
    CHECK(r.get<std::string>("name") == "ann");
    CHECK(r.get<double>("score") == 1.5);

    auto unknown = r.try_get<int>("nmae");
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.err().code() == uvdb::errc::bad_input);
    CHECK(unknown.err().message() ==
          "no column named \"nmae\"; the result has columns: id, name, score");
    CHECK_THROWS_AS(r.get<int>("nmae"), uvdb::conversion_exception);

    auto out_of_range = r.try_get<int>(3);
    REQUIRE_FALSE(out_of_range.ok());
    CHECK(out_of_range.err().message() ==
          "column index 3 is out of range; the result has 3 column(s)");
    CHECK_THROWS_AS(r.text(5), uvdb::conversion_exception);
    CHECK_THROWS_AS(rs.column_name(3), std::out_of_range);
    CHECK_THROWS_AS(rs.at(1), std::out_of_range);

    auto bad_row = rs[4].try_get<int>(0);
    REQUIRE_FALSE(bad_row.ok());
    CHECK(bad_row.err().message() == "row index 4 is out of range; the result has 1 row(s)");
}

TEST_CASE("result sets iterate rows and report affected rows", "[unit][values]") {
    auto src = std::make_unique<uvdb::owned_result>(
        std::vector<uvdb::owned_result::column>{{"n", uvdb::column_kind::int32, 23, "int4"}});
    for (int i = 0; i < 4; ++i) src->add_row({std::to_string(i)});
    src->set_command_tag("SELECT 4");
    uvdb::result_set rs(std::move(src));
    int sum = 0;
    for (auto row : rs) sum += row.get<int>(0);
    CHECK(sum == 6);
    CHECK(rs.affected_rows() == 4);
    CHECK(rs.command_tag() == "SELECT 4");
    CHECK(rs.column_kind_of(0) == uvdb::column_kind::int32);
    CHECK(rs.column_type_id(0) == 23);

    uvdb::result_set empty;
    CHECK(empty.empty());
    CHECK(empty.columns() == 0);
    CHECK_FALSE(empty.column_index("x").ok());
    CHECK_FALSE(empty[0].try_get<int>(0).ok());
}
