// Regression tests for what the libFuzzer targets (core/fuzz/) found. Each
// input is also kept in the target's seed corpus (core/fuzz/corpus/<name>/
// regress-*), so the fuzzers start from it every run.

#include <catch2/catch.hpp>

#include <string>
#include <uvdb/url.hpp>

using Catch::Matchers::Contains;

TEST_CASE("fuzz url: a password parameter after an '@' inside the query is masked",
          "[unit][mask][fuzz]") {
    // The last '@' of the text sat in the query string, so mask_url took
    // everything before it for user info and printed the rest as it was,
    // password parameter included (corpus/url/regress-at-in-query-password).
    // (The "app:s3cret" here is part of the host parameter, not a password.)
    const std::string text =
        "postgresql:///db?host=/v=l://app:s3cret@ql&port=5432&password=Sup3rSecret";
    auto parsed = uvdb::parse_url(text);
    REQUIRE(parsed.ok());
    REQUIRE(parsed->password == "Sup3rSecret");
    const std::string masked = uvdb::mask_password(text);
    CHECK_THAT(masked, !Contains("Sup3rSecret"));
    CHECK_THAT(masked, Contains("password=***"));
    CHECK_THAT(masked, Contains("port=5432"));

    // The same with a user-info password before the '@' in the query.
    const std::string both = "postgresql://u:first@h/db?note=a@b&password=second";
    CHECK_THAT(uvdb::mask_password(both), !Contains("first"));
    CHECK_THAT(uvdb::mask_password(both), !Contains("second"));
}

TEST_CASE("fuzz url: a key=value string with an '@' before its first '=' is masked as key=value",
          "[unit][mask][fuzz]") {
    // mask_password took any text with an '@' before the first '=' for a
    // scheme-less URL ("user:secret@host"), so a valid key=value string
    // such as this one kept its password (corpus/url/regress-kv-with-early-at).
    const std::string text = "note=a@b password=Sup3rSecret user=me";
    REQUIRE(uvdb::parse_url(text).ok());
    CHECK(uvdb::mask_password("x@y=1 password=Sup3rSecret user=me") ==
          "x@y=1 password=*** user=me");
    CHECK_THAT(uvdb::mask_password(text), !Contains("Sup3rSecret"));
    // Malformed, with an '@' first: both readings are masked.
    CHECK(uvdb::mask_password("u:first@h x=1 password=second port") == "u:***@h x=1 password=***");
}

TEST_CASE("fuzz url: an '@' inside a password query parameter does not end the masking",
          "[unit][mask][fuzz]") {
    // The last-'@' rule took "...?pass%77ord==ret'@" for user info and left
    // the password's tail, and with it the whole value, in the output
    // (corpus/url/regress-at-in-password-param). A URL that parses is now
    // masked along the lines the parser reads it.
    const std::string text = "postgresql:///db?pass%77ord==ret@q/x&sslmode=require";
    auto parsed = uvdb::parse_url(text);
    REQUIRE(parsed.ok());
    REQUIRE(parsed->password == "=ret@q/x");
    CHECK(uvdb::mask_password(text) == "postgresql:///db?pass%77ord=***&sslmode=require");
}
