#include <array>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <uvdb/function.hpp>

namespace {

struct counted {
    static inline int alive = 0;
    static inline int destroyed = 0;
    counted() { ++alive; }
    counted(const counted&) { ++alive; }
    counted(counted&&) noexcept { ++alive; }
    ~counted() {
        --alive;
        ++destroyed;
    }
};

}  // namespace

TEST_CASE("unique_function calls small and large targets", "[unit][function]") {
    int x = 0;
    uvdb::unique_function<int(int)> small = [&x](int a) { return x += a; };
    CHECK(small(2) == 2);
    CHECK(small(3) == 5);

    std::array<char, 200> big{};
    big[0] = 7;
    uvdb::unique_function<int(int)> large = [big](int a) { return big[0] + a; };
    CHECK(large(1) == 8);

    uvdb::unique_function<void()> empty;
    CHECK_FALSE(empty);
    uvdb::unique_function<void()> from_null = nullptr;
    CHECK_FALSE(from_null);
    void (*null_fn)() = nullptr;
    uvdb::unique_function<void()> from_null_ptr = null_fn;
    CHECK_FALSE(from_null_ptr);
}

TEST_CASE("unique_function holds move-only captures and moves them along", "[unit][function]") {
    auto p = std::make_unique<std::string>("hello");
    uvdb::unique_function<std::string()> f = [p = std::move(p)] { return *p; };
    uvdb::unique_function<std::string()> g = std::move(f);
    CHECK_FALSE(f);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    REQUIRE(g);
    CHECK(g() == "hello");

    uvdb::unique_function<std::string()> h;
    h = std::move(g);
    CHECK(h() == "hello");
}

TEST_CASE("unique_function destroys its target exactly once", "[unit][function]") {
    counted::alive = 0;
    counted::destroyed = 0;
    {
        counted c;
        uvdb::unique_function<void()> inline_fn = [c] {};
        std::array<char, 128> pad{};
        uvdb::unique_function<void()> heap_fn = [c, pad] { (void)pad; };
        CHECK(counted::alive == 3);

        uvdb::unique_function<void()> moved_inline = std::move(inline_fn);
        uvdb::unique_function<void()> moved_heap = std::move(heap_fn);
        CHECK(counted::alive == 3);  // relocation destroys the source copy

        moved_heap = nullptr;
        CHECK(counted::alive == 2);
        moved_inline = std::move(moved_heap);  // assigning empty destroys the old target
        CHECK(counted::alive == 1);
    }
    CHECK(counted::alive == 0);
}

TEST_CASE("unique_function self move-assignment keeps the target", "[unit][function]") {
    int calls = 0;
    uvdb::unique_function<void()> f = [&calls] { ++calls; };
    auto& same = f;
    f = std::move(same);
    REQUIRE(f);
    f();
    CHECK(calls == 1);
}
