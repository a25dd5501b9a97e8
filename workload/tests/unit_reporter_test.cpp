// The reporter against the real exporter in this process (tests/unit/running_app.h): what
// it pushes lands in /metrics exactly; an exporter that is away and comes back loses
// nothing; a batch the exporter refuses is dropped; the queue is bounded; statsd lines are
// the README's, checked on a local UDP socket.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../../tests/unit/running_app.h"
#include "http/client.h"
#include "metrics/text_parser.h"
#include "reporter.h"

using namespace afp;
using namespace afp::workload;

namespace {

using pipeline::Kind;

// Waits for a condition the test cannot schedule (a background flush, a retry). The limit
// only keeps a broken build from hanging; nothing is asserted about how long it takes.
bool eventually(const std::function<bool()>& condition) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

config::Options exporter_options(int port = 0) {
  config::Options o;
  o.listen_addresses = {"127.0.0.1:" + std::to_string(port)};
  o.disable_defaults = true;
  o.collector_flags = {{"pipeline", true}};
  return o;
}

std::vector<metrics::Sample> scrape(const std::string& base) {
  std::string error;
  auto res = http::get(base + "/metrics", std::chrono::seconds(10), &error);
  REQUIRE(res);
  REQUIRE(res->status == 200);
  return metrics::parse_text(res->body);
}

double value(const std::vector<metrics::Sample>& samples, const std::string& name,
             metrics::LabelMatch labels = {}) {
  const auto* s = metrics::find_sample(samples, name, labels);
  return s ? s->value : -1;
}

ReporterOptions fast() {
  ReporterOptions o;
  o.flush_interval = std::chrono::milliseconds(50);
  return o;
}

// A port where nothing listens (one an exporter just gave back).
int free_port() {
  test::RunningApp app(exporter_options());
  return app.app.ports().at(0);
}

struct ScopedEnv {
  std::string name;
  ScopedEnv(std::string n, const std::string& v) : name(std::move(n)) {
    setenv(name.c_str(), v.c_str(), 1);
  }
  ~ScopedEnv() { unsetenv(name.c_str()); }
};

// Each of the six metrics once, with recognisable values.
void submit_one_of_each(Reporter& r, int i) {
  r.fingerprint_generation(0.5);
  r.api_request(2.0, "/identify", "POST", i % 2 ? 200 : 503);
  r.db_query(0.04, "lookup");
  r.identification(i % 2 ? "match" : "error");
  r.audio_processed(5.0);
  r.fingerprint_hashes(static_cast<std::uint64_t>(100 + i));
}

}  // namespace

TEST_CASE("reporter: the wire format v1 body", "[reporter]") {
  std::vector<ReportObservation> batch{
      {Kind::FingerprintGeneration, 1.84, {}},
      {Kind::ApiRequest, 2.31, {"/identify", "POST", "200"}},
      {Kind::DbQuery, 0.041, {"lookup", {}, {}}},
      {Kind::Identification, 1, {"match", {}, {}}},
      {Kind::AudioProcessed, 10, {}},
      {Kind::FingerprintHashes, 4919, {}},
  };
  auto body = nlohmann::json::parse(observations_json(batch));
  auto want = nlohmann::json::parse(R"({"observations": [
    {"metric": "fingerprint_generation", "seconds": 1.84},
    {"metric": "api_request", "seconds": 2.31,
     "labels": {"endpoint": "/identify", "method": "POST", "status": "200"}},
    {"metric": "db_query", "seconds": 0.041, "labels": {"operation": "lookup"}},
    {"metric": "identification", "labels": {"result": "match"}},
    {"metric": "audio_processed", "seconds": 10.0},
    {"metric": "fingerprint_hashes", "count": 4919}]})");
  CHECK(body == want);
  CHECK(body["observations"][5]["count"].is_number_integer());
}

TEST_CASE("reporter: statsd lines and datagrams", "[reporter]") {
  CHECK(statsd_line({Kind::FingerprintGeneration, 1.5, {}}) ==
        "afp.fingerprint_generation:1500|ms");
  // Microseconds are plenty: no binary-fraction tails ("1840.0000000000002").
  CHECK(statsd_line({Kind::FingerprintGeneration, 1.84, {}}) ==
        "afp.fingerprint_generation:1840|ms");
  CHECK(statsd_line({Kind::DbQuery, 0.0000126, {"other", {}, {}}}) ==
        "afp.db_query:0.013|ms|#operation:other");
  CHECK(statsd_line({Kind::ApiRequest, 2.25, {"/identify", "POST", "200"}}) ==
        "afp.api_request:2250|ms|#endpoint:/identify,method:POST,status:200");
  CHECK(statsd_line({Kind::DbQuery, 0.5, {"lookup", {}, {}}}) ==
        "afp.db_query:500|ms|#operation:lookup");
  CHECK(statsd_line({Kind::Identification, 1, {"no_match", {}, {}}}) ==
        "afp.identification:1|c|#result:no_match");
  CHECK(statsd_line({Kind::AudioProcessed, 10, {}}) == "afp.audio_processed:10|c");
  CHECK(statsd_line({Kind::AudioProcessed, 2.5, {}}) == "afp.audio_processed:2.5|c");
  CHECK(statsd_line({Kind::FingerprintHashes, 4919, {}}) == "afp.fingerprint_hashes:4919|c");
  // A tag value cannot break its line.
  CHECK(statsd_line({Kind::ApiRequest, 1, {"/a,b|c\n#d", "GET", "200"}}) ==
        "afp.api_request:1000|ms|#endpoint:/a_b_c__d,method:GET,status:200");

  std::vector<ReportObservation> many(200, {Kind::ApiRequest, 0.25, {"/identify", "POST", "200"}});
  auto datagrams = statsd_datagrams(many, 1400);
  std::size_t lines = 0;
  for (const auto& d : datagrams) {
    CHECK(d.size() <= 1400);
    CHECK(d.back() != '\n');
    std::istringstream in(d);
    for (std::string line; std::getline(in, line); ++lines)
      CHECK(line == "afp.api_request:250|ms|#endpoint:/identify,method:POST,status:200");
  }
  CHECK(lines == 200);
  CHECK(datagrams.size() > 1);
  CHECK(statsd_datagrams({}, 1400).empty());
}

