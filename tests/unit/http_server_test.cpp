#include <zlib.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "app/exporter_app.h"
#include "core/listen_address.h"
#include "golden.h"
#include "gunzip.h"
#include "http/gzip.h"
#include "http/server.h"
#include "http_client.h"
#include "running_app.h"

using namespace afp;
using test::gunzip;

namespace {

// The exposition without the per-scrape timing lines, which differ between two scrapes.
std::string without_durations(const std::string& text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    auto line = text.substr(pos, end - pos + 1);
    if (line.rfind("afp_exporter_scrape_collector_duration_seconds{", 0) != 0) out += line;
    pos = end == std::string::npos ? text.size() : end + 1;
  }
  return out;
}

config::Options fixture_options() {
  config::Options o;
  o.listen_addresses = {"127.0.0.1:0"};
  o.collectors = test::fixture_settings();
  o.disable_defaults = true;
  o.collector_flags = {{"cpu", true}, {"loadavg", true}};
  return o;
}

using test::RunningApp;

}  // namespace

TEST_CASE("every route answers with the right status", "[http]") {
  RunningApp r(fixture_options());
  auto landing = test::http_request(r.base + "/");
  CHECK(landing.status == 200);
  CHECK(landing.headers["content-type"].find("text/html") == 0);
  CHECK(landing.body.find("href=\"/metrics\"") != std::string::npos);

  auto metrics = test::http_request(r.base + "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(metrics.body.find("node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 10870.69\n") !=
        std::string::npos);
  CHECK(metrics.body.find("node_load1 0.21\n") != std::string::npos);
  CHECK(metrics.body.find("afp_exporter_scrape_collector_success{collector=\"cpu\"} 1\n") !=
        std::string::npos);
  CHECK(metrics.body.find("afp_exporter_build_info{version=") != std::string::npos);

  for (const char* path : {"/-/healthy", "/-/ready"}) {
    auto res = test::http_request(r.base + path);
    CHECK(res.status == 200);
    CHECK(res.body == "OK\n");
  }
  auto missing = test::http_request(r.base + "/metricsx");
  CHECK(missing.status == 404);
  auto wrong = test::http_request(r.base + "/metrics", "POST");
  CHECK(wrong.status == 405);
  CHECK(wrong.headers["allow"] == "GET, HEAD");
  CHECK(test::http_request(r.base + "/-/healthy", "DELETE").status == 405);

  auto head = test::http_request(r.base + "/metrics", "HEAD");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(std::stoul(head.headers["content-length"]) > 1000);
}

TEST_CASE("scrapes are gzipped only when the client accepts gzip", "[http][gzip]") {
  RunningApp r(fixture_options());
  auto plain = test::http_request(r.base + "/metrics");
  auto zipped = test::http_request(r.base + "/metrics", "GET", {"Accept-Encoding: gzip"});
  REQUIRE(zipped.status == 200);
  CHECK(zipped.headers["content-encoding"] == "gzip");
  CHECK(zipped.headers["vary"] == "Accept-Encoding");
  CHECK(zipped.body.size() < plain.body.size());
  CHECK(without_durations(gunzip(zipped.body)) == without_durations(plain.body));

  auto refused = test::http_request(r.base + "/metrics", "GET", {"Accept-Encoding: gzip;q=0"});
  CHECK(refused.headers.count("content-encoding") == 0);
  auto other = test::http_request(r.base + "/metrics", "GET", {"Accept-Encoding: br"});
  CHECK(other.headers.count("content-encoding") == 0);
  auto small = test::http_request(r.base + "/-/healthy", "GET", {"Accept-Encoding: gzip"});
  CHECK(small.body == "OK\n");  // too small to be worth compressing
}

TEST_CASE("Accept-Encoding parsing", "[http][gzip]") {
  CHECK(http::accepts_gzip("gzip"));
  CHECK(http::accepts_gzip("deflate, GZIP"));
  CHECK(http::accepts_gzip("br;q=1.0, gzip;q=0.8"));
  CHECK(http::accepts_gzip("*"));
  CHECK_FALSE(http::accepts_gzip(""));
  CHECK_FALSE(http::accepts_gzip("gzip;q=0"));
  CHECK_FALSE(http::accepts_gzip("identity"));
  CHECK_FALSE(http::accepts_gzip("gzipx"));
}

