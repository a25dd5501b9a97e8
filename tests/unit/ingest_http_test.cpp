// POST /api/v1/observations through the real exporter: authentication modes, every limit,
// all-or-nothing batches, and exact totals under concurrent HTTP and statsd pushes.

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/exporter_app.h"
#include "http/server.h"
#include "http_client.h"
#include "metrics/text_parser.h"
#include "pipeline/http_ingest.h"
#include "running_app.h"

using namespace afp;

namespace {

constexpr const char* kJson = "Content-Type: application/json";

config::Options ingest_options() {
  config::Options o;
  o.listen_addresses = {"127.0.0.1:0"};
  o.disable_defaults = true;
  o.collector_flags = {{"pipeline", true}};
  return o;
}

struct RunningApp : test::RunningApp {
  using test::RunningApp::RunningApp;

  test::HttpResult push(const std::string& body, std::vector<std::string> headers = {kJson}) {
    test::RequestOptions options;
    options.body = body;
    return test::http_request(base + "/api/v1/observations", "POST", headers, options);
  }
  std::vector<metrics::Sample> scrape() {
    auto res = test::http_request(base + "/metrics");
    REQUIRE(res.status == 200);
    return metrics::parse_text(res.body);
  }
  double value(const std::string& name, metrics::LabelMatch labels = {}) {
    auto samples = scrape();
    const auto* s = metrics::find_sample(samples, name, labels);
    return s ? s->value : -1;
  }
};

// Sets an environment variable for one scope.
struct ScopedEnv {
  std::string name;
  ScopedEnv(std::string n, const std::string& value) : name(std::move(n)) {
    setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() { unsetenv(name.c_str()); }
};

const std::string kBatch = R"({"observations": [
  {"metric": "fingerprint_generation", "seconds": 1.84},
  {"metric": "api_request", "seconds": 2.31,
   "labels": {"endpoint": "/identify", "method": "POST", "status": "200"}},
  {"metric": "db_query", "seconds": 0.041, "labels": {"operation": "lookup"}},
  {"metric": "identification", "labels": {"result": "match"}},
  {"metric": "audio_processed", "seconds": 10.0},
  {"metric": "fingerprint_hashes", "count": 4919}
]})";

std::string endpoint_batch(const std::string& endpoint, double seconds = 0.5) {
  return R"({"observations": [{"metric": "api_request", "seconds": )" + std::to_string(seconds) +
         R"(, "labels": {"endpoint": ")" + endpoint + R"(", "method": "GET", "status": "200"}}]})";
}

std::string error_of(const test::HttpResult& res) {
  return nlohmann::json::parse(res.body).at("error").get<std::string>();
}

// A local address other than loopback, to reach the exporter as a remote peer would.
std::optional<std::string> non_loopback_address() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return std::nullopt;
  std::optional<std::string> found;
  for (auto* a = list; a != nullptr && !found; a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    char text[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(a->ifa_addr)->sin_addr, text, sizeof text);
    if (!http::is_loopback(text)) found = text;
  }
  freeifaddrs(list);
  return found;
}

}  // namespace

