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
    const std::string text =
        "postgresql:///db?host=/v=l://app:s3cret@ql&port=5432&password=Sup3rSecret";
    auto parsed = uvdb::parse_url(text);
    REQUIRE(parsed.ok());
    REQUIRE(parsed->password == "Sup3rSecret");
    const std::string masked = uvdb::mask_password(text);
    CHECK_THAT(masked, !Contains("Sup3rSecret"));
    CHECK_THAT(masked, !Contains("s3cret"));
    CHECK_THAT(masked, Contains("password=***"));
    CHECK_THAT(masked, Contains("port=5432"));

    // The same with a user-info password before the '@' in the query.
    const std::string both = "postgresql://u:first@h/db?note=a@b&password=second";
    CHECK_THAT(uvdb::mask_password(both), !Contains("first"));
    CHECK_THAT(uvdb::mask_password(both), !Contains("second"));
}
