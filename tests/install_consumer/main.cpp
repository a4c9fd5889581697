// Built against an installed uvdb by run.cmake: it proves that the installed
// headers, targets and dependencies are enough to compile, link and run.
#include <iostream>
#include <string>
#include <uvdb/postgres/driver.hpp>
#include <uvdb/uvdb.hpp>

int main() {
    uvdb::event_loop loop;

    const std::string masked{uvdb::mask_password("postgresql://u:secret@h/db")};
    std::cout << "masked URL: " << masked << '\n';
    if (masked.find("secret") != std::string::npos) {
        std::cerr << "the password is still in the masked URL\n";
        return 1;
    }
    if (masked.find("@h/db") == std::string::npos) {
        std::cerr << "masking lost the host and database\n";
        return 1;
    }

    // The configuration loader lives in uvdb::pool and parses TOML with a
    // privately linked toml++: the package must bring that dependency along.
    // The URL is checked by the PostgreSQL driver (libpq, no connection).
    uvdb::driver_registry drivers;
    if (!uvdb::postgres::register_driver(drivers).ok()) {
        std::cerr << "cannot register the PostgreSQL driver\n";
        return 1;
    }
    uvdb::load_options lo;
    lo.file = std::string("consumer.toml");
    lo.text = "[database]\nurl = \"postgresql://app@db.internal:5432/app\"\n[pool]\nsize = 3\n";
    lo.env = uvdb::environment_from({});
    lo.registry = &drivers;
    auto cfg = uvdb::load_config(lo);
    if (!cfg) {
        std::cerr << "load_config failed: " << cfg.err().message() << '\n';
        return 1;
    }
    if (cfg->pool.size != 3) {
        std::cerr << "load_config read size " << cfg->pool.size << ", expected 3\n";
        return 1;
    }
    return 0;
}
