// result<T> and result<void> in std::expected's vocabulary.

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <utility>
#include <uvdb/result.hpp>

using namespace uvdb;

namespace {

error bad() { return error(errc::bad_input, "bad value"); }

}  // namespace

TEST_CASE("result<T>: observers", "[unit][result]") {
    result<int> v = 5;
    result<int> e = bad();
    CHECK(v.has_value());
    CHECK(v.ok());  // the older spelling
    CHECK(static_cast<bool>(v));
    CHECK(v.value() == 5);
    CHECK(*v == 5);
    CHECK_FALSE(e.has_value());
    CHECK_FALSE(e.ok());
    CHECK(e.error().value() == errc::bad_input);
    CHECK(&e.err() == &e.error());  // the older spelling

    result<std::string> s = std::string("abc");
    CHECK(s->size() == 3);
    std::string moved = *std::move(s);
    CHECK(moved == "abc");

    result<std::unique_ptr<int>> p = std::make_unique<int>(3);
    std::unique_ptr<int> taken = std::move(p).value();
    CHECK(*taken == 3);
}

TEST_CASE("value() throws bad_result_access carrying the error", "[unit][result]") {
    result<int> e = bad();
    try {
        (void)e.value();
        FAIL("value() did not throw");
    } catch (const bad_result_access& x) {
        CHECK(x.error().value() == errc::bad_input);
        CHECK(x.error().message() == "bad value");
        CHECK(std::string(x.what()) == bad().to_string());
    }
    const result<int>& ce = e;
    CHECK_THROWS_AS(ce.value(), bad_result_access);
    CHECK_THROWS_AS(std::move(e).value(), bad_result_access);
    CHECK_THROWS_AS(result<void>(bad()).value(), std::exception);  // derives std::exception
    CHECK_NOTHROW(result<void>().value());
}

TEST_CASE("result<T>: value_or", "[unit][result]") {
    result<int> v = 5;
    result<int> e = bad();
    CHECK(v.value_or(9) == 5);
    CHECK(e.value_or(9) == 9);
    result<std::string> s = bad();
    CHECK(std::move(s).value_or("fallback") == "fallback");
}

TEST_CASE("result<T>: and_then", "[unit][result]") {
    auto half = [](int i) -> result<int> {
        if (i % 2 != 0) return error(errc::conversion_error, "odd");
        return i / 2;
    };
    CHECK(result<int>(8).and_then(half).value() == 4);
    CHECK(result<int>(7).and_then(half).error().value() == errc::conversion_error);
    bool called = false;
    auto r = result<int>(bad()).and_then([&](int) -> result<std::string> {
        called = true;
        return std::string("x");
    });
    CHECK_FALSE(called);
    CHECK(r.error().value() == errc::bad_input);  // the error passes through as result<std::string>

    auto to_void = result<int>(1).and_then([](int) -> result<void> { return {}; });
    CHECK(to_void.has_value());
    // An rvalue hands the value on as an rvalue.
    result<std::unique_ptr<int>> p = std::make_unique<int>(2);
    auto q = std::move(p).and_then([](std::unique_ptr<int>&& u) -> result<int> { return *u; });
    CHECK(q.value() == 2);
}

TEST_CASE("result<T>: transform", "[unit][result]") {
    auto text = result<int>(12).transform([](int i) { return std::to_string(i); });
    STATIC_REQUIRE(std::is_same_v<decltype(text), result<std::string>>);
    CHECK(text.value() == "12");
    CHECK(result<int>(bad()).transform([](int i) { return i + 1; }).error().value() ==
          errc::bad_input);
    int seen = 0;
    auto v = result<int>(3).transform([&](int i) { seen = i; });
    STATIC_REQUIRE(std::is_same_v<decltype(v), result<void>>);
    CHECK(v.has_value());
    CHECK(seen == 3);
}

TEST_CASE("result<T>: or_else", "[unit][result]") {
    bool called = false;
    auto kept = result<int>(1).or_else([&](const error&) -> result<int> {
        called = true;
        return 0;
    });
    CHECK_FALSE(called);
    CHECK(kept.value() == 1);
    auto recovered = result<int>(bad()).or_else(
        [](const error& e) -> result<int> { return e.value() == errc::bad_input ? 0 : -1; });
    CHECK(recovered.value() == 0);
    auto replaced = result<int>(bad()).or_else(
        [](error&& e) -> result<int> { return error(errc::internal, "wrapped: " + e.message()); });
    CHECK(replaced.error().message() == "wrapped: bad value");
}

TEST_CASE("result<void>: observers, ok() and the combinators", "[unit][result]") {
    result<void> good;
    result<void> from_ok = ok();
    result<void> failed = bad();
    CHECK(good.has_value());
    CHECK(from_ok.ok());
    CHECK_FALSE(failed.has_value());
    CHECK(failed.error().value() == errc::bad_input);
    CHECK(&failed.err() == &failed.error());

    CHECK(good.and_then([]() -> result<int> { return 4; }).value() == 4);
    CHECK(failed.and_then([]() -> result<int> { return 4; }).error().value() == errc::bad_input);

    auto t = good.transform([] { return std::string("made"); });
    STATIC_REQUIRE(std::is_same_v<decltype(t), result<std::string>>);
    CHECK(t.value() == "made");
    bool called = false;
    auto tv = failed.transform([&] { called = true; });
    STATIC_REQUIRE(std::is_same_v<decltype(tv), result<void>>);
    CHECK_FALSE(called);
    CHECK(tv.error().value() == errc::bad_input);

    CHECK(good.or_else([](const error&) -> result<void> { return bad(); }).has_value());
    CHECK(failed.or_else([](const error&) -> result<void> { return ok(); }).has_value());
    CHECK(std::move(failed)
              .or_else([](error&& e) -> result<void> { return std::move(e); })
              .error()
              .value() == errc::bad_input);
}

TEST_CASE("result<void> from any result<U> keeps the error and drops the value", "[unit][result]") {
    result<void> a = result<int>(5);
    CHECK(a.has_value());
    const result<std::string> failed = bad();
    result<void> b = failed;  // copied from an lvalue
    CHECK(b.error().value() == errc::bad_input);
    result<void> c = result<std::string>(error(errc::timeout, "t"));
    CHECK(c.error().value() == errc::timeout);
}
