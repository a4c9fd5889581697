#include <catch2/catch.hpp>
#include <utility>
#include <uvdb/intrusive_ref.hpp>

namespace {

// Counts its references the way the drivers' connection_impl does, and records
// when it is freed.
class counted {
  public:
    explicit counted(bool& freed) : freed_(freed) {}
    void add_ref() noexcept { ++refs_; }
    void release() noexcept {
        if (--refs_ == 0) delete this;
    }
    int refs() const noexcept { return refs_; }

  private:
    ~counted() { freed_ = true; }
    bool& freed_;
    int refs_ = 0;
};

using ref = uvdb::intrusive_ref<counted>;

}  // namespace

TEST_CASE("intrusive_ref frees the object with its last reference", "[unit][intrusive_ref]") {
    bool freed = false;
    auto* obj = new counted(freed);
    {
        ref a(obj);
        CHECK(obj->refs() == 1);
        {
            ref b = a;
            CHECK(obj->refs() == 2);
            CHECK(b.get() == obj);
            CHECK(&*b == obj);
        }
        CHECK(obj->refs() == 1);
        CHECK_FALSE(freed);
    }
    CHECK(freed);
}

TEST_CASE("intrusive_ref: moving transfers the reference, assigning drops the old one",
          "[unit][intrusive_ref]") {
    bool freed_first = false;
    bool freed_second = false;
    auto* first = new counted(freed_first);
    auto* second = new counted(freed_second);
    ref a(first);
    ref moved = std::move(a);
    CHECK_FALSE(a);  // NOLINT(bugprone-use-after-move): a moved-from handle is empty by contract
    CHECK(first->refs() == 1);

    ref b(second);
    moved = b;
    CHECK(freed_first);
    CHECK(second->refs() == 2);
    moved = ref();
    CHECK(second->refs() == 1);
    b = std::move(b);  // self-move keeps the reference
    CHECK(second->refs() == 1);
    CHECK_FALSE(freed_second);
    b = ref();
    CHECK(freed_second);
}

TEST_CASE("intrusive_ref: an empty handle holds nothing", "[unit][intrusive_ref]") {
    ref empty;
    CHECK_FALSE(empty);
    CHECK(empty.get() == nullptr);
    ref null(nullptr);
    CHECK_FALSE(null);
}