TEST_CASE("ingest: the README's example batch lands in every metric", "[ingest]") {
  RunningApp r(ingest_options());
  auto res = r.push(kBatch);
  REQUIRE(res.status == 200);
  CHECK(res.headers["content-type"] == "application/json");
  CHECK(nlohmann::json::parse(res.body) == nlohmann::json{{"accepted", 6}});

  auto samples = r.scrape();
  auto value = [&](const char* name, metrics::LabelMatch labels = {}) {
    const auto* s = metrics::find_sample(samples, name, labels);
    REQUIRE(s != nullptr);
    return s->value;
  };
  CHECK(value("afp_fingerprint_generation_seconds_count") == 1);
  CHECK(value("afp_fingerprint_generation_seconds_sum") == 1.84);
  CHECK(value("afp_fingerprint_generation_seconds_bucket", {{"le", "1"}}) == 0);
  CHECK(value("afp_fingerprint_generation_seconds_bucket", {{"le", "2"}}) == 1);
  CHECK(value("afp_api_request_duration_seconds_count",
              {{"endpoint", "/identify"}, {"method", "POST"}, {"status", "200"}}) == 1);
  CHECK(value("afp_db_query_duration_seconds_sum", {{"operation", "lookup"}}) == 0.041);
  CHECK(value("afp_identifications_total", {{"result", "match"}}) == 1);
  CHECK(value("afp_identifications_total", {{"result", "error"}}) == 0);
  CHECK(value("afp_audio_processed_seconds_total") == 10);
  CHECK(value("afp_fingerprint_hashes_total") == 4919);
  CHECK(value("afp_ingest_observations_total", {{"transport", "http"}}) == 6);
  CHECK(value("afp_exporter_scrape_collector_success", {{"collector", "pipeline"}}) == 1);
}

TEST_CASE("ingest: without a token only loopback peers may push", "[ingest][auth]") {
  CHECK(http::is_loopback("127.0.0.1"));
  CHECK(http::is_loopback("127.10.0.3"));
  CHECK(http::is_loopback("::1"));
  CHECK(http::is_loopback("::ffff:127.0.0.1"));
  CHECK_FALSE(http::is_loopback("10.0.0.1"));
  CHECK_FALSE(http::is_loopback("128.0.0.1"));
  CHECK_FALSE(http::is_loopback("::ffff:10.0.0.1"));
  CHECK_FALSE(http::is_loopback(""));

  auto remote = non_loopback_address();
  if (!remote) {
    WARN("no non-loopback IPv4 address on this machine: remote-peer cases skipped");
    return;
  }
  auto options = ingest_options();
  options.listen_addresses = {":0"};
  SECTION("a remote peer gets 403 and nothing is counted") {
    RunningApp r(options);
    std::string url = "http://" + *remote + ":" + std::to_string(r.app.ports().at(0));
    test::RequestOptions body;
    body.body = kBatch;
    auto res = test::http_request(url + "/api/v1/observations", "POST", {kJson}, body);
    CHECK(res.status == 403);
    CHECK(error_of(res).find("AFP_INGEST_TOKEN") != std::string::npos);
    CHECK(r.value("afp_ingest_observations_total", {{"transport", "http"}}) == 0);
    CHECK(r.value("afp_ingest_rejected_total",
                  {{"transport", "http"}, {"reason", "unauthorized"}}) == 1);
    CHECK(r.push(kBatch).status == 200);  // the same exporter, from loopback
  }
  SECTION("--ingest.allow-unauthenticated opens it to every peer") {
    options.ingest.allow_unauthenticated = true;
    RunningApp r(options);
    std::string url = "http://" + *remote + ":" + std::to_string(r.app.ports().at(0));
    test::RequestOptions body;
    body.body = kBatch;
    CHECK(test::http_request(url + "/api/v1/observations", "POST", {kJson}, body).status == 200);
  }
}

TEST_CASE("ingest: with a token every request must carry it", "[ingest][auth]") {
  ScopedEnv token("AFP_INGEST_TOKEN", "s3cret-token");
  RunningApp r(ingest_options());
  auto missing = r.push(kBatch);
  CHECK(missing.status == 401);
  CHECK(missing.headers["www-authenticate"] == "Bearer");
  CHECK(r.push(kBatch, {kJson, "Authorization: Bearer s3cret-toke"}).status == 401);
  CHECK(r.push(kBatch, {kJson, "Authorization: Bearer s3cret-token2"}).status == 401);
  CHECK(r.push(kBatch, {kJson, "Authorization: Basic czNjcmV0LXRva2Vu"}).status == 401);
  CHECK(r.value("afp_ingest_observations_total", {{"transport", "http"}}) == 0);
  CHECK(r.value("afp_ingest_rejected_total", {{"transport", "http"}, {"reason", "unauthorized"}}) ==
        4);
  CHECK(r.push(kBatch, {kJson, "Authorization: Bearer s3cret-token"}).status == 200);
  CHECK(r.push(kBatch, {kJson, "Authorization: bearer s3cret-token"}).status == 200);
  CHECK(r.value("afp_ingest_observations_total", {{"transport", "http"}}) == 12);
}

