#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <initializer_list>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/status.h"
#include "core/thresholds.h"
#include "golden.h"
#include "http/server.h"
#include "metrics/text_parser.h"
#include "metrics/text_writer.h"
#include "pipeline/store.h"
#include "status_samples.h"

// `status` on the command line: flags, --help, local collection and a stand-in exporter.

using afp::cli::CheckRow;
using afp::cli::evaluate;
using afp::cli::exit_code;
using afp::cli::run_status;
using afp::core::Severity;
using afp::metrics::Sample;
using namespace afp::test::status;

TEST_CASE("status: bad flags exit 2 with one line", "[status][cli]") {
  auto args = GENERATE(
      as<std::vector<std::string>>{}, std::vector<std::string>{"--bogus"},
      std::vector<std::string>{"--interval", "soon"}, std::vector<std::string>{"--interval=1.5s"},
      std::vector<std::string>{"--timeout", "0s"}, std::vector<std::string>{"--url"},
      std::vector<std::string>{"--url="}, std::vector<std::string>{"--json=yes"},
      std::vector<std::string>{"extra"}, std::vector<std::string>{"--url", "127.0.0.1:9793"},
      std::vector<std::string>{"--url", "http://127.0.0.1:9793/\r\nX: y"},
      std::vector<std::string>{"--tls.ca-file"},
      std::vector<std::string>{"--pg.cache-settle", "-1m"},
      std::vector<std::string>{"--pg.cache-settle=15"});
  std::ostringstream out, err;
  CHECK(run_status(args, out, err) == 2);
  CHECK(out.str().empty());
  INFO(err.str());
  std::string message = err.str();
  CHECK(message.rfind("status: ", 0) == 0);
  CHECK(std::count(message.begin(), message.end(), '\n') == 1);
}

TEST_CASE("status: --help", "[status][cli]") {
  std::ostringstream out, err;
  CHECK(run_status({"--help"}, out, err) == 0);
  CHECK(out.str().find("usage: afp_exporter status") != std::string::npos);
  CHECK(err.str().empty());
}

TEST_CASE("status: collects locally when nothing listens and no --url was given", "[status][cli]") {
  auto settings = afp::test::fixture_settings();
  std::ostringstream out, err;
  // Port 1 (tcpmux) has no listener here: it stands in for the default address.
  const std::string nothing_there = "http://127.0.0.1:1/metrics";
  int rc =
      run_status({"--interval", "10ms", "--timeout", "2s", "--path.procfs", settings.procfs,
                  "--path.sysfs", settings.sysfs, "--path.rootfs=" + settings.rootfs, "--json"},
                 out, err, nothing_there);
  INFO("err: " << err.str());
  INFO("out: " << out.str());
  CHECK(err.str().rfind("status: no exporter at " + nothing_there +
                            " (connection refused); collecting locally\n",
                        0) == 0);

  auto doc = nlohmann::json::parse(out.str());
  CHECK(doc["source"] == "local");
  const auto& checks = doc["checks"];
  // The fixture does not change between the two reads: no CPU time passes.
  CHECK(check_named(doc, "cpu_busy")["state"] == "n/a");
  CHECK(check_named(doc, "memory_used")["state"] == "OK");
  // Whatever the other collectors found, the exit code follows the rows.
  bool any_bad = false, any_ok = false;
  for (const auto& c : checks) {
    any_bad = any_bad || c["state"] == "WARN" || c["state"] == "CRIT";
    any_ok = any_ok || c["state"] == "OK";
  }
  CHECK(rc == (any_bad ? 1 : any_ok ? 0 : 2));
}

namespace {

// A stand-in exporter: answers /metrics with the bodies given to serve() in turn (the
// last one repeated) and the given status. One per process, never stopped.
class FakeExporter {
 public:
  static FakeExporter& instance() {
    static auto* exporter = new FakeExporter;  // deliberately leaked: lives as long as the tests
    return *exporter;
  }

