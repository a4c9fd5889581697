#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <memory>
#include <uvdb/event_loop.hpp>
#include <uvdb/io_watcher.hpp>

#include "core_log_capture.hpp"

namespace {

struct socket_pair {
    int a = -1;
    int b = -1;
    socket_pair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, &a) == 0); }
    socket_pair(const socket_pair&) = delete;
    socket_pair& operator=(const socket_pair&) = delete;
    ~socket_pair() {
        if (a >= 0) ::close(a);
        if (b >= 0) ::close(b);
    }
};

void send_byte(int fd) { REQUIRE(::write(fd, "x", 1) == 1); }

void drain(int fd) {
    std::array<char, 64> buf{};
    (void)::read(fd, buf.data(), buf.size());
}

}  // namespace

TEST_CASE("io_watcher reports a writable socket", "[unit][io_watcher]") {
    uvdb::event_loop loop;
    socket_pair sp;
    unsigned seen = 0;
    uvdb::io_watcher w(loop, sp.a, [&](unsigned ev) {
        seen |= ev;
        w.set_interest(uvdb::io_none);  // stops watching, so run() returns
    });
    REQUIRE(w.is_open());
    CHECK(w.fd() == sp.a);
    w.set_interest(uvdb::io_writable);
    CHECK(w.interest() == uvdb::io_writable);
    loop.run();
    CHECK((seen & uvdb::io_writable) != 0);
    CHECK((seen & uvdb::io_readable) == 0);
}

TEST_CASE("io_watcher reports readable data and follows interest changes", "[unit][io_watcher]") {
    uvdb::event_loop loop;
    socket_pair sp;
    int readable = 0;
    int writable = 0;
    uvdb::io_watcher w(loop, sp.a, [&](unsigned ev) {
        if ((ev & uvdb::io_readable) != 0) {
            ++readable;
            drain(sp.a);
            // Next, only writability is of interest.
            w.set_interest(uvdb::io_writable);
        } else if ((ev & uvdb::io_writable) != 0) {
            ++writable;
            w.set_interest(uvdb::io_none);
        }
    });
    w.set_interest(uvdb::io_readable);
    w.set_interest(uvdb::io_readable);  // unchanged: a no-op
    send_byte(sp.b);
    loop.run();
    CHECK(readable == 1);
    CHECK(writable == 1);
    CHECK(w.interest() == uvdb::io_none);
}

TEST_CASE("io_watcher without interest reports nothing", "[unit][io_watcher]") {
    uvdb::event_loop loop;
    socket_pair sp;
    bool called = false;
    uvdb::io_watcher w(loop, sp.a, [&](unsigned) { called = true; });
    send_byte(sp.b);
    loop.run_nowait();
    loop.run();  // no interest: no active handle, returns at once
    CHECK_FALSE(called);
}

TEST_CASE("io_watcher reports a hang-up as readable", "[unit][io_watcher]") {
    uvdb::event_loop loop;
    socket_pair sp;
    unsigned seen = 0;
    uvdb::io_watcher w(loop, sp.a, [&](unsigned ev) {
        seen |= ev;
        w.close();
    });
    w.set_interest(uvdb::io_readable);
    ::close(sp.b);
    sp.b = -1;
    loop.run();
    CHECK((seen & uvdb::io_readable) != 0);
    CHECK_FALSE(w.is_open());
}

TEST_CASE("io_watcher follows a new socket after reset_socket", "[unit][io_watcher]") {
    uvdb::event_loop loop;
    socket_pair first;
    socket_pair second;
    int events_on_second = 0;
    int wrong = 0;
    uvdb::io_watcher w(loop, first.a, [&](unsigned ev) {
        if ((ev & uvdb::io_readable) == 0) return;
        if (w.fd() == second.a) {
            ++events_on_second;
            w.close();
        } else {
            ++wrong;
            w.close();
        }
    });
    w.set_interest(uvdb::io_readable);
    w.reset_socket(second.a);
    CHECK(w.fd() == second.a);
    CHECK(w.interest() == uvdb::io_readable);  // kept across the reset
    send_byte(first.b);                        // the old socket is no longer watched
    send_byte(second.b);
    loop.run();
    CHECK(events_on_second == 1);
    CHECK(wrong == 0);
}

TEST_CASE("io_watcher follows a new socket that reuses the same fd number", "[unit][io_watcher]") {
    uvdb::event_loop loop;
    socket_pair old_pair;
    socket_pair new_pair;
    int fd = old_pair.a;
    int readable = 0;
    uvdb::io_watcher w(loop, fd, [&](unsigned ev) {
        if ((ev & uvdb::io_readable) != 0) {
            ++readable;
            w.close();
        }
    });
    w.set_interest(uvdb::io_readable);
    loop.run_nowait();  // the old socket is registered with epoll

    // What libpq does between connect attempts: the old socket goes away and
    // the new one gets the same number.
    REQUIRE(::dup2(new_pair.a, fd) == fd);
    ::close(new_pair.a);
    new_pair.a = -1;
    w.reset_socket(fd);
    REQUIRE(w.is_open());

    send_byte(new_pair.b);
    loop.run();
    CHECK(readable == 1);
}

TEST_CASE("io_watcher can reset its socket from inside its callback", "[unit][io_watcher]") {
    uvdb::event_loop loop;
    socket_pair first;
    socket_pair second;
    int calls = 0;
    uvdb::io_watcher w(loop, first.a, [&](unsigned) {
        ++calls;
        if (calls == 1) {
            w.reset_socket(second.a);
            send_byte(second.b);
        } else {
            w.close();
        }
    });
    w.set_interest(uvdb::io_readable);
    send_byte(first.b);
    loop.run();
    CHECK(calls == 2);
}

TEST_CASE("io_watcher may be destroyed inside its callback", "[unit][io_watcher]") {
    uvdb::event_loop loop;
    socket_pair sp;
    auto witness = std::make_shared<int>(1);
    std::weak_ptr<int> alive = witness;
    std::unique_ptr<uvdb::io_watcher> w;
    int calls = 0;
    w = std::make_unique<uvdb::io_watcher>(loop, sp.a, [&, keep = std::move(witness)](unsigned) {
        ++calls;
        w.reset();
        CHECK(*keep == 1);  // captures survive until the callback returns
    });
    w->set_interest(uvdb::io_readable | uvdb::io_writable);
    loop.run();
    CHECK(calls == 1);
    CHECK(alive.expired());
}

TEST_CASE("a moved io_watcher keeps watching", "[unit][io_watcher]") {
    uvdb::event_loop loop;
    socket_pair sp;
    int calls = 0;
    uvdb::io_watcher a(loop, sp.a, [&](unsigned) { ++calls; });
    a.set_interest(uvdb::io_writable);
    uvdb::io_watcher b(std::move(a));
    CHECK_FALSE(a.is_open());  // NOLINT(bugprone-use-after-move)
    uvdb::io_watcher c;
    c = std::move(b);
    REQUIRE(c.is_open());
    loop.run_once();
    CHECK(calls == 1);
    c.close();
    c.close();  // idempotent
    loop.run();
}

TEST_CASE("io_watcher on an invalid fd is not open", "[unit][io_watcher]") {
    uvdb::event_loop loop;
    uvdb_test::log_capture log;
    uvdb::io_watcher w(loop, -1, [](unsigned) {});
    CHECK_FALSE(w.is_open());
    CHECK(log.contains("cannot watch socket -1"));
    w.set_interest(uvdb::io_readable);  // harmless
    CHECK(w.fd() == -1);
}
