// Fuzzes the configuration loader: TOML text, then optionally environment
// variables after a line "#@env" (a TOML comment, so the TOML part stays
// TOML), one NAME=value per line. Whatever the input, load_config must
// return a configuration that validates or a bad_config error, and
// describe() must not fail.

#include <spdlog/logger.h>
#include <spdlog/sinks/null_sink.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <uvdb/config.hpp>
#include <uvdb/driver.hpp>
#include <uvdb/driver_registry.hpp>
#include <uvdb/log.hpp>
#include <vector>

namespace {

// The loader checks a URL through the driver for its scheme. This one takes
// PostgreSQL's schemes and key=value strings and accepts every string, so
// the fuzzer reaches the loader's paths after the URL (the real drivers'
// check() is not linked here).
class any_url_driver final : public uvdb::driver {
  public:
    std::string_view name() const noexcept override { return "fuzz"; }
    std::vector<std::string> schemes() const override { return {"postgresql", "postgres"}; }
    bool accepts(std::string_view conn) const override {
        return conn.find('=') != std::string_view::npos;
    }
    std::unique_ptr<uvdb::connection> connect(uvdb::event_loop&, const uvdb::connect_options&,
                                              connect_callback) override {
        return nullptr;
    }
};

uvdb::driver_registry& fuzz_registry() {
    static uvdb::driver_registry reg = [] {
        uvdb::driver_registry r;
        if (!r.add(std::make_shared<any_url_driver>()).ok()) std::abort();
        return r;
    }();
    return reg;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // Warnings (password files) would flood the fuzzer's output.
    uvdb::set_logger(
        std::make_shared<spdlog::logger>("fuzz", std::make_shared<spdlog::sinks::null_sink_st>()));
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string_view toml = input;
    std::map<std::string, std::string, std::less<>> env;
    if (const auto marker = input.find("#@env\n"); marker != std::string_view::npos) {
        toml = input.substr(0, marker);
        std::string_view rest = input.substr(marker + 6);
        while (!rest.empty()) {
            const auto nl = rest.find('\n');
            const std::string_view line = rest.substr(0, nl);
            rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
            const auto eq = line.find('=');
            if (eq == std::string_view::npos || eq == 0) continue;
            // UVDB_CONFIG would make the loader read an arbitrary path instead of the input.
            if (line.substr(0, eq) == "UVDB_CONFIG") continue;
            env[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
        }
    }

    uvdb::load_options o;
    o.file = "fuzz.toml";
    o.text = std::string(toml);
    o.env = uvdb::environment_from(std::move(env));
    o.registry = &fuzz_registry();
    auto r = uvdb::load_config(o);
    if (!r) {
        if (r.err().value() != uvdb::errc::bad_config || r.err().message().empty()) std::abort();
        return 0;
    }
    const uvdb::config& c = *r;
    // What the loader promises about a configuration it hands out.
    if (!validate(c.pool).ok()) std::abort();
    if (c.pool.size < 1 || c.pool.timeout.count() <= 0 || c.pool.recycle.count() <= 0) std::abort();
    if (c.connection().url.empty()) std::abort();
    if (describe(c).empty()) std::abort();
    return 0;
}
