#include <catch2/catch.hpp>

#include "http/client.h"

using afp::http::parse_url;

TEST_CASE("client URLs: scheme, host, port and target", "[http][client]") {
  std::string err;
  auto u = parse_url("http://127.0.0.1:9793/metrics?x=1", &err);
  REQUIRE(u);
  CHECK_FALSE(u->tls);
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 9793);
  CHECK(u->target == "/metrics?x=1");

  auto tls = parse_url("https://exporter.example", &err);
  REQUIRE(tls);
  CHECK(tls->tls);
  CHECK(tls->port == 443);
  CHECK(tls->target == "/");
  CHECK(parse_url("http://localhost/", &err)->port == 80);
}

TEST_CASE("client URLs: bad input is refused with a reason", "[http][client]") {
  std::string err;
  CHECK_FALSE(parse_url("ftp://host/", &err));
  CHECK_THAT(err, Catch::Contains("http:// or https://"));
  CHECK_FALSE(parse_url("127.0.0.1:9793/metrics", &err));
  CHECK_FALSE(parse_url("http://host:0/", &err));
  CHECK_THAT(err, Catch::Contains("bad port"));
  CHECK_FALSE(parse_url("http://host:99999/", &err));
  CHECK_FALSE(parse_url("http://host:x/", &err));
  CHECK_FALSE(parse_url("http:///metrics", &err));
  CHECK_THAT(err, Catch::Contains("host"));
  CHECK_FALSE(parse_url("http://user:pw@host/", &err));
}

TEST_CASE("client GET: a refused connection is an error, not a crash", "[http][client]") {
  std::string err;
  // Port 1 on loopback: nothing listens there on a test machine.
  auto r = afp::http::get("http://127.0.0.1:1/metrics", std::chrono::seconds(2), &err);
  CHECK_FALSE(r);
  CHECK_FALSE(err.empty());
}