TEST_CASE("reporter: URLs it cannot use are refused at start", "[reporter]") {
  log::Logger quiet(log::Level::error, log::Format::logfmt, [](std::string_view) {});
  CHECK_THROWS_AS(Reporter::create("ftp://127.0.0.1:9793", quiet), ReporterError);
  CHECK_THROWS_AS(Reporter::create("", quiet), ReporterError);
  CHECK_THROWS_AS(Reporter::create("http://", quiet), ReporterError);
  CHECK_THROWS_AS(Reporter::create("http://127.0.0.1:0", quiet), ReporterError);
  CHECK_THROWS_AS(Reporter::create("statsd://127.0.0.1", quiet), ReporterError);
  CHECK_THROWS_AS(Reporter::create("statsd://127.0.0.1:99999", quiet), ReporterError);
  CHECK_THROWS_AS(Reporter::create("statsd://:8125", quiet), ReporterError);
  {
    ScopedEnv missing("AFP_INGEST_TOKEN_FILE", "/nonexistent/token");
    CHECK_THROWS_WITH(Reporter::create("http://127.0.0.1:9793", quiet),
                      Catch::Contains("AFP_INGEST_TOKEN_FILE"));
  }
  auto none = Reporter::create("none", quiet);
  none->fingerprint_generation(1);
  CHECK(none->counters().queued == 0);
  CHECK(none->counters().sent == 0);
}

TEST_CASE("reporter: every observation lands in the exporter's metrics exactly", "[reporter]") {
  test::RunningApp exporter(exporter_options());
  log::Logger quiet(log::Level::error, log::Format::logfmt, [](std::string_view) {});
  auto reporter = Reporter::create(exporter.base, quiet, fast());
  constexpr int kRounds = 250;  // 1500 observations: more than one batch
  for (int i = 0; i < kRounds; ++i)
    submit_one_of_each(*reporter, i);
  reporter->stop();
  auto counters = reporter->counters();
  CHECK(counters.sent == 6 * kRounds);
  CHECK(counters.dropped == 0);
  CHECK(counters.queued == 0);

  auto m = scrape(exporter.base);
  CHECK(value(m, "afp_fingerprint_generation_seconds_count") == kRounds);
  CHECK(value(m, "afp_fingerprint_generation_seconds_sum") == Approx(0.5 * kRounds));
  CHECK(value(m, "afp_api_request_duration_seconds_count",
              {{"endpoint", "/identify"}, {"method", "POST"}, {"status", "200"}}) == kRounds / 2);
  CHECK(value(m, "afp_api_request_duration_seconds_count", {{"status", "503"}}) == kRounds / 2);
  CHECK(value(m, "afp_db_query_duration_seconds_count", {{"operation", "lookup"}}) == kRounds);
  CHECK(value(m, "afp_identifications_total", {{"result", "match"}}) == kRounds / 2);
  CHECK(value(m, "afp_identifications_total", {{"result", "error"}}) == kRounds / 2);
  CHECK(value(m, "afp_audio_processed_seconds_total") == 5.0 * kRounds);
  CHECK(value(m, "afp_fingerprint_hashes_total") == 100 * kRounds + kRounds * (kRounds - 1) / 2);

  reporter->fingerprint_generation(1);  // after stop(): discarded, not queued
  CHECK(reporter->counters().queued == 0);
}

TEST_CASE("reporter: an exporter that is down, then up, loses nothing", "[reporter]") {
  int port = free_port();
  log::Logger quiet(log::Level::error, log::Format::logfmt, [](std::string_view) {});
  auto reporter = Reporter::create("http://127.0.0.1:" + std::to_string(port), quiet, fast());
  for (int i = 0; i < 10; ++i)
    submit_one_of_each(*reporter, i);
  REQUIRE(eventually([&] { return reporter->counters().retried >= 2; }));
  CHECK(reporter->counters().sent == 0);
  CHECK(reporter->counters().queued == 60);
  for (int i = 10; i < 20; ++i)  // more while it is away
    submit_one_of_each(*reporter, i);

  test::RunningApp exporter(exporter_options(port));
  REQUIRE(eventually([&] { return reporter->counters().sent == 120; }));
  CHECK(reporter->counters().dropped == 0);
  auto m = scrape(exporter.base);
  CHECK(value(m, "afp_fingerprint_generation_seconds_count") == 20);
  CHECK(value(m, "afp_identifications_total", {{"result", "match"}}) == 10);
  CHECK(value(m, "afp_fingerprint_hashes_total") == 100 * 20 + 19 * 20 / 2);
}