  // Starts a new script; resets the request log.
  void serve(std::vector<std::string> bodies, int status = 200) {
    std::lock_guard lock(mutex_);
    bodies_ = std::move(bodies);
    status_ = status;
    accept_encodings_.clear();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/metrics"; }
  int hits() const {
    std::lock_guard lock(mutex_);
    return static_cast<int>(accept_encodings_.size());
  }
  std::vector<std::string> accept_encodings() const {
    std::lock_guard lock(mutex_);
    return accept_encodings_;
  }

 private:
  FakeExporter() : server_(afp::http::ServerOptions{{"127.0.0.1:0"}, 2}, log_) {
    server_.route(
        "/metrics", {"GET"},
        [this](const afp::http::Request& req, afp::http::Response& res) { handle(req, res); });
    server_.start();
    port_ = server_.ports().at(0);
    REQUIRE(port_ > 0);
  }

  void handle(const afp::http::Request& req, afp::http::Response& res) {
    std::lock_guard lock(mutex_);
    auto i = accept_encodings_.size();
    accept_encodings_.emplace_back(req.header("Accept-Encoding"));
    res.body = bodies_.empty() ? "" : bodies_[std::min(i, bodies_.size() - 1)];
    res.status = status_;
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
  }

  afp::log::Logger log_{afp::log::Level::error};
  afp::http::Server server_;
  int port_ = 0;
  mutable std::mutex mutex_;
  std::vector<std::string> bodies_;
  int status_ = 200;
  std::vector<std::string> accept_encodings_;
};

constexpr const char* kScrape1 =
    R"(# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.
# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 100
node_cpu_seconds_total{cpu="0",mode="iowait"} 10
node_cpu_seconds_total{cpu="0",mode="user"} 50
node_cpu_seconds_total{cpu="0",mode="system"} 20
node_cpu_seconds_total{cpu="1",mode="idle"} 100
node_cpu_seconds_total{cpu="1",mode="steal"} 0
node_cpu_seconds_total{cpu="1",mode="user"} 50
# HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes.
# TYPE node_memory_MemTotal_bytes gauge
node_memory_MemTotal_bytes 1000
node_memory_MemAvailable_bytes 600
)";

// +30 s idle/iowait/steal out of +100 s: 70 % busy, exactly the warning threshold.
constexpr const char* kScrape2 = R"(# TYPE node_cpu_seconds_total counter
node_cpu_seconds_total{cpu="0",mode="idle"} 110
node_cpu_seconds_total{cpu="0",mode="iowait"} 15
node_cpu_seconds_total{cpu="0",mode="user"} 80
node_cpu_seconds_total{cpu="0",mode="system"} 30
node_cpu_seconds_total{cpu="1",mode="idle"} 110
node_cpu_seconds_total{cpu="1",mode="steal"} 5
node_cpu_seconds_total{cpu="1",mode="user"} 80
node_memory_MemTotal_bytes 1000
node_memory_MemAvailable_bytes 500
node_filesystem_size_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 1000
node_filesystem_avail_bytes{device="/dev/sda1",fstype="ext4",mountpoint="/"} 400
node_filesystem_readonly{device="/dev/sda1",fstype="ext4",mountpoint="/"} 0
node_filesystem_device_error{device="/dev/sda1",fstype="ext4",mountpoint="/"} 0
node_filesystem_size_bytes{device="/dev/sdb1",fstype="xfs",mountpoint="/data"} 1000
node_filesystem_avail_bytes{device="/dev/sdb1",fstype="xfs",mountpoint="/data"} 20
node_filesystem_readonly{device="/dev/sdb1",fstype="xfs",mountpoint="/data"} 0
node_filesystem_device_error{device="/dev/sdb1",fstype="xfs",mountpoint="/data"} 0
node_filesystem_device_error{device="server:/x",fstype="nfs",mountpoint="/mnt/gone"} 1
node_filesystem_size_bytes{device="/dev/sr0",fstype="udf",mountpoint="/media/cd"} 1000
node_filesystem_avail_bytes{device="/dev/sr0",fstype="udf",mountpoint="/media/cd"} 0
node_filesystem_readonly{device="/dev/sr0",fstype="udf",mountpoint="/media/cd"} 1
node_filesystem_device_error{device="/dev/sr0",fstype="udf",mountpoint="/media/cd"} 0
)";

}  // namespace

