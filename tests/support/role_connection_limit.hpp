#pragma once
/// \file
/// A database role's connection limit for the length of a test, lifted again
/// however the test ends (a failed REQUIRE included), so that one test cannot
/// leave the shared test server refusing the next suite's connections.

#include <functional>
#include <string>
#include <uvdb/result.hpp>

namespace uvdb::test {

class role_connection_limit {
  public:
    /// Runs one statement as a superuser and returns its outcome; never throws.
    using statement_runner = std::function<result<void>(const std::string& sql)>;

    /// For `quoted_role` (an SQL identifier, already quoted); sets nothing yet.
    role_connection_limit(std::string quoted_role, statement_runner run);
    /// Lifts the limit if it is still set; reports a failure on stderr (a
    /// destructor must not fail the test).
    ~role_connection_limit();
    role_connection_limit(const role_connection_limit&) = delete;
    role_connection_limit& operator=(const role_connection_limit&) = delete;

    /// `ALTER ROLE … CONNECTION LIMIT n`; fails the test when it cannot.
    void set(int n);
    /// `ALTER ROLE … CONNECTION LIMIT -1`; fails the test when it cannot.
    void lift();

  private:
    result<void> alter(int n);

    std::string role_;
    statement_runner run_;
    bool set_ = false;
};

}  // namespace uvdb::test
