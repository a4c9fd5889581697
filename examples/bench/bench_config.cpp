#include "bench_config.hpp"

namespace uvdb::bench {

// The configuration loader is not in this build yet.
result<pool_options> load_config_file(const std::string& /*path*/) {
    return error(errc::bad_config, "--config is not available: this build of uvdb has no configuration loader");
}

}  // namespace uvdb::bench
