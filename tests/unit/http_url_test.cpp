#include <catch2/catch.hpp>
#include <mutex>
#include <string>

#include "http/client.h"
#include "http/server.h"
#include "log/logger.h"

using afp::http::ClientError;
using afp::http::has_userinfo;
using afp::http::parse_url;

TEST_CASE("client URLs: scheme, host, port and target", "[http][client]") {
  std::string err;
  auto u = parse_url("http://127.0.0.1:9793/metrics?x=1", &err);
  REQUIRE(u);
  CHECK_FALSE(u->tls);
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 9793);
  CHECK(u->target == "/metrics?x=1");
  CHECK(u->authority() == "127.0.0.1:9793");

  auto tls = parse_url("https://exporter.example", &err);
  REQUIRE(tls);
  CHECK(tls->tls);
  CHECK(tls->port == 443);
  CHECK(tls->target == "/");
  CHECK(parse_url("http://localhost/", &err)->port == 80);
  CHECK(parse_url("http://host?a=b", &err)->target == "/?a=b");
  CHECK(parse_url("http://host/metrics#top", &err)->target == "/metrics");
}

TEST_CASE("client URLs: an IPv6 address goes in brackets", "[http][client]") {
  std::string err;
  auto u = parse_url("https://[::1]:9793/metrics", &err);
  REQUIRE(u);
  CHECK(u->host == "::1");
  CHECK(u->port == 9793);
  CHECK(u->authority() == "[::1]:9793");
  CHECK(parse_url("http://[::1]/", &err)->port == 80);
  CHECK_FALSE(parse_url("http://::1/", &err));
  CHECK_THAT(err, Catch::Contains("needs brackets"));
  CHECK_FALSE(parse_url("http://[::1/", &err));
  CHECK_FALSE(parse_url("http://[::1]x/", &err));
  CHECK_FALSE(parse_url("http://[]:80/", &err));
  CHECK_FALSE(parse_url("http://[::1]:/", &err));
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
  CHECK_FALSE(parse_url("http://host:/", &err));
  CHECK_FALSE(parse_url("http:///metrics", &err));
  CHECK_THAT(err, Catch::Contains("host"));
}

TEST_CASE("client URLs: nothing can be smuggled into the request", "[http][client]") {
  std::string err;
  for (const char* url : {"http://host/metrics HTTP/1.0\r\nX: y", "http://host/a b",
                          "http://ho\tst/", "http://host/\x7f"}) {
    CHECK_FALSE(parse_url(url, &err));
    CHECK_THAT(err, Catch::Contains("spaces and control characters"));
  }
}

TEST_CASE("client URLs: credentials are refused and never repeated", "[http][client]") {
  std::string err;
  for (const char* url : {"http://user:pw-123@host/", "https://user:pw-123@host:99999/x",
                          "user:pw-123@host/metrics", "http://user:pw-123@host:x?y"}) {
    INFO(url);
    CHECK(has_userinfo(url));
    CHECK_FALSE(parse_url(url, &err));
    CHECK(err.find("pw-123") == std::string::npos);
    CHECK(err.find("user:") == std::string::npos);
  }
  CHECK(err == "URL \"http://…@host:x?y\": a user name or password in a URL is not accepted");
  CHECK_FALSE(has_userinfo("http://host/who@where?at=@"));
  CHECK(parse_url("http://host/who@where?at=@", &err));
}

TEST_CASE("client GET: a refused connection is an error, not a crash", "[http][client]") {
  ClientError err;
  // Port 1 on loopback: nothing listens there on a test machine.
  auto r = afp::http::get("http://127.0.0.1:1/metrics", std::chrono::seconds(2), &err);
  CHECK_FALSE(r);
  CHECK(err.kind == ClientError::Kind::Refused);
  CHECK(err.message == "cannot connect: Connection refused");
}

namespace {

// A server that remembers the Authorization header of the last request.
class AuthorizationEcho {
 public:
  AuthorizationEcho() : server_(afp::http::ServerOptions{{"127.0.0.1:0"}, 1}, log_) {
    server_.route("/", {"GET"}, [this](const afp::http::Request& req, afp::http::Response& res) {
      std::lock_guard lock(mutex_);
      seen_ = req.header("Authorization");
      res.body = "ok";
    });
    server_.start();
  }
  ~AuthorizationEcho() { server_.stop(); }
  std::string url() { return "http://127.0.0.1:" + std::to_string(server_.ports().at(0)) + "/"; }
  std::string seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  afp::log::Logger log_{afp::log::Level::error};
  afp::http::Server server_;
  std::mutex mutex_;
  std::string seen_;
};

}  // namespace

TEST_CASE("client GET: basic auth as RFC 7617 encodes it", "[http][client]") {
  AuthorizationEcho echo;
  afp::http::ClientOptions options;
  options.basic_auth = afp::http::BasicCredentials{"Aladdin", "open sesame"};
  ClientError err;
  auto r = afp::http::get(echo.url(), std::chrono::seconds(10), &err, options);
  INFO(err.message);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(echo.seen() == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");

  options.basic_auth->username = "Ala:ddin";
  CHECK_FALSE(afp::http::get(echo.url(), std::chrono::seconds(10), &err, options));
  CHECK(err.kind == ClientError::Kind::Url);
  CHECK(err.message.find("open sesame") == std::string::npos);
}

TEST_CASE("client GET: https:// to a plain HTTP server says it does not speak TLS",
          "[http][client]") {
  AuthorizationEcho plain;
  auto url = plain.url().replace(0, 4, "https");
  ClientError err;
  CHECK_FALSE(afp::http::get(url, std::chrono::seconds(10), &err));
  CHECK(err.kind == ClientError::Kind::NotTls);
  CHECK(err.message == "TLS handshake failed: the server does not speak TLS");
}