TEST_CASE("status: reads a running exporter twice", "[status][cli]") {
  auto& exporter = FakeExporter::instance();
  exporter.serve({kScrape1, kScrape2});
  std::ostringstream out, err;
  int rc = run_status({"--url", exporter.url(), "--interval", "20ms"}, out, err);
  INFO("out: " << out.str());
  INFO("err: " << err.str());
  CHECK(err.str().empty());
  CHECK(exporter.hits() == 2);
  CHECK(exporter.accept_encodings() == std::vector<std::string>{"identity", "identity"});
  CHECK(rc == 1);
  CHECK(out.str() ==
        "source: " + exporter.url() +
            "\n"
            "CHECK                        VALUE  WARNING  CRITICAL  STATE\n"
            "fingerprint generation p95       -      3 s       5 s  n/a (no pipeline metrics in "
            "the readings)\n"
            "API total processing p95         -      5 s      10 s  n/a (no pipeline metrics in "
            "the readings)\n"
            "database query p95               -      1 s       3 s  n/a (no pipeline metrics in "
            "the readings)\n"
            "identification errors            -       1%        5%  n/a (no pipeline metrics in "
            "the readings)\n"
            "CPU busy                     70.0%      70%       90%  WARN\n"
            "memory used                  50.0%      80%       95%  OK\n"
            "disk used /                  60.0%      85%       95%  OK\n"
            "disk used /data              98.0%      85%       95%  CRIT\n"
            "disk used /media/cd         100.0%      85%       95%  n/a (read-only, not judged)\n"
            "PostgreSQL up                    -        -      down  n/a (no pg_up in the readings: "
            "no PostgreSQL DSN)\n"
            "slowest statement mean           -      1 s       3 s  n/a (no pg_up in the readings: "
            "no PostgreSQL DSN)\n"
            "cache hit ratio                  -     <99%      <90%  n/a (no pg_up in the readings: "
            "no PostgreSQL DSN)\n"
            "dead-row ratio                   -      10%       30%  n/a (no pg_up in the readings: "
            "no PostgreSQL DSN)\n");
}

TEST_CASE("status: all OK exits 0 (JSON output)", "[status][cli]") {
  auto [before, after] = cpu_scrapes(25);
  auto text = [](const std::vector<Sample>& samples) {
    std::string t;
    for (const auto& s : samples) {
      t += s.name + "{cpu=\"" + s.labels[0].second + "\",mode=\"" + s.labels[1].second + "\"} " +
           std::to_string(s.value) + "\n";
    }
    return t + "node_memory_MemTotal_bytes 4096\nnode_memory_MemAvailable_bytes 2048\n";
  };
  auto& exporter = FakeExporter::instance();
  exporter.serve({text(before), text(after)});
  std::ostringstream out, err;
  int rc = run_status({"--url=" + exporter.url(), "--interval=10ms", "--json"}, out, err);
  INFO("out: " << out.str());
  CHECK(err.str().empty());
  CHECK(rc == 0);
  auto doc = nlohmann::json::parse(out.str());
  CHECK(doc["source"] == exporter.url());
  CHECK(check_named(doc, "cpu_busy")["value"] == 0.25);
  CHECK(check_named(doc, "memory_used")["value"] == 0.5);
}

TEST_CASE("status: an explicit --url where nothing listens is an error, not a local read",
          "[status][cli]") {
  std::ostringstream out, err;
  int rc = run_status({"--url", "http://127.0.0.1:1/metrics", "--interval", "10ms"}, out, err);
  CHECK(rc == 2);
  CHECK(out.str().empty());
  CHECK(err.str() ==
        "status: nothing listens at http://127.0.0.1:1/metrics (connection refused): start the "
        "exporter, or correct --url\n");
}

TEST_CASE("status: an answer other than 200 is an error naming it", "[status][cli]") {
  auto& exporter = FakeExporter::instance();
  exporter.serve({"oops"}, 500);
  std::ostringstream out, err;
  int rc = run_status({"--url", exporter.url(), "--interval", "10ms"}, out, err);
  CHECK(rc == 2);
  CHECK(out.str().empty());
  CHECK(err.str() == "status: " + exporter.url() + " answered 500 Internal Server Error\n");
  CHECK(exporter.hits() == 1);
}

TEST_CASE("status: a 403 is an error naming the flags to check, with no local fallback",
          "[status][cli]") {
  auto& exporter = FakeExporter::instance();
  exporter.serve({"forbidden"}, 403);
  std::ostringstream out, err;
  int rc = run_status({"--url", exporter.url(), "--interval", "10ms"}, out, err);
  CHECK(rc == 2);
  CHECK(out.str().empty());
  CHECK(err.str() == "status: " + exporter.url() +
                         " answered 403 Forbidden: it accepts no request for this path from this "
                         "client; check --url and --basic-auth.username\n");
  CHECK(exporter.hits() == 1);
}

