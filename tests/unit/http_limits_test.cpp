// The HTTP server under clients that are slow, idle, oversized or too many: every attack
// here held the old thread-per-connection server's workers, so the requests of a normal
// client were not answered. Deadlines in these tests are generous on purpose: they tell
// "answered" from "starved", not fast from slow.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "app/exporter_app.h"
#include "golden.h"
#include "http/server.h"
#include "http_client.h"
#include "raw_client.h"
#include "running_app.h"

using namespace afp;
using namespace std::chrono_literals;

namespace {

config::Options fixture_options() {
  config::Options o;
  o.listen_addresses = {"127.0.0.1:0"};
  o.collectors = test::fixture_settings();
  o.disable_defaults = true;
  o.collector_flags = {{"cpu", true}, {"loadavg", true}};
  return o;
}

// A request that must be answered before a client would give up on it.
test::HttpResult answered(const std::string& url) {
  test::RequestOptions options;
  options.timeout_seconds = 10;
  return test::http_request(url, "GET", {}, options);
}

// Connections that send their request head one byte at a time, forever: a new byte to
// each every `interval`, on a thread of their own until destroyed.
class Tricklers {
 public:
  Tricklers(int port, int count, std::chrono::milliseconds interval) {
    for (int i = 0; i < count; ++i) {
      connections_.push_back(std::make_unique<test::RawConnection>(port));
      connections_.back()->send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ");
    }
    thread_ = std::thread([this, interval] {
      std::unique_lock lock(mutex_);
      while (!stop_cv_.wait_for(lock, interval, [this] { return stopping_; })) {
        for (auto& c : connections_)
          c->send("a");
      }
    });
  }
  ~Tricklers() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    stop_cv_.notify_all();
    thread_.join();
  }
  int connected() const {
    int n = 0;
    for (const auto& c : connections_)
      n += c->connected();
    return n;
  }

 private:
  std::vector<std::unique_ptr<test::RawConnection>> connections_;
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

std::string request(const std::string& method, const std::string& path,
                    const std::string& extra_headers = "") {
  return method + " " + path + " HTTP/1.1\r\nHost: x\r\n" + extra_headers + "\r\n";
}

}  // namespace

TEST_CASE("300 clients trickling their request heads do not starve /metrics and /-/healthy",
          "[http][limits]") {
  test::RunningApp r(fixture_options());
  Tricklers slow(r.app.ports().at(0), 300, 1s);
  REQUIRE(slow.connected() == 300);
  std::this_thread::sleep_for(500ms);  // every one of them accepted and trickling
  for (int i = 0; i < 3; ++i) {
    auto health = answered(r.base + "/-/healthy");
    INFO(health.error);
    CHECK(health.status == 200);
    auto metrics = answered(r.base + "/metrics");
    INFO(metrics.error);
    CHECK(metrics.status == 200);
    CHECK(metrics.body.find("node_load1 0.21\n") != std::string::npos);
  }
}

TEST_CASE("a request body that trickles in is cut off", "[http][limits]") {
  log::Logger log(log::Level::error);
  http::Server server({{"127.0.0.1:0"}, 4}, log);  // default body grace and minimum rate
  std::promise<http::BodyStatus> status;
  server.route("/upload", {"POST"}, [&](const http::Request& req, http::Response& res) {
    std::string body;
    auto s = req.read_body(1 << 20, &body);
    status.set_value(s);
    res.status = s == http::BodyStatus::Ok ? 200 : 400;
  });
  server.start();
  test::RawConnection client(server.ports().at(0));
  REQUIRE(client.send(request("POST", "/upload", "Content-Length: 100000\r\n")));
  auto result = status.get_future();
  auto deadline = std::chrono::steady_clock::now() + 20s;
  // Ten bytes a second: far below any minimum rate. The old server waited 30 s per byte.
  while (result.wait_for(100ms) != std::future_status::ready &&
         std::chrono::steady_clock::now() < deadline) {
    client.send("a");
  }
  REQUIRE(result.wait_for(0s) == std::future_status::ready);
  CHECK(result.get() == http::BodyStatus::Error);
  CHECK(client.closed_within(5s));
}