TEST_CASE("ingest: the token may come from a file", "[ingest][auth]") {
  char path[] = "/tmp/afp-token-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, "from-file\n", 10) == 10);
  close(fd);
  {
    ScopedEnv file("AFP_INGEST_TOKEN_FILE", path);
    RunningApp r(ingest_options());
    CHECK(r.push(kBatch, {kJson, "Authorization: Bearer from-file"}).status == 200);
    CHECK(r.push(kBatch).status == 401);
  }
  unlink(path);
  ScopedEnv gone("AFP_INGEST_TOKEN_FILE", path);
  log::Logger quiet{log::Level::error};
  try {
    app::ExporterApp app(ingest_options(), {}, quiet);
    FAIL("an unreadable token file must stop the start");
  } catch (const config::ConfigError& e) {
    CHECK(std::string(e.what()).find("AFP_INGEST_TOKEN_FILE") != std::string::npos);
  }
}

TEST_CASE("ingest: bearer comparison", "[ingest][auth]") {
  using pipeline::bearer_matches;
  CHECK(bearer_matches("Bearer abc", "abc"));
  CHECK(bearer_matches("BEARER abc", "abc"));
  CHECK_FALSE(bearer_matches("Bearer abcd", "abc"));
  CHECK_FALSE(bearer_matches("Bearer ab", "abc"));
  CHECK_FALSE(bearer_matches("Bearer ", "abc"));
  CHECK_FALSE(bearer_matches("abc", "abc"));
  CHECK_FALSE(bearer_matches("", "abc"));
}

