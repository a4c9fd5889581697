#pragma once
// Helpers of the configuration tests: load TOML text with a fixed
// environment, and temporary files for password files and UVDB_CONFIG.

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <uvdb/config.hpp>

namespace config_test {

using env_map = std::map<std::string, std::string, std::less<>>;

inline const std::string url_only = "[database]\nurl = \"postgresql://app@db.internal:5432/app\"\n";

[[gnu::noinline]] inline uvdb::load_options make_options(std::string file) {
    uvdb::load_options o;
    o.file = std::move(file);
    return o;
}

inline uvdb::result<uvdb::config> load(const std::string& toml, env_map env = {},
                                       std::function<void(uvdb::pool_options&)> code = {}) {
    // Not in place: GCC 12 warns (-Wmaybe-uninitialized, wrongly) when the
    // fresh optional<string> is assigned in this frame; built out of line
    // (make_options), it does not.
    uvdb::load_options o = make_options(std::string("uvdb.toml"));
    o.text = toml;
    o.env = uvdb::environment_from(std::move(env));
    o.overrides = std::move(code);
    return uvdb::load_config(o);
}

/// The message of a load that must fail with errc::bad_config.
inline std::string error_of(const uvdb::result<uvdb::config>& r) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().value() == uvdb::errc::bad_config);
    return r.err().message();
}

/// The message of loading `url_only` plus one more section text.
inline std::string error_of_text(const std::string& toml, env_map env = {}) {
    return error_of(load(toml, std::move(env)));
}

/// A temporary directory removed with everything in it.
class temp_dir {
  public:
    temp_dir() {
        char tmpl[] = "/tmp/uvdb-config-test.XXXXXX";
        const char* p = ::mkdtemp(tmpl);
        REQUIRE(p != nullptr);
        path_ = p;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::string& path() const { return path_; }

    /// Writes `name` with `content` and permission bits `mode`; returns its path.
    std::string write(const std::string& name, const std::string& content,
                      mode_t mode = 0600) const {
        const std::string p = path_ + "/" + name;
        {
            std::ofstream f(p, std::ios::binary | std::ios::trunc);
            f << content;
        }
        REQUIRE(::chmod(p.c_str(), mode) == 0);
        return p;
    }

  private:
    std::string path_;
};

}  // namespace config_test