TEST_CASE("status: a 200 answer that is not an exposition is an error", "[status][cli]") {
  auto& exporter = FakeExporter::instance();
  exporter.serve({"<html>hello</html>\n"});
  std::ostringstream out, err;
  int rc = run_status({"--url", exporter.url(), "--interval", "10ms"}, out, err);
  CHECK(rc == 2);
  CHECK(out.str().empty());
  CHECK(err.str().rfind("status: " + exporter.url() +
                            " answered 200, but not with a Prometheus exposition: line 1: ",
                        0) == 0);
  CHECK(err.str().find("collecting locally") == std::string::npos);
}

TEST_CASE("status: the cache hit rate spans the time between the two requests", "[status][cli]") {
  auto scrape = [](double afp_hits, double postgres_hits) {
    return "pg_up 1\n"
           "pg_stat_database_blks_hit{datid=\"1\",datname=\"afp\"} " +
           std::to_string(afp_hits) +
           "\n"
           "pg_stat_database_blks_read{datid=\"1\",datname=\"afp\"} 500000\n"
           "pg_stat_database_blks_hit{datid=\"5\",datname=\"postgres\"} " +
           std::to_string(postgres_hits) +
           "\n"
           "pg_stat_database_blks_read{datid=\"5\",datname=\"postgres\"} 900\n";
  };
  auto& exporter = FakeExporter::instance();
  // afp: a million hits and no reads between the requests; postgres: 40 hits, under 50/s
  // over a second or more.
  exporter.serve({scrape(1e6, 100), scrape(2e6, 140)});
  std::ostringstream out, err;
  int rc = run_status({"--url", exporter.url(), "--interval", "1s", "--json"}, out, err);
  INFO("out: " << out.str());
  CHECK(err.str().empty());
  CHECK(rc == 0);
  std::map<std::string, nlohmann::json> cache;
  auto doc = nlohmann::json::parse(out.str());
  for (const auto& c : doc["checks"]) {
    if (c["name"] == "pg_cache_hit_ratio") cache[c["target"]] = c;
  }
  REQUIRE(cache.size() == 2);
  CHECK(cache["afp"]["value"] == 1.0);
  CHECK(cache["afp"]["state"] == "OK");
  CHECK(cache["postgres"]["state"] == "OK");
  CHECK(cache["postgres"]["value"].is_null());
  std::string note = cache["postgres"]["note"];
  CHECK(note.rfind("idle: ", 0) == 0);
  // The window is the time the two requests were apart: a second, or a little more on a
  // busy machine.
  CHECK(std::regex_search(note, std::regex(R"( blocks/s over 1(\.\d+)? s, under 50/s$)")));
}

// The checks a report always has, in its order, whatever the exporter publishes: a row per
// check at least (per filesystem, database or table when there are some), so a script
// reading `status --json` finds every check in every state.
TEST_CASE("status: every check has a row, in the same order, in every state", "[status]") {
  const std::vector<std::string_view> order{"fingerprint_generation_p95",
                                            "api_processing_p95",
                                            "db_query_p95",
                                            "identification_error_ratio",
                                            "cpu_busy",
                                            "memory_used",
                                            "disk_used",
                                            "pg_up",
                                            "pg_statement_mean_time",
                                            "pg_cache_hit_ratio",
                                            "pg_dead_row_ratio"};
  auto names_of = [](const std::vector<CheckRow>& rows) {
    std::vector<std::string_view> names;
    for (const auto& r : rows) {
      if (names.empty() || names.back() != r.threshold.name) names.push_back(r.threshold.name);
    }
    return names;
  };
  SECTION("nothing published at all: every row n/a") {
    auto rows = evaluate({}, {});
    CHECK(names_of(rows) == order);
    for (const auto& r : rows) {
      CHECK(r.state == Severity::Unknown);
      CHECK_FALSE(r.note.empty());
    }
    CHECK(exit_code(rows) == 2);
  }
  SECTION("PostgreSQL down") {
    CHECK(names_of(evaluate({}, join({memory(100, 50), pg_up(0)}))) == order);
  }
  SECTION("PostgreSQL up without any series of its views") {
    auto rows = evaluate({}, join({pg_up(1), identifications(0, 0, 0)}));
    CHECK(names_of(rows) == order);
    CHECK(row(rows, "pg_cache_hit_ratio")->note == "no pg_stat_database series");
    CHECK(row(rows, "pg_dead_row_ratio")->note == "no table fingerprints in pg_stat_user_tables");
    CHECK(row(rows, "disk_used")->note == "no filesystem reported");
    CHECK(row(rows, "identification_error_ratio")->note ==
          "no identifications between the scrapes");
  }
}
