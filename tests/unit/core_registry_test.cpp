#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <uvdb/driver_registry.hpp>
#include <vector>

namespace {

class named_driver final : public uvdb::driver {
  public:
    named_driver(std::string name, std::vector<std::string> schemes)
        : name_(std::move(name)), schemes_(std::move(schemes)) {}
    std::string_view name() const noexcept override { return name_; }
    std::vector<std::string> schemes() const override { return schemes_; }
    std::unique_ptr<uvdb::connection> connect(uvdb::event_loop&, const uvdb::connect_options&,
                                              connect_callback) override {
        return nullptr;
    }

  private:
    std::string name_;
    std::vector<std::string> schemes_;
};

}  // namespace

TEST_CASE("drivers register under each of their schemes", "[unit][registry]") {
    uvdb::driver_registry reg;
    auto pg = std::make_shared<named_driver>("postgresql",
                                             std::vector<std::string>{"postgresql", "postgres"});
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
    // key=value strings have no scheme and mean PostgreSQL.
    CHECK(*reg.for_url("host=h dbname=db") == pg);
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
               Catch::Contains("PostgreSQL driver") && !Catch::Contains("hunter2"));

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
