// Regression tests for what the libFuzzer targets (core/fuzz/) found. Each
// input is also kept in the target's seed corpus (core/fuzz/corpus/<name>/
// regress-*), so the fuzzers start from it every run.

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <uvdb/result_set.hpp>
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
    // (corpus/url/regress-at-in-password-param). A well-formed URL is now
    // masked along the lines a driver reads it (the password is "=ret@q/x").
    const std::string text = "postgresql:///db?pass%77ord==ret@q/x&sslmode=require";
    CHECK(uvdb::mask_password(text) == "postgresql:///db?pass%77ord=***&sslmode=require");
}

namespace {

/// Whether every multi-byte UTF-8 sequence in `s` is complete.
bool whole_utf8(const std::string& s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const std::size_t len = c < 0x80           ? 1
                                : (c >> 5) == 0x6  ? 2
                                : (c >> 4) == 0xE  ? 3
                                : (c >> 3) == 0x1E ? 4
                                                   : 0;
        if (len == 0 || i + len > s.size()) return false;
        for (std::size_t k = 1; k < len; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        }
        i += len;
    }
    return true;
}

}  // namespace

TEST_CASE("fuzz value: a long cell is cut at a character boundary in conversion errors",
          "[unit][values][fuzz]") {
    // The message shows the first 40 bytes of the cell; 16 two-byte 'é', a
    // '<' and more 'é' put byte 40 in the middle of a character, and the
    // message was invalid UTF-8 (corpus/value/regress-utf8-cut).
    std::string cell;
    for (int i = 0; i < 16; ++i) cell += "\xc3\xa9";
    cell += "<";
    for (int i = 0; i < 6; ++i) cell += "\xc3\xa9";
    auto src = std::make_unique<uvdb::owned_result>(
        std::vector<uvdb::owned_result::column>{{"c", uvdb::column_kind::text, 25, "text"}});
    src->add_row({cell});
    uvdb::result_set rs(std::move(src));
    auto r = rs[0].try_get<int>(0);
    REQUIRE_FALSE(r.ok());
    const std::string& m = r.err().message();
    INFO(m);
    CHECK(whole_utf8(m));
    CHECK_THAT(m, Contains("…"));
    CHECK_THAT(m, Contains("is not a valid int32"));
}
