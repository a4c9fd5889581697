#include <catch2/catch.hpp>
#include <string>
#include <uvdb/percent.hpp>

using namespace std::string_literals;

TEST_CASE("percent_decode decodes escapes in either case and leaves the rest", "[unit][percent]") {
    auto d = uvdb::percent_decode("p%40ss%2fw%3Ard+x%25");
    REQUIRE(d.ok());
    CHECK(d.fault == uvdb::percent_fault::none);
    // '+' is not a space here: connection strings are not HTML form data.
    CHECK(d.text == "p@ss/w:rd+x%");
    CHECK(uvdb::percent_decode("").text.empty());
    CHECK(uvdb::percent_decode("%C3%A9").text == "\xC3\xA9");
}

TEST_CASE("percent_decode names the '%' of the first malformed escape", "[unit][percent]") {
    struct example {
        const char* text;
        std::size_t offset;
    };
    for (auto [text, offset] : {example{"%", 0}, example{"ab%4", 2}, example{"ab%4g", 2},
                                example{"%41%zz%00", 3}, example{"x%%41", 1}}) {
        INFO(text);
        auto d = uvdb::percent_decode(text);
        CHECK_FALSE(d.ok());
        CHECK(d.fault == uvdb::percent_fault::bad_escape);
        CHECK(d.offset == offset);
        CHECK(d.text.empty());
    }
}

TEST_CASE("percent_decode refuses %00, wherever it is", "[unit][percent]") {
    auto d = uvdb::percent_decode("db%41%00%zz");
    CHECK(d.fault == uvdb::percent_fault::nul_byte);
    CHECK(d.offset == 5);
    CHECK(uvdb::percent_decode("%00").fault == uvdb::percent_fault::nul_byte);
}

TEST_CASE("percent_decode_lenient keeps malformed escapes and decodes %00", "[unit][percent]") {
    CHECK(uvdb::percent_decode_lenient("sec%zzret%41") == "sec%zzretA");
    CHECK(uvdb::percent_decode_lenient("100%") == "100%");
    CHECK(uvdb::percent_decode_lenient("%4") == "%4");
    CHECK(uvdb::percent_decode_lenient("a%00b") == "a\0b"s);
    CHECK(uvdb::percent_decode_lenient("a+b%2B") == "a+b+");
}

TEST_CASE("hex_digit_value reads ASCII hex digits only", "[unit][percent]") {
    CHECK(uvdb::hex_digit_value('0') == 0);
    CHECK(uvdb::hex_digit_value('9') == 9);
    CHECK(uvdb::hex_digit_value('a') == 10);
    CHECK(uvdb::hex_digit_value('F') == 15);
    for (char c : {'g', 'G', '/', ':', '@', '`', ' ', '%', '\0', '\xB2'})
        CHECK(uvdb::hex_digit_value(c) == -1);
}