TEST_CASE("two concurrent requests do not wait for each other, health stays up",
          "[http][concurrency]") {
  log::Logger log(log::Level::error);
  http::Server server({{"127.0.0.1:0"}, 8}, log);
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
  server.route("/-/healthy", {"GET"},
               [](const http::Request&, http::Response& res) { res.body = "OK\n"; });
  server.start();
  std::string base = "http://127.0.0.1:" + std::to_string(server.ports().at(0));
  auto a = std::async(std::launch::async, [&] { return test::http_request(base + "/slow"); });
  auto b = std::async(std::launch::async, [&] { return test::http_request(base + "/slow"); });
  {
    // Both handlers are inside at once: neither request queued behind the other.
    std::unique_lock lock(mutex);
    bool both = cv.wait_for(lock, std::chrono::seconds(10), [&] { return inside == 2; });
    CHECK(both);
  }
  CHECK(test::http_request(base + "/-/healthy").status == 200);  // while both are blocked
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  cv.notify_all();
  CHECK(a.get().body == "done");
  CHECK(b.get().body == "done");
  server.stop();
}

TEST_CASE("concurrent scrapes of the app all succeed", "[http][concurrency]") {
  RunningApp r(fixture_options());
  std::vector<std::future<test::HttpResult>> scrapes;
  for (int i = 0; i < 8; ++i) {
    scrapes.push_back(
        std::async(std::launch::async, [&] { return test::http_request(r.base + "/metrics"); }));
  }
  for (auto& s : scrapes) {
    auto res = s.get();
    CHECK(res.status == 200);
    CHECK(res.body.find("node_load15 0.39\n") != std::string::npos);
  }
}

TEST_CASE("a failing collector zeroes its success and the scrape still succeeds", "[http]") {
  auto o = fixture_options();
  o.collectors.procfs = test::fixture("malformed/proc");  // truncated loadavg: loadavg fails
  RunningApp r(o);
  auto res = test::http_request(r.base + "/metrics");
  CHECK(res.status == 200);
  CHECK(res.body.find("afp_exporter_scrape_collector_success{collector=\"cpu\"} 1\n") !=
        std::string::npos);
  CHECK(res.body.find("afp_exporter_parse_errors_total{collector=\"cpu\"} 3\n") !=
        std::string::npos);
  CHECK(res.body.find("afp_exporter_scrape_collector_success{collector=\"loadavg\"} 0\n") !=
        std::string::npos);
  CHECK(res.body.find("node_load1") == std::string::npos);  // no half-written family
}

TEST_CASE("listen address validation", "[http][config]") {
  std::string err;
  auto ip = [&](std::string_view text) {
    auto address = core::parse_listen_address(text, &err);
    return address ? address->ip + " " + std::to_string(address->port) : "error";
  };
  CHECK(ip(":9793") == " 9793");  // every address
  CHECK(ip("127.0.0.1:80") == "127.0.0.1 80");
  CHECK(ip("localhost:80") == "127.0.0.1 80");
  CHECK(ip("[::1]:9793") == "::1 9793");
  CHECK(ip("[::]:9793") == ":: 9793");
  CHECK(ip("9793") == "error");
  CHECK(err.find("host:port") != std::string::npos);
  CHECK(ip(":99999") == "error");
  CHECK(err.find("bad port") != std::string::npos);
  CHECK(ip("::1:9793") == "error");
  CHECK(err.find("brackets") != std::string::npos);
  CHECK(ip("[nonsense]:9793") == "error");
  CHECK(err.find("\"[nonsense]:9793\"") != std::string::npos);
  CHECK(ip("no-such-host.invalid:1") == "error");
  CHECK(err.find("cannot resolve") != std::string::npos);
}

TEST_CASE("a port in use is a clear error", "[http]") {
  log::Logger log(log::Level::error);
  http::Server first({{"127.0.0.1:0"}, 2}, log);
  first.start();
  auto port = std::to_string(first.ports().at(0));
  http::Server second({{"127.0.0.1:" + port}, 2}, log);
  CHECK_THROWS_WITH(second.start(), Catch::Contains("127.0.0.1:" + port) &&
                                        Catch::Contains("address already in use"));
}

TEST_CASE("IPv6 listen addresses serve over IPv6", "[http]") {
  log::Logger log(log::Level::error);
  http::Server server({{"[::1]:0", ":0"}, 2}, log);
  server.route("/-/healthy", {"GET"},
               [](const http::Request&, http::Response& res) { res.body = "OK\n"; });
  try {
    server.start();
  } catch (const http::ServerError& e) {
    // A machine without IPv6 on loopback cannot run this test.
    if (std::string(e.what()).find("[::1]") == std::string::npos) throw;
    WARN(e.what());
    return;
  }
  auto ports = server.ports();
  REQUIRE(ports.size() == 2);
  CHECK(test::http_request("http://[::1]:" + std::to_string(ports[0]) + "/-/healthy").status ==
        200);
  // ":port" listens on every address, IPv4 and IPv6 alike.
  CHECK(test::http_request("http://127.0.0.1:" + std::to_string(ports[1]) + "/-/healthy").status ==
        200);
  CHECK(test::http_request("http://[::1]:" + std::to_string(ports[1]) + "/-/healthy").status ==
        200);
}
