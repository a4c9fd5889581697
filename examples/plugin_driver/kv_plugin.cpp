// The plugin's entry point and its driver: the one file that makes this
// folder a uvdb driver plugin (libuvdb-kv.so).
#include <memory>
#include <string>
#include <uvdb/driver.hpp>
#include <uvdb/plugin.hpp>
#include <vector>

#include "kv_connection.hpp"

namespace kv {

/// Opens kv:// connections. Stateless: the stores live in kv_store.cpp.
class kv_driver final : public uvdb::driver {
  public:
    std::string_view name() const noexcept override { return "kv"; }
    std::vector<std::string> schemes() const override { return {"kv"}; }
    std::unique_ptr<uvdb::connection> connect(uvdb::event_loop& loop,
                                              const uvdb::connect_options& opts,
                                              connect_callback on_connected) override {
        return open_connection(loop, opts, std::move(on_connected));
    }
};

}  // namespace kv

UVDB_DEFINE_DRIVER_PLUGIN("kv", [] { return std::make_shared<kv::kv_driver>(); });
