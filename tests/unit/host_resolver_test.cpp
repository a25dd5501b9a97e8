// Host names are looked up under the connect deadline, whatever the resolver does.
#include "pg/host_resolver.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <future>

#include "pg/connection.h"

using afp::pg::HostResolver;
using afp::pg::PgError;
using namespace std::chrono_literals;

namespace {

auto soon(std::chrono::milliseconds ms = 200ms) {
  return std::chrono::steady_clock::now() + ms;
}

// A resolver that answers only when the test lets it, counting the lookups it was asked.
struct GatedResolver {
  std::shared_ptr<std::promise<void>> gate = std::make_shared<std::promise<void>>();
  std::shared_future<void> opened = gate->get_future().share();
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);

  afp::pg::LookupFn fn() {
    return [opened = opened, calls = calls](const std::string& host, std::string*) {
      ++*calls;
      opened.wait();
      return std::vector<std::string>{host == "db.internal" ? "10.0.0.7" : "10.0.0.8", "fd00::7"};
    };
  }
};

}  // namespace

TEST_CASE("host resolver: a resolver that never answers costs the deadline, once",
          "[pg][dns][concurrency]") {
  GatedResolver dns;
  HostResolver resolver(dns.fn());
  auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(resolver.resolve("host=db.internal dbname=x", soon()),
                    Catch::Contains("resolving host \"db.internal\" timed out"));
  CHECK(std::chrono::steady_clock::now() - start < 5s);  // the resolver would block for ever
  // The next attempt waits for the same lookup instead of starting another thread.
  CHECK_THROWS(resolver.resolve("host=db.internal dbname=x", soon()));
  CHECK(dns.calls->load() == 1);
  dns.gate->set_value();
  auto resolved = resolver.resolve("host=db.internal dbname=x", soon(5000ms));
  REQUIRE(resolved);
  CHECK(resolved->host == "db.internal,db.internal");
  CHECK(resolved->hostaddr == "10.0.0.7,fd00::7");
  CHECK(resolved->port.empty());
  CHECK(dns.calls->load() == 1);
}

TEST_CASE("host resolver: every host of a list, with its port", "[pg][dns][concurrency]") {
  GatedResolver dns;
  dns.gate->set_value();
  HostResolver resolver(dns.fn());
  auto resolved =
      resolver.resolve("postgresql://u@db.internal:5433,127.0.0.1:5434,replica:5435/x", soon());
  REQUIRE(resolved);
  CHECK(resolved->host == "db.internal,db.internal,127.0.0.1,replica,replica");
  CHECK(resolved->hostaddr == "10.0.0.7,fd00::7,127.0.0.1,10.0.0.8,fd00::7");
  CHECK(resolved->port == "5433,5433,5434,5435,5435");
  // Unix sockets keep an empty hostaddr entry: libpq then uses the host.
  resolved = resolver.resolve("host=/run/postgresql,db.internal dbname=x", soon());
  REQUIRE(resolved);
  CHECK(resolved->host == "/run/postgresql,db.internal,db.internal");
  CHECK(resolved->hostaddr == ",10.0.0.7,fd00::7");
}

TEST_CASE("host resolver: nothing to look up is left to libpq", "[pg][dns][concurrency]") {
  GatedResolver dns;  // never opened: any lookup would time out
  HostResolver resolver(dns.fn());
  for (const char* dsn : {"host=127.0.0.1 dbname=x", "host=::1 dbname=x", "host=/tmp dbname=x",
                          "host=db.internal hostaddr=10.1.1.1 dbname=x", "dbname=x",
                          "host=a,b port=1,2,3", "not a dsn ==="}) {
    INFO(dsn);
    CHECK_FALSE(resolver.resolve(dsn, soon(50ms)));
  }
  CHECK(dns.calls->load() == 0);
}

TEST_CASE("host resolver: a name that does not exist says so", "[pg][dns][concurrency]") {
  HostResolver resolver([](const std::string&, std::string* error) {
    *error = "Name or service not known";
    return std::vector<std::string>{};
  });
  CHECK_THROWS_WITH(resolver.resolve("host=nope.invalid", soon(2000ms)),
                    "cannot resolve host \"nope.invalid\": Name or service not known");
}