TEST_CASE("reporter: a batch the exporter refuses is dropped, later ones go through",
          "[reporter]") {
  auto options = exporter_options();
  options.ingest.max_label_value_length = 12;
  test::RunningApp exporter(options);
  log::Logger quiet(log::Level::error, log::Format::logfmt, [](std::string_view) {});
  auto reporter = Reporter::create(exporter.base, quiet, fast());
  reporter->api_request(0.1, "/an/endpoint/longer/than/twelve", "POST", 200);
  reporter->db_query(0.1, "lookup");  // in the same batch: refused with it
  REQUIRE(eventually([&] { return reporter->counters().dropped == 2; }));
  CHECK(reporter->counters().retried == 0);

  reporter->identification("no_match");
  REQUIRE(eventually([&] { return reporter->counters().sent == 1; }));
  auto m = scrape(exporter.base);
  CHECK(value(m, "afp_identifications_total", {{"result", "no_match"}}) == 1);
  CHECK(value(m, "afp_db_query_duration_seconds_count", {{"operation", "lookup"}}) == 0);
  CHECK(value(m, "afp_api_request_duration_seconds_count") == -1);  // no series at all
}

TEST_CASE("reporter: the queue keeps the newest max_queued while the exporter is away",
          "[reporter]") {
  int port = free_port();
  log::Logger quiet(log::Level::error, log::Format::logfmt, [](std::string_view) {});
  auto options = fast();
  options.max_queued = 10;
  options.batch_size = 4;
  auto reporter = Reporter::create("http://127.0.0.1:" + std::to_string(port), quiet, options);
  for (int i = 1; i <= 25; ++i)
    reporter->fingerprint_hashes(static_cast<std::uint64_t>(i));
  REQUIRE(eventually([&] { return reporter->counters().retried >= 1; }));
  CHECK(reporter->counters().dropped == 15);
  CHECK(reporter->counters().queued == 10);

  test::RunningApp exporter(exporter_options(port));
  REQUIRE(eventually([&] { return reporter->counters().sent == 10; }));
  auto m = scrape(exporter.base);
  CHECK(value(m, "afp_fingerprint_hashes_total") ==
        16 + 17 + 18 + 19 + 20 + 21 + 22 + 23 + 24 + 25);
}

TEST_CASE("reporter: the ingest token is sent as a bearer token", "[reporter]") {
  ScopedEnv token("AFP_INGEST_TOKEN", "s3cret-token");  // the exporter's and the reporter's
  test::RunningApp exporter(exporter_options());
  log::Logger quiet(log::Level::error, log::Format::logfmt, [](std::string_view) {});
  auto reporter = Reporter::create(exporter.base, quiet, fast());
  reporter->identification("match");
  reporter->stop();
  CHECK(reporter->counters().sent == 1);
  CHECK(value(scrape(exporter.base), "afp_identifications_total", {{"result", "match"}}) == 1);
}

TEST_CASE("reporter: statsd datagrams carry the README's lines", "[reporter]") {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  int port = ntohs(address.sin_port);

  log::Logger quiet(log::Level::error, log::Format::logfmt, [](std::string_view) {});
  auto reporter = Reporter::create("statsd://127.0.0.1:" + std::to_string(port), quiet, fast());
  reporter->fingerprint_generation(1.84);
  reporter->api_request(2.5, "/identify", "POST", 200);
  reporter->db_query(0.25, "lookup");
  reporter->identification("match");
  reporter->audio_processed(10);
  reporter->fingerprint_hashes(4919);
  reporter->stop();
  CHECK(reporter->counters().sent == 6);

  std::vector<std::string> lines;
  while (lines.size() < 6) {
    pollfd p{fd, POLLIN, 0};
    REQUIRE(poll(&p, 1, 30000) == 1);  // a hang guard, not a speed requirement
    char buf[2048];
    auto n = recv(fd, buf, sizeof buf, 0);
    REQUIRE(n > 0);
    std::istringstream in(std::string(buf, static_cast<std::size_t>(n)));
    for (std::string line; std::getline(in, line);)
      lines.push_back(line);
  }
  close(fd);
  CHECK(lines == std::vector<std::string>{
                     "afp.fingerprint_generation:1840|ms",
                     "afp.api_request:2500|ms|#endpoint:/identify,method:POST,status:200",
                     "afp.db_query:250|ms|#operation:lookup",
                     "afp.identification:1|c|#result:match",
                     "afp.audio_processed:10|c",
                     "afp.fingerprint_hashes:4919|c",
                 });
}