TEST_CASE("ingest: limits and refusals answer 4xx and count nothing", "[ingest][limits]") {
  auto options = ingest_options();
  options.ingest.max_body_bytes = 2048;
  options.ingest.max_batch_items = 6;
  options.ingest.max_label_values = 2;
  options.ingest.max_label_value_length = 16;
  RunningApp r(options);
  auto rejected = [&](const char* reason) {
    return r.value("afp_ingest_rejected_total", {{"transport", "http"}, {"reason", reason}});
  };

  SECTION("415 unless the body is JSON") {
    CHECK(r.push(kBatch, {"Content-Type: text/plain"}).status == 415);
    CHECK(r.push(kBatch, {"Content-Type: application/jsonx"}).status == 415);
    CHECK(r.push(kBatch, {"Content-Type:"}).status == 415);
    CHECK(r.push(kBatch, {"Content-Type: application/json; charset=utf-8"}).status == 200);
    CHECK(rejected("unsupported_media") == 3);
  }
  SECTION("413 beyond the body limit, with or without Content-Length") {
    std::string big = R"({"observations": [)" + std::string(3000, ' ') + "]}";
    CHECK(r.push(big).status == 413);
    CHECK(r.push(big, {kJson, "Transfer-Encoding: chunked"}).status == 413);
    CHECK(rejected("body_too_large") == 2);
    CHECK(r.push(R"({"observations": []})").status == 200);
  }
  SECTION("too many items") {
    std::string seven = R"({"observations": [)";
    for (int i = 0; i < 7; ++i)
      seven += std::string(i ? "," : "") + R"({"metric": "fingerprint_generation", "seconds": 1})";
    seven += "]}";
    auto res = r.push(seven);
    CHECK(res.status == 400);
    CHECK(rejected("too_many_items") == 1);
  }
  SECTION("one bad item refuses the whole batch, naming it") {
    std::string bad = R"({"observations": [
      {"metric": "fingerprint_generation", "seconds": 1},
      {"metric": "db_query", "seconds": 0.1, "labels": {"operation": "lookup"}},
      {"metric": "db_query", "seconds": -0.1, "labels": {"operation": "lookup"}}]})";
    auto res = r.push(bad);
    REQUIRE(res.status == 400);
    auto doc = nlohmann::json::parse(res.body);
    CHECK(doc["index"] == 2);
    CHECK(doc["error"].get<std::string>().find("observations[2]") != std::string::npos);
    CHECK(r.value("afp_fingerprint_generation_seconds_count") == 0);
    CHECK(r.value("afp_db_query_duration_seconds_count", {{"operation", "lookup"}}) == 0);
    CHECK(r.value("afp_ingest_observations_total", {{"transport", "http"}}) == 0);
    CHECK(rejected("invalid_value") == 1);
  }
  SECTION("unknown metric, unknown label, label too long, broken JSON") {
    auto res = r.push(R"({"observations": [{"metric": "cpu", "seconds": 1}]})");
    CHECK(res.status == 400);
    CHECK(r.push(R"({"observations": [{"metric": "db_query", "seconds": 1,
        "labels": {"operation": "lookup", "table": "x"}}]})")
              .status == 400);
    CHECK(r.push(endpoint_batch(std::string(17, 'e'))).status == 400);
    CHECK(r.push(R"({"observations": [)").status == 400);
    CHECK(r.push("").status == 400);
    CHECK(rejected("unknown_metric") == 1);
    CHECK(rejected("unknown_label") == 1);
    CHECK(rejected("label_too_long") == 1);
    CHECK(rejected("malformed") == 2);
    CHECK(r.value("afp_ingest_observations_total", {{"transport", "http"}}) == 0);
  }
  SECTION("a label takes at most max-label-values values; known ones keep working") {
    CHECK(r.push(endpoint_batch("/a")).status == 200);
    CHECK(r.push(endpoint_batch("/b")).status == 200);
    auto res = r.push(endpoint_batch("/c"));
    CHECK(res.status == 400);
    CHECK(error_of(res).find("observations[0]: label \"endpoint\"") == 0);
    CHECK(r.push(endpoint_batch("/a")).status == 200);
    CHECK(rejected("cardinality") == 1);
    auto samples = r.scrape();
    CHECK(metrics::find_samples(samples, "afp_api_request_duration_seconds_count").size() == 2);
  }
  SECTION("running totals stay finite: the push that would overflow one is refused") {
    const std::string huge = R"({"observations": [{"metric": "audio_processed", "seconds": 1e308},
        {"metric": "fingerprint_generation", "seconds": 1e308}]})";
    CHECK(r.push(huge).status == 200);
    auto res = r.push(huge);
    REQUIRE(res.status == 400);
    CHECK(nlohmann::json::parse(res.body)["index"] == 0);
    CHECK(error_of(res).find("observations[0]: would make a running total") == 0);
    CHECK(rejected("overflow") == 2);
    CHECK(r.value("afp_audio_processed_seconds_total") == 1e308);
    CHECK(r.value("afp_fingerprint_generation_seconds_sum") == 1e308);
  }
  SECTION("control characters in a label value, even escaped, are refused") {
    for (const char* endpoint : {R"(/a\nb)", R"(/a\u001b[2J)", R"(/a\u0000)", R"(/\u007f)"}) {
      INFO(endpoint);
      auto res = r.push(endpoint_batch(endpoint));
      REQUIRE(res.status == 400);
      CHECK(error_of(res).find("control characters") != std::string::npos);
    }
    CHECK(rejected("invalid_value") == 4);
  }
  SECTION("only POST") {
    auto res = test::http_request(r.base + "/api/v1/observations");
    CHECK(res.status == 405);
    CHECK(res.headers["allow"] == "POST");
  }
}