TEST_CASE("a body larger than the handler takes is refused unread", "[http][limits]") {
  log::Logger log(log::Level::error);
  http::Server server({{"127.0.0.1:0"}, 4}, log);
  server.route("/upload", {"POST"}, [](const http::Request& req, http::Response& res) {
    std::string body;
    auto s = req.read_body(1000, &body);
    res.status = s == http::BodyStatus::TooLarge ? 413 : 200;
    res.body = std::to_string(body.size());
  });
  server.start();
  test::RawConnection client(server.ports().at(0));
  // No body is ever sent: the answer comes from Content-Length alone.
  REQUIRE(client.send(request("POST", "/upload", "Content-Length: 1000000000\r\n")));
  auto answer = client.receive(10s, "\r\n\r\n");
  CHECK(answer.starts_with("HTTP/1.1 413 "));
  CHECK(answer.find("Connection: close\r\n") != std::string::npos);
}

TEST_CASE("a body is read after 100 Continue and the connection kept alive", "[http][limits]") {
  log::Logger log(log::Level::error);
  http::Server server({{"127.0.0.1:0"}, 4}, log);
  server.route("/upload", {"POST"}, [](const http::Request& req, http::Response& res) {
    std::string body;
    res.status = req.read_body(1000, &body) == http::BodyStatus::Ok ? 200 : 400;
    res.body = body;
  });
  server.start();
  test::RawConnection client(server.ports().at(0));
  REQUIRE(client.send(request("POST", "/upload", "Content-Length: 5\r\nExpect: 100-continue\r\n")));
  CHECK(client.receive(10s, "\r\n\r\n") == "HTTP/1.1 100 Continue\r\n\r\n");
  REQUIRE(client.send("hello"));
  auto first = client.receive(10s, "hello");
  CHECK(first.starts_with("HTTP/1.1 200 "));
  // The same connection serves the next request, a chunked one this time.
  REQUIRE(client.send(request("POST", "/upload", "Transfer-Encoding: chunked\r\n") +
                      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
  auto second = client.receive(10s, "abcde");
  CHECK(second.starts_with("HTTP/1.1 200 "));
  CHECK(second.find("abcde") != std::string::npos);
}

TEST_CASE("an over-long request head is answered 431", "[http][limits]") {
  test::RunningApp r(fixture_options());
  test::RawConnection client(r.app.ports().at(0));
  client.send(request("GET", "/metrics", "X-Big: " + std::string(64 * 1024, 'a') + "\r\n"));
  auto answer = client.receive(10s, "\r\n\r\n");
  CHECK(answer.starts_with("HTTP/1.1 431 "));
  CHECK(client.closed_within(10s));
}

TEST_CASE("a request head must arrive whole within head_timeout", "[http][limits]") {
  log::Logger log(log::Level::error);
  http::ServerOptions options{{"127.0.0.1:0"}, 2};
  options.head_timeout = 1s;
  http::Server server(options, log);
  server.route("/-/healthy", {"GET"},
               [](const http::Request&, http::Response& res) { res.body = "OK\n"; });
  server.start();
  test::RawConnection idle(server.ports().at(0));  // not a byte: the clock runs from accept
  CHECK(idle.closed_within(10s));
  // A byte every 200 ms is never silent for long, but the whole head is still late.
  test::RawConnection trickling(server.ports().at(0));
  trickling.send("GET /-/healthy HTTP/1.1\r\nX-Slow: ");
  bool closed = false;
  for (auto deadline = std::chrono::steady_clock::now() + 10s;
       !closed && std::chrono::steady_clock::now() < deadline;) {
    closed = !trickling.send("a") || trickling.closed_within(200ms);
  }
  CHECK(closed);
  // Meanwhile a prompt client is served on a fresh connection.
  auto url = "http://127.0.0.1:" + std::to_string(server.ports().at(0)) + "/-/healthy";
  CHECK(answered(url).status == 200);
}

TEST_CASE("at the connection cap the longest-waiting connection makes room",
          "[http][limits][concurrency]") {
  log::Logger log(log::Level::error);
  http::ServerOptions options{{"127.0.0.1:0"}, 2};
  options.max_connections = 5;
  http::Server server(options, log);
  server.route("/-/healthy", {"GET"},
               [](const http::Request&, http::Response& res) { res.body = "OK\n"; });
  server.start();
  int port = server.ports().at(0);
  std::vector<std::unique_ptr<test::RawConnection>> idle;
  for (int i = 0; i < 5; ++i) {
    // Each answered once, so the server holds all five, idle in keep-alive, oldest first.
    idle.push_back(std::make_unique<test::RawConnection>(port));
    REQUIRE(idle.back()->send(request("GET", "/-/healthy")));
    REQUIRE(idle.back()->receive(10s, "OK\n").find("OK\n") != std::string::npos);
  }
  auto url = "http://127.0.0.1:" + std::to_string(port) + "/-/healthy";
  CHECK(answered(url).status == 200);       // a sixth connection is served...
  CHECK(idle.front()->closed_within(10s));  // ...and the oldest idle one was closed for it
  REQUIRE(idle.back()->send(request("GET", "/-/healthy")));  // the newest still works
  CHECK(idle.back()->receive(10s, "OK\n").find("OK\n") != std::string::npos);
}

TEST_CASE("at the connection cap with every connection busy, a new one is closed at once",
          "[http][limits]") {
  log::Logger log(log::Level::error);
  http::ServerOptions options{{"127.0.0.1:0"}, 4};
  options.max_connections = 2;
  http::Server server(options, log);
  std::mutex mutex;
  std::condition_variable cv;
  int inside = 0;
  bool release = false;
  server.route("/slow", {"GET"}, [&](const http::Request&, http::Response& res) {
    std::unique_lock lock(mutex);
    ++inside;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    res.body = "done";
  });
  server.start();
  int port = server.ports().at(0);
  test::RawConnection a(port), b(port);
  REQUIRE(a.send(request("GET", "/slow")));
  REQUIRE(b.send(request("GET", "/slow")));
  {
    std::unique_lock lock(mutex);
    REQUIRE(cv.wait_for(lock, 10s, [&] { return inside == 2; }));
  }
  test::RawConnection c(port);
  CHECK(c.closed_within(10s));
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  cv.notify_all();
  CHECK(a.receive(10s, "done").find("done") != std::string::npos);
  CHECK(b.receive(10s, "done").find("done") != std::string::npos);
}

TEST_CASE("health routes answer while every worker is busy with a slow scrape",
          "[http][limits][concurrency]") {
  log::Logger log(log::Level::error);
  http::Server server({{"127.0.0.1:0"}, 2}, log);
  std::mutex mutex;
  std::condition_variable cv;
  int inside = 0;
  bool release = false;
  server.route("/metrics", {"GET"}, [&](const http::Request&, http::Response& res) {
    std::unique_lock lock(mutex);
    ++inside;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    res.body = "done";
  });
  server.route("/-/healthy", {"GET"},
               [](const http::Request&, http::Response& res) { res.body = "OK\n"; },
               {.run_inline = true});
  server.start();
  int port = server.ports().at(0);
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  std::vector<std::future<test::HttpResult>> scrapes;
  for (int i = 0; i < 3; ++i) {  // two workers: the third waits in line
    scrapes.push_back(std::async(std::launch::async, [&] { return answered(base + "/metrics"); }));
  }
  {
    std::unique_lock lock(mutex);
    REQUIRE(cv.wait_for(lock, 10s, [&] { return inside == 2; }));
  }
  CHECK(answered(base + "/-/healthy").status == 200);
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  cv.notify_all();
  for (auto& s : scrapes)
    CHECK(s.get().body == "done");
}
