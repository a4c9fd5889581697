#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <uvdb/driver_registry.hpp>
#include <uvdb/url.hpp>
#include <vector>

namespace {

class named_driver final : public uvdb::driver {
  public:
    named_driver(std::string name, std::vector<std::string> schemes, bool takes_kv = false)
        : name_(std::move(name)), schemes_(std::move(schemes)), takes_kv_(takes_kv) {}
    std::string_view name() const noexcept override { return name_; }
    std::vector<std::string> schemes() const override { return schemes_; }
    // Claims key=value strings, the way the PostgreSQL driver does.
    bool accepts(std::string_view conn) const override {
        return takes_kv_ && conn.find('=') != std::string_view::npos;
    }
    std::unique_ptr<uvdb::connection> connect(uvdb::event_loop&, const uvdb::connect_options&,
                                              connect_callback) override {
        return nullptr;
    }

  private:
    std::string name_;
    std::vector<std::string> schemes_;
    bool takes_kv_;
};

}  // namespace

TEST_CASE("drivers register under each of their schemes", "[unit][registry]") {
    uvdb::driver_registry reg;
    auto pg = std::make_shared<named_driver>(
        "postgresql", std::vector<std::string>{"postgresql", "postgres"}, true);
    REQUIRE(reg.add(pg).ok());
    CHECK(reg.schemes() == std::vector<std::string>{"postgres", "postgresql"});
    CHECK(reg.find("postgres") == pg);
    CHECK(reg.find("POSTGRESQL") == pg);
    CHECK(reg.find("mysql") == nullptr);
    CHECK(reg.add(pg).ok());  // the same driver again is harmless
    CHECK(reg.schemes().size() == 2);

    auto found = reg.for_url("postgres://u:pw@h/db");
    REQUIRE(found.ok());
    CHECK(*found == pg);
    CHECK(*reg.for_url("PostgreSQL://h/db") == pg);
    // key=value strings have no scheme: the driver that accepts them takes them.
    CHECK(*reg.for_url("host=h dbname=db") == pg);
    CHECK(*reg.for_url("hostaddr=::1 port=5432") == pg);
}

TEST_CASE("url_scheme reads scheme: as well as scheme://, never key=value", "[unit][registry]") {
    CHECK(uvdb::url_scheme("postgresql://h/db") == "postgresql");
    CHECK(uvdb::url_scheme("sqlite::memory:") == "sqlite");
    CHECK(uvdb::url_scheme("sqlite:relative/path.db") == "sqlite");
    CHECK(uvdb::url_scheme("svn+ssh.x-y:z") == "svn+ssh.x-y");
    CHECK(uvdb::url_scheme("host=x port=5432").empty());
    CHECK(uvdb::url_scheme("hostaddr=::1").empty());
    CHECK(uvdb::url_scheme("host = x").empty());
    CHECK(uvdb::url_scheme(":memory:").empty());
    CHECK(uvdb::url_scheme("1pg:x").empty());
    CHECK(uvdb::url_scheme("nocolon").empty());
}

TEST_CASE("a scheme-less string goes to the one driver that accepts it", "[unit][registry]") {
    uvdb::driver_registry reg;
    auto lite = std::make_shared<named_driver>("sqlite", std::vector<std::string>{"sqlite"});
    REQUIRE(reg.add(lite).ok());
    CHECK(*reg.for_url("sqlite::memory:") == lite);
    CHECK(*reg.for_url("SQLite:rel/path.db") == lite);
    auto none = reg.for_url("host=h password=hunter2");
    REQUIRE_FALSE(none.ok());
    CHECK(none.err().code() == uvdb::errc::driver_not_found);
    CHECK_THAT(none.err().message(),
               Catch::Contains("no registered driver accepts it") && !Catch::Contains("hunter2"));

    auto a = std::make_shared<named_driver>("kv-a", std::vector<std::string>{"a"}, true);
    auto b = std::make_shared<named_driver>("kv-b", std::vector<std::string>{"b"}, true);
    REQUIRE(reg.add(a).ok());
    CHECK(*reg.for_url("host=h") == a);
    REQUIRE(reg.add(b).ok());
    auto both = reg.for_url("host=h password=hunter2");
    REQUIRE_FALSE(both.ok());
    CHECK_THAT(both.err().message(), Catch::Contains("kv-a, kv-b") && !Catch::Contains("hunter2"));
}

TEST_CASE("a taken scheme rejects the whole driver", "[unit][registry]") {
    uvdb::driver_registry reg;
    auto pg = std::make_shared<named_driver>("postgresql",
                                             std::vector<std::string>{"postgresql", "postgres"});
    REQUIRE(reg.add(pg).ok());
    auto other =
        std::make_shared<named_driver>("other-pg", std::vector<std::string>{"otherpg", "postgres"});
    auto r = reg.add(other);
    REQUIRE_FALSE(r.ok());
    CHECK(r.err().message() ==
          "URL scheme \"postgres\" is already registered by driver \"postgresql\"; driver "
          "\"other-pg\" was not "
          "registered");
    CHECK(reg.find("otherpg") == nullptr);  // nothing half-registered
    CHECK(reg.schemes() == std::vector<std::string>{"postgres", "postgresql"});

    auto nameless = std::make_shared<named_driver>("nameless", std::vector<std::string>{});
    CHECK_FALSE(reg.add(nameless).ok());
    CHECK_FALSE(reg.add(nullptr).ok());
}

TEST_CASE("for_url explains a missing driver without echoing the URL", "[unit][registry]") {
    uvdb::driver_registry reg;
    auto none = reg.for_url("mysql://root:hunter2@h/db");
    REQUIRE_FALSE(none.ok());
    CHECK(none.err().code() == uvdb::errc::driver_not_found);
    CHECK_THAT(none.err().message(),
               Catch::StartsWith("no driver registered for URL scheme \"mysql\"; registered "
                                 "schemes: none"));
    CHECK_THAT(none.err().message(), !Catch::Contains("hunter2"));

    auto kv = reg.for_url("host=h password=hunter2");
    REQUIRE_FALSE(kv.ok());
    CHECK_THAT(kv.err().message(),
               Catch::Contains("no registered driver accepts it") && !Catch::Contains("hunter2"));

    auto junk = reg.for_url("not a url");
    REQUIRE_FALSE(junk.ok());
    CHECK_THAT(junk.err().message(), Catch::Contains("no URL scheme"));

    REQUIRE(reg.add(std::make_shared<named_driver>("fake", std::vector<std::string>{"fake"})).ok());
    CHECK_THAT(reg.for_url("mysql://h").err().message(),
               Catch::Contains("registered schemes: fake"));
}

TEST_CASE("the global registry is one object", "[unit][registry]") {
    CHECK(&uvdb::driver_registry::global() == &uvdb::driver_registry::global());
}
