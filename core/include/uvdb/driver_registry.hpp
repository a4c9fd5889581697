#pragma once
/// \file
/// Finds a driver by URL scheme. Drivers register explicitly (static
/// libraries drop self-registering objects), e.g. `uvdb::postgres::register_driver(reg)`.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <uvdb/driver.hpp>
#include <uvdb/result.hpp>

namespace uvdb {

class driver_registry {
public:
    /// A process-wide registry for applications that want one. Not thread-safe:
    /// register drivers at start-up, before loops run.
    static driver_registry& global();

    /// Registers `d` under each of its schemes. Fails (nothing registered) when
    /// a scheme is already taken by another driver.
    result<void> add(std::shared_ptr<driver> d);

    /// The driver for a URL's scheme (compared case-insensitively), or
    /// errc::driver_not_found naming the scheme and the registered ones. A libpq
    /// `key=value` string has no scheme and maps to the "postgresql" driver.
    /// The URL itself is never put into the error.
    result<std::shared_ptr<driver>> for_url(std::string_view url) const;
    /// The driver for a scheme, or nullptr.
    std::shared_ptr<driver> find(std::string_view scheme) const;

    std::vector<std::string> schemes() const;

private:
    std::vector<std::pair<std::string, std::shared_ptr<driver>>> entries_;
};

}  // namespace uvdb
