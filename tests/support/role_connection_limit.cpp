#include "support/role_connection_limit.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <utility>

namespace uvdb::test {

role_connection_limit::role_connection_limit(std::string quoted_role, statement_runner run)
    : role_(std::move(quoted_role)), run_(std::move(run)) {}

role_connection_limit::~role_connection_limit() {
    if (!set_) return;
    auto r = alter(-1);
    if (!r)
        std::fprintf(stderr, "could not restore the connection limit: %s\n",
                     r.err().to_string().c_str());
}

result<void> role_connection_limit::alter(int n) {
    return run_("ALTER ROLE " + role_ + " CONNECTION LIMIT " + std::to_string(n));
}

void role_connection_limit::set(int n) {
    set_ = true;  // even if the statement fails: lifting it again is harmless
    auto r = alter(n);
    if (!r) FAIL("ALTER ROLE … CONNECTION LIMIT " << n << ": " << r.err().to_string());
}

void role_connection_limit::lift() {
    auto r = alter(-1);
    if (!r) FAIL("ALTER ROLE … CONNECTION LIMIT -1: " << r.err().to_string());
    set_ = false;
}

}  // namespace uvdb::test
