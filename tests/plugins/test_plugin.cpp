// Tiny driver plugins for the loader's tests (tests/unit/core_plugin_test.cpp).
// tests/CMakeLists.txt builds this file several times, each with one
// TEST_PLUGIN_* definition that breaks it in one way, so that every loader
// error is produced by a real shared library and a real dlopen.
//
// The drivers are an "echo" backend: a query returns its SQL text as one row
// of one column named "echo". That is enough to prove that the code of a
// loaded plugin runs, through the program's core (loop, results, errors).

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <uvdb/plugin.hpp>
#include <vector>

namespace {

class echo_connection final : public uvdb::connection {
  public:
    echo_connection(uvdb::event_loop& loop, uvdb::driver::connect_callback cb) : loop_(loop) {
        loop_.defer([this, cb = std::move(cb)]() mutable {
            ready_ = !closed_;
            cb(closed_ ? uvdb::result<void>(
                             uvdb::error(uvdb::errc::closed, "echo: closed while connecting"))
                       : uvdb::result<void>());
        });
    }

    void query(std::string_view sql, uvdb::params, const uvdb::query_options&,
               query_callback cb) override {
        loop_.defer([this, text = std::string(sql), cb = std::move(cb)]() mutable {
            if (closed_) return cb(uvdb::error(uvdb::errc::closed, "echo: connection closed"));
            auto rs = std::make_unique<uvdb::owned_result>(std::vector<uvdb::owned_result::column>{
                {"echo", uvdb::column_kind::text, 0, "text"}});
            rs->add_row({std::move(text)});
            cb(uvdb::result_set(std::move(rs)));
        });
    }
    void execute(std::string_view, const uvdb::query_options&, script_callback cb) override {
        loop_.defer([cb = std::move(cb)]() mutable {
            cb(uvdb::error(uvdb::errc::bad_input, "echo: scripts are not supported"));
        });
    }
    void ping(std::chrono::milliseconds, done_callback cb) override {
        loop_.defer([cb = std::move(cb)]() mutable { cb({}); });
    }
    void reset(done_callback cb) override {
        loop_.defer([cb = std::move(cb)]() mutable { cb({}); });
    }
    void cancel() override {}
    void close() override {
        closed_ = true;
        ready_ = false;
    }
    bool is_ready() const noexcept override { return ready_; }
    bool is_broken() const noexcept override { return closed_; }
    bool is_idle() const noexcept override { return true; }
    uvdb::tx_status transaction_status() const noexcept override { return uvdb::tx_status::idle; }
    std::string describe() const override { return "echo"; }

  private:
    uvdb::event_loop& loop_;
    bool ready_ = false;
    bool closed_ = false;
};

class echo_driver final : public uvdb::driver {
  public:
    echo_driver(std::string name, std::vector<std::string> schemes)
        : name_(std::move(name)), schemes_(std::move(schemes)) {}
    std::string_view name() const noexcept override { return name_; }
    std::vector<std::string> schemes() const override { return schemes_; }
    std::unique_ptr<uvdb::connection> connect(uvdb::event_loop& loop, const uvdb::connect_options&,
                                              connect_callback cb) override {
        return std::make_unique<echo_connection>(loop, std::move(cb));
    }

  private:
    std::string name_;
    std::vector<std::string> schemes_;
};

uvdb::plugin_drivers make_drivers() {
#if defined(TEST_PLUGIN_THROWS)
    throw std::runtime_error("the backend's client library could not be initialised");
#elif defined(TEST_PLUGIN_CLASH)
    // "gamma" is free, "alpha" belongs to libuvdb-alpha.so: neither may be registered.
    return {std::make_shared<echo_driver>("gamma", std::vector<std::string>{"gamma"}),
            std::make_shared<echo_driver>("alpha-impostor", std::vector<std::string>{"alpha"})};
#else
    return {std::make_shared<echo_driver>("alpha", std::vector<std::string>{"alpha", "alpha2"}),
            std::make_shared<echo_driver>("beta", std::vector<std::string>{"beta"})};
#endif
}

[[maybe_unused]] bool create(uvdb::plugin_drivers* out, std::string* error_text) noexcept {
    return uvdb::detail::plugin_create_with(make_drivers, out, error_text);
}

}  // namespace

#if defined(TEST_PLUGIN_NO_ENTRY)
// A shared library that is not a uvdb plugin: it exports something else.
extern "C" UVDB_PLUGIN_EXPORT int not_a_uvdb_plugin(void) { return 42; }
#elif !defined(TEST_PLUGIN_ABI) && !defined(TEST_PLUGIN_VERSION_MINOR) && \
    !defined(TEST_PLUGIN_STDLIB)
// What a plugin author writes.
UVDB_DEFINE_DRIVER_PLUGIN(TEST_PLUGIN_NAME, make_drivers);
#else
// Written out instead of UVDB_DEFINE_DRIVER_PLUGIN so that one field can be broken.
extern "C" UVDB_PLUGIN_EXPORT const uvdb_driver_plugin* uvdb_driver_plugin_entry(void) {
    static const uvdb_driver_plugin descriptor = [] {
        uvdb_driver_plugin d = uvdb::detail::make_plugin_descriptor(TEST_PLUGIN_NAME, &create);
#if defined(TEST_PLUGIN_ABI)
        d.abi_version = TEST_PLUGIN_ABI;
#endif
#if defined(TEST_PLUGIN_VERSION_MINOR)
        d.uvdb_version = "0.99.0";
        d.uvdb_version_minor = TEST_PLUGIN_VERSION_MINOR;
#endif
#if defined(TEST_PLUGIN_STDLIB)
        d.cxx_stdlib = TEST_PLUGIN_STDLIB;
#endif
        return d;
    }();
    return &descriptor;
}
#endif