TEST_CASE("ingest: at most max-series api_request series, known ones keep working",
          "[ingest][limits]") {
  auto options = ingest_options();
  options.ingest.max_series = 3;
  RunningApp r(options);
  for (const char* endpoint : {"/a", "/b", "/c"})
    REQUIRE(r.push(endpoint_batch(endpoint)).status == 200);
  auto res = r.push(endpoint_batch("/d"));
  REQUIRE(res.status == 400);
  CHECK(error_of(res) == "observations[0]: new series refused, the limit of 3 series is reached");
  CHECK(r.push(endpoint_batch("/b")).status == 200);
  CHECK(r.value("afp_ingest_rejected_total", {{"transport", "http"}, {"reason", "series_limit"}}) ==
        1);
  CHECK(metrics::find_samples(r.scrape(), "afp_api_request_duration_seconds_count").size() == 3);
}

TEST_CASE("ingest: concurrent HTTP and statsd pushes add up exactly", "[ingest][concurrency]") {
  auto options = ingest_options();
  options.ingest.statsd_listen_address = "127.0.0.1:0";
  RunningApp r(options);
  int statsd_port = r.app.statsd_port();
  REQUIRE(statsd_port > 0);

  constexpr int kThreads = 4, kBatches = 25, kPerBatch = 40, kDatagrams = 500;
  std::string batch = R"({"observations": [)";
  for (int i = 0; i < kPerBatch; ++i) {
    batch += std::string(i ? "," : "") +
             R"({"metric": "db_query", "seconds": 0.25, "labels": {"operation": "insert"}})";
  }
  batch += "]}";
  std::atomic<int> http_accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int b = 0; b < kBatches; ++b) {
        if (r.push(batch).status == 200) http_accepted += kPerBatch;
      }
    });
    threads.emplace_back([&] {
      int fd = socket(AF_INET, SOCK_DGRAM, 0);
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(static_cast<std::uint16_t>(statsd_port));
      to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      std::string line = "afp.db_query:500|ms|#operation:delete";
      for (int d = 0; d < kDatagrams; ++d) {
        sendto(fd, line.data(), line.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      }
      close(fd);
    });
  }
  for (auto& t : threads)
    t.join();
  CHECK(http_accepted == kThreads * kBatches * kPerBatch);

  // Every datagram is either counted in or counted as dropped, once the listener caught up.
  double sent = kThreads * kDatagrams;
  double accepted = 0, dropped = 0;
  for (int i = 0; i < 200 && accepted + dropped < sent; ++i) {
    auto samples = r.scrape();
    accepted =
        metrics::find_sample(samples, "afp_ingest_observations_total", {{"transport", "statsd"}})
            ->value;
    dropped = metrics::find_sample(samples, "afp_ingest_rejected_total",
                                   {{"transport", "statsd"}, {"reason", "dropped"}})
                  ->value;
    if (accepted + dropped < sent) {
      // Drops are reported with the next datagram received: one more, which is counted too.
      if (i % 20 == 19) {
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(static_cast<std::uint16_t>(statsd_port));
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        std::string line = "afp.db_query:500|ms|#operation:delete";
        sendto(fd, line.data(), line.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
        close(fd);
        sent += 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  CHECK(accepted + dropped == sent);

  auto samples = r.scrape();
  auto http_count = metrics::find_sample(samples, "afp_db_query_duration_seconds_count",
                                         {{"operation", "insert"}});
  auto http_sum =
      metrics::find_sample(samples, "afp_db_query_duration_seconds_sum", {{"operation", "insert"}});
  auto udp_count = metrics::find_sample(samples, "afp_db_query_duration_seconds_count",
                                        {{"operation", "delete"}});
  REQUIRE((http_count && http_sum && udp_count));
  CHECK(http_count->value == http_accepted);
  CHECK(http_sum->value == 0.25 * http_accepted);
  CHECK(udp_count->value == accepted);
  CHECK(metrics::find_sample(samples, "afp_ingest_observations_total", {{"transport", "http"}})
            ->value == http_accepted);
}
