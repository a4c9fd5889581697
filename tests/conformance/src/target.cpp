// The registered target, and the anchors that make the linker keep every
// test case: the suite is a static library, and an object file nobody
// references is dropped — with its Catch2 registrations. The author's
// program references `registration`, which references one function in each
// test file.

#include <catch2/catch.hpp>
#include <uvdb/conformance/target.hpp>

namespace uvdb::conformance {
namespace detail {
void anchor_connect_tests();
void anchor_query_tests();
void anchor_control_tests();
void anchor_pool_tests();
}  // namespace detail

namespace {
std::function<target()>& factory() {
    static std::function<target()> f;
    return f;
}
}  // namespace

registration::registration(std::function<target()> make) {
    factory() = std::move(make);
    detail::anchor_connect_tests();
    detail::anchor_query_tests();
    detail::anchor_control_tests();
    detail::anchor_pool_tests();
}

const target& current_target() {
    static std::optional<target> t;
    if (!t) {
        if (!factory())
            FAIL(
                "no uvdb::conformance::registration in this program: define one that "
                "describes the driver under test");
        t.emplace(factory()());
        if (!t->driver || !t->options) {
            FAIL("the conformance target \"" << t->name
                                             << "\" needs at least `driver` and `options`");
        }
    }
    return *t;
}

}  // namespace uvdb::conformance
