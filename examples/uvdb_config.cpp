// uvdb-config: prints the configuration uvdb would apply, with where each
// value came from, or the reasons it would be refused.
//
//   uvdb-config [--file PATH] [--preset NAME] [--no-env] [--presets] [--quiet]
//               [--check [--instances N]] [--advise FILE|- [--instances N] [--max-connections N]]
//
// Reads the same sources as load_config(): --file (else UVDB_CONFIG), the
// environment (DATABASE_URL, DB_POOL_SIZE, …) and the preset. Exit status:
// 0 valid, 1 refused (the reasons on stderr, one per line), 2 bad usage.
// It opens no connection, except with --check (uvdb_config_check.cpp).

#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <uvdb/config.hpp>
#include <uvdb/driver_registry.hpp>
#include <uvdb/log.hpp>
#include <uvdb/pool_options.hpp>

#include "uvdb_config_check.hpp"
#if defined(UVDB_CONFIG_WITH_POSTGRES)
#include <uvdb/postgres/driver.hpp>
#endif
#if defined(UVDB_CONFIG_WITH_SQLITE)
#include <uvdb/sqlite/driver.hpp>
#endif

namespace {

void usage(std::FILE* out) {
    std::fputs(
        "usage: uvdb-config [--file PATH] [--preset NAME] [--no-env] [--presets] [--quiet]\n"
        "\n"
        "Prints the effective uvdb configuration (password hidden) with the source of\n"
        "each value: default < preset < file < environment. Exits 1 with the reasons\n"
        "when the file or a value is refused.\n"
        "\n"
        "  --file PATH    TOML file to read (default: $UVDB_CONFIG, else none)\n"
        "  --preset NAME  choose the preset, as code would (beats $UVDB_PRESET)\n"
        "  --no-env       ignore the environment (DATABASE_URL, DB_POOL_*, UVDB_*)\n"
        "  --presets      list the presets and the values each sets, then exit\n"
        "  --quiet        print nothing when the configuration is valid\n"
        "  --check        open one connection with this configuration and report:\n"
        "                 reached or not and why (DNS, TCP, TLS, authentication),\n"
        "                 server version, TLS, max_connections, round trip\n"
        "                 (exit 1: not reached, 3: max_connections too small)\n"
        "  --instances N  application instances sharing the server (default 1)\n"
        "  --advise FILE  print the sizing advice for an advisor snapshot (\"-\": stdin)\n"
        "  --max-connections N  the server's limit, for --advise\n"
        "\n"
        "Environment: DATABASE_URL, DB_POOL_SIZE, DB_MAX_OVERFLOW, DB_POOL_RECYCLE,\n"
        "DB_POOL_PRE_PING, DB_POOL_TIMEOUT, DB_BREAKER_THRESHOLD, DB_SLOW_QUERY_MS,\n"
        "DB_POOL_NAME, UVDB_LOG_LEVEL, UVDB_CONFIG, UVDB_PRESET.\n",
        out);
}

void print_presets() {
    for (const auto& p : uvdb::presets()) {
        std::cout << p.name << ": " << p.summary << '\n';
        for (const auto& [key, value] : p.values)
            std::cout << "    " << key << " = " << value << '\n';
    }
}

}  // namespace

int main(int argc, char** argv) {
    uvdb::load_options opts;
    bool quiet = false;
    bool check = false;
    const char* advise_file = nullptr;
    std::size_t instances = 0;
    int max_connections = 0;
    auto number = [](const char* name, const char* text) {
        char* end = nullptr;
        const long v = std::strtol(text, &end, 10);
        if (end == text || *end != '\0' || v < 1 || v > 1'000'000) {
            std::fprintf(stderr, "uvdb-config: %s needs a whole number from 1, got \"%s\"\n", name,
                         text);
            std::exit(2);
        }
        return v;
    };
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&](const char* name) -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "uvdb-config: %s needs a value\n", name);
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--file") {
            opts.file = std::string(value("--file"));
        } else if (arg == "--preset") {
            opts.preset = std::string(value("--preset"));
        } else if (arg == "--no-env") {
            opts.env = uvdb::environment_from({});
        } else if (arg == "--presets") {
            print_presets();
            return 0;
        } else if (arg == "--check") {
            check = true;
        } else if (arg == "--advise") {
            advise_file = value("--advise");
        } else if (arg == "--instances") {
            instances = static_cast<std::size_t>(number("--instances", value("--instances")));
        } else if (arg == "--max-connections") {
            max_connections =
                static_cast<int>(number("--max-connections", value("--max-connections")));
        } else if (arg == "--quiet" || arg == "-q") {
            quiet = true;
        } else if (arg == "--help" || arg == "-h") {
            usage(stdout);
            return 0;
        } else {
            std::fprintf(stderr, "uvdb-config: unknown argument \"%s\"\n\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }

    if (advise_file != nullptr)
        return uvdb_config::run_advise(advise_file, instances, max_connections);

    // Warnings (e.g. a password file others can read) go to stderr as plain lines.
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_st>();
    auto log = std::make_shared<spdlog::logger>("uvdb-config", sink);
    log->set_pattern("uvdb-config: %l: %v");
    uvdb::set_logger(log);

    // The URL is checked by the driver for its scheme: the built-in drivers
    // and the plugins in UVDB_DRIVER_PATH, as an application would have them.
    uvdb::driver_registry drivers;
#if defined(UVDB_CONFIG_WITH_POSTGRES)
    (void)uvdb::postgres::register_driver(drivers);
#endif
#if defined(UVDB_CONFIG_WITH_SQLITE)
    (void)uvdb::sqlite::register_driver(drivers);
#endif
    for (const auto& e : drivers.load_plugins_from_env().failed) {
        std::fprintf(stderr, "uvdb-config: warning: %s\n", e.message().c_str());
    }
    opts.registry = &drivers;

    auto cfg = uvdb::load_config(opts);
    if (!cfg) {
        const std::string& msg = cfg.err().message();
        std::size_t start = 0;
        while (start <= msg.size()) {
            const std::size_t end = std::min(msg.find('\n', start), msg.size());
            std::fprintf(stderr, "uvdb-config: %.*s\n", static_cast<int>(end - start),
                         msg.data() + start);
            start = end + 1;
        }
        return 1;
    }
    if (check) return uvdb_config::run_check(*cfg, drivers, instances == 0 ? 1 : instances);
    if (!quiet) {
        std::cout << uvdb::describe(*cfg);
        // Exactly what the pool will log when it starts (password masked).
        std::cout << "\n# start-up log line:\n# " << uvdb::engine_configured_line(cfg->pool)
                  << '\n';
    }
    return 0;
}
