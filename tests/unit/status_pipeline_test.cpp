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

// `status`: the pipeline checks, the exit code and the output, from synthetic scrapes.

using afp::cli::CheckRow;
using afp::cli::evaluate;
using afp::cli::exit_code;
using afp::cli::run_status;
using afp::core::Severity;
using afp::metrics::Sample;
using namespace afp::test::status;

namespace {

// A histogram whose observations sit in buckets by their upper bound: {bound, how many}.
std::vector<Sample> histogram(const std::string& name, std::vector<std::pair<double, int>> obs,
                              std::vector<std::pair<std::string, std::string>> labels = {}) {
  std::vector<Sample> out;
  double cumulative = 0;
  for (double le : {0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 7.5, 10.0, 15.0}) {
    for (const auto& [bound, n] : obs) {
      if (bound == le) cumulative += n;
    }
    auto l = labels;
    char text[16];
    std::snprintf(text, sizeof text, "%g", le);
    l.emplace_back("le", text);
    out.push_back({name + "_bucket", l, cumulative});
  }
  auto l = labels;
  l.emplace_back("le", "+Inf");
  out.push_back({name + "_bucket", l, cumulative});
  out.push_back({name + "_count", labels, cumulative});
  return out;
}

}  // namespace

TEST_CASE("status: pipeline p95s between the scrapes, summed over every series",
          "[status][pipeline]") {
  // 94 of 100 fingerprints at or under 3 s: the p95 is over 3 s, in (3, 4].
  auto fingerprint =
      histogram("afp_fingerprint_generation_seconds", {{2.0, 50}, {3.0, 44}, {4.0, 6}});
  // Two endpoints: their sum has the p95 in the (7.5, 10] bucket (Prometheus: 8.75 s).
  auto api =
      join({histogram("afp_api_request_duration_seconds", {{1.0, 90}}, {{"endpoint", "/identify"}}),
            histogram("afp_api_request_duration_seconds", {{10.0, 10}}, {{"endpoint", "/songs"}})});
  auto db = histogram("afp_db_query_duration_seconds", {}, {{"operation", "lookup"}});
  auto rows = evaluate({}, join({fingerprint, api, db, identifications(900, 95, 5)}));
  const auto* f = row(rows, "fingerprint_generation_p95");
  const auto* a = row(rows, "api_processing_p95");
  const auto* d = row(rows, "db_query_p95");
  const auto* i = row(rows, "identification_error_ratio");
  REQUIRE((f && a && d && i));
  REQUIRE((f->range && a->range));
  CHECK(f->range->lower == 3);
  CHECK(f->range->upper == 4);
  CHECK(f->state == Severity::Warning);
  CHECK(f->note.empty());
  CHECK(a->range->lower == 7.5);
  CHECK(a->range->upper == 10);
  CHECK(*a->value == Approx(8.75));      // Prometheus' number, as the alert and dashboards have it
  CHECK(a->state == Severity::Warning);  // within 10 s: not critical
  CHECK_FALSE(d->range);
  CHECK(d->state == Severity::Unknown);  // no observations yet: not a pass
  CHECK(d->note == "no observations between the scrapes (a longer --interval sees more)");
  CHECK(*i->value == 0.005);
  CHECK(i->state == Severity::Ok);
  CHECK(rows.front().threshold.name == "fingerprint_generation_p95");  // the table comes first

  SECTION("errors are judged out of all identifications") {
    auto errors = evaluate({}, identifications(90, 5, 5));
    CHECK(row(errors, "identification_error_ratio")->state == Severity::Critical);  // 5 %
    auto none = evaluate({}, identifications(0, 0, 0));
    CHECK(row(none, "identification_error_ratio")->state == Severity::Unknown);
  }
  SECTION("n/a pipeline rows when the exporter publishes no pipeline metrics") {
    auto without = evaluate({}, memory(100, 50));
    for (auto name : {"fingerprint_generation_p95", "api_processing_p95", "db_query_p95",
                      "identification_error_ratio"}) {
      const auto* r = row(without, name);
      REQUIRE(r != nullptr);
      CHECK(r->state == Severity::Unknown);
      CHECK(r->note == "no pipeline metrics in the readings");
    }
  }
}

namespace {

// A histogram given by its cumulative buckets, as an exporter with other bounds has them.
std::vector<Sample> buckets(const std::string& name,
                            std::vector<std::pair<std::string, double>> le) {
  std::vector<Sample> out;
  for (const auto& [bound, count] : le)
    out.push_back({name + "_bucket", {{"le", bound}}, count});
  out.push_back({name + "_count", {}, le.back().second});
  return out;
}

}  // namespace

TEST_CASE("status: a p95 is the bucket it falls in, not digits invented inside it",
          "[status][pipeline]") {
  // Three histograms whose observations all sit in (0.01, 0.025]: Prometheus interpolates
  // each p95 to 0.02425 s, whatever the observations were.
  afp::pipeline::Store store;
  using afp::pipeline::Kind;
  using afp::pipeline::Transport;
  std::vector<afp::pipeline::Observation> batch{
      {Kind::FingerprintGeneration, 0.011, 3, {}},
      {Kind::ApiRequest, 0.02, 7, {"/identify", "POST", "200"}},
      {Kind::DbQuery, 0.024, 1, {"lookup"}}};
  REQUIRE_FALSE(store.apply(Transport::Http, batch));
  std::string text;
  afp::metrics::TextWriter writer(text);
  store.write(writer);
  auto rows = evaluate({}, afp::metrics::parse_text(text));
  REQUIRE(rows.size() >= 3);
  rows.resize(3);

  std::ostringstream table;
  afp::cli::print_table(table, "x", rows);
  CHECK(table.str() ==
        "source: x\n"
        "CHECK                               VALUE  WARNING  CRITICAL  STATE\n"
        "fingerprint generation p95  0.010–0.025 s      3 s       5 s  OK (only 3 observations "
        "between the scrapes)\n"
        "API total processing p95    0.010–0.025 s      5 s      10 s  OK (only 7 observations "
        "between the scrapes)\n"
        "database query p95          0.010–0.025 s      1 s       3 s  OK (only 1 observation "
        "between the scrapes)\n");

  std::ostringstream json;
  afp::cli::print_json(json, "x", rows);
  auto doc = nlohmann::json::parse(json.str());
  for (const auto& check : doc["checks"]) {
    INFO(check.dump());
    CHECK(check["range"] == nlohmann::json{{"lower", 0.01}, {"upper", 0.025}});
    CHECK(check["value"] == Approx(0.02425));  // still there, for what reads it
    CHECK(check["state"] == "OK");
  }
}

TEST_CASE("status: a p95 range judged from its bounds", "[status][pipeline]") {
  // Buckets whose bounds are not the thresholds, and a p95 in the open top bucket.
  auto fingerprint = buckets("afp_fingerprint_generation_seconds",
                             {{"2", 0}, {"4", 10}, {"+Inf", 10}});  // (2, 4] vs 3 / 5 s
  auto api = buckets("afp_api_request_duration_seconds",
                     {{"6", 0}, {"12", 10}, {"+Inf", 10}});  // (6, 12] vs 5 / 10 s
  auto db = buckets("afp_db_query_duration_seconds",
                    {{"10", 0}, {"15", 0}, {"+Inf", 10}});  // over 15 s vs 1 / 3 s
  auto rows = evaluate({}, join({fingerprint, api, db}));
  const auto* f = row(rows, "fingerprint_generation_p95");
  const auto* a = row(rows, "api_processing_p95");
  const auto* d = row(rows, "db_query_p95");
  REQUIRE((f && a && d));
  CHECK(f->state == Severity::Warning);  // may be 2.5 s or 3.5 s: not a pass
  CHECK(f->note == "may reach 3 s; only 10 observations between the scrapes");
  CHECK(a->state == Severity::Warning);  // surely over 5 s, maybe over 10 s
  CHECK(a->note == "may reach 10 s; only 10 observations between the scrapes");
  CHECK(d->state == Severity::Critical);
  CHECK(d->note == "only 10 observations between the scrapes");
  CHECK(exit_code(rows) == 1);

  std::ostringstream table;
  afp::cli::print_table(table, "x", rows);
  INFO(table.str());
  CHECK(table.str().find("\ndatabase query p95          > 15 s      1 s       3 s  CRIT (only 10 "
                         "observations between the scrapes)\n") != std::string::npos);
  std::ostringstream json;
  afp::cli::print_json(json, "x", rows);
  auto doc = nlohmann::json::parse(json.str());
  CHECK(doc["checks"][2]["range"] == nlohmann::json{{"lower", 15}, {"upper", nullptr}});

  SECTION("exactly 95 % at or under a threshold: within it, yet the alert fires") {
    // 19 of 20 under 3 s: Prometheus interpolates the p95 to 3 s exactly and the alert,
    // comparing with >=, warns; the p95 is the 19th observation, which may be 3 s itself.
    auto edge = evaluate({}, buckets("afp_fingerprint_generation_seconds",
                                     {{"2", 0}, {"3", 19}, {"4", 20}, {"+Inf", 20}}));
    const auto* e = row(edge, "fingerprint_generation_p95");
    REQUIRE(e != nullptr);
    CHECK(*e->value == 3);
    CHECK(e->range->upper == 3);
    CHECK(e->state == Severity::Warning);
    CHECK(e->note == "may reach 3 s");
  }
  SECTION("all 20 at or under 3 s: within it, as Prometheus says too") {
    auto inside = evaluate({}, buckets("afp_fingerprint_generation_seconds",
                                       {{"2", 0}, {"3", 20}, {"4", 20}, {"+Inf", 20}}));
    const auto* i = row(inside, "fingerprint_generation_p95");
    REQUIRE(i != nullptr);
    CHECK(*i->value < 3);
    CHECK(i->state == Severity::Ok);
    CHECK(i->note.empty());
  }
}

// An incident that is over must not keep a p95 up, and one going on must not be diluted by
// the hours before it: status reads what happened between its two scrapes, as rate() does.
TEST_CASE("status: a p95 is what happened between the scrapes, not since the start",
          "[status][pipeline]") {
  // 100 slow fingerprints in the past (the 5-10 s bucket), then 30 fast ones.
  auto before = buckets("afp_fingerprint_generation_seconds",
                        {{"0.025", 0}, {"5", 0}, {"10", 100}, {"+Inf", 100}});
  auto after = buckets("afp_fingerprint_generation_seconds",
                       {{"0.025", 30}, {"5", 30}, {"10", 130}, {"+Inf", 130}});
  auto rows = evaluate(before, after, std::chrono::seconds(10));
  const auto* f = row(rows, "fingerprint_generation_p95");
  REQUIRE(f != nullptr);
  CHECK(f->state == Severity::Ok);
  CHECK(f->range->upper == 0.025);
  CHECK(f->note.empty());

  SECTION("nothing new between the scrapes: n/a, however slow the past") {
    auto idle = evaluate(before, before, std::chrono::seconds(10));
    CHECK(row(idle, "fingerprint_generation_p95")->note ==
          "no observations in the 10 s between the scrapes (a longer --interval sees more)");
  }
  SECTION("counts that went back: the exporter restarted, n/a") {
    auto restarted = evaluate(after, before, std::chrono::seconds(10));
    CHECK(row(restarted, "fingerprint_generation_p95")->note ==
          "counts went back between the scrapes: the exporter restarted");
  }
  SECTION("identification errors between the scrapes too") {
    auto errors = evaluate(identifications(900, 0, 100), identifications(1000, 0, 100),
                           std::chrono::seconds(10));
    CHECK(*row(errors, "identification_error_ratio")->value == 0);
  }
}

TEST_CASE("status: a fresh exporter shows every pipeline p95 row as n/a", "[status][pipeline]") {
  // What a just-started exporter publishes: API requests are labelled by endpoint, so that
  // histogram has no series at all until the first request is pushed.
  afp::pipeline::Store store;
  std::string text;
  afp::metrics::TextWriter writer(text);
  store.write(writer);
  auto rows = evaluate({}, afp::metrics::parse_text(text));
  for (auto name : {"fingerprint_generation_p95", "api_processing_p95", "db_query_p95"}) {
    INFO(name);
    const auto* r = row(rows, name);
    REQUIRE(r != nullptr);
    CHECK(r->state == Severity::Unknown);
    CHECK_FALSE(r->value.has_value());
    CHECK(r->note == "no observations between the scrapes (a longer --interval sees more)");
  }
  CHECK(rows[1].threshold.name == "api_processing_p95");  // in the requirement table's order
}

TEST_CASE("status: exit code", "[status]") {
  auto make = [](std::initializer_list<Severity> states) {
    std::vector<CheckRow> rows;
    for (auto s : states)
      rows.push_back(CheckRow{afp::core::kCpuBusy, "", 0.5, s, "", std::nullopt});
    return rows;
  };
  using S = Severity;
  CHECK(exit_code(make({S::Ok, S::Ok})) == 0);
  CHECK(exit_code(make({S::Ok, S::Unknown})) == 0);
  CHECK(exit_code(make({S::Ok, S::Warning})) == 1);
  CHECK(exit_code(make({S::Critical, S::Unknown})) == 1);
  CHECK(exit_code(make({S::Unknown, S::Warning})) == 1);
  CHECK(exit_code(make({S::Unknown, S::Unknown})) == 2);  // nothing judged
  CHECK(exit_code({}) == 2);
}

TEST_CASE("status: table and JSON output", "[status]") {
  auto [before, after] = cpu_scrapes(12);
  auto b = join({before, memory(1000, 500)});
  auto a =
      join({after, memory(1000, 500), filesystem("/", 1000, 100), filesystem("/ro", 1000, 900, 1)});
  auto rows = only(evaluate(b, a), {"cpu_busy", "memory_used", "disk_used"});

  std::ostringstream table;
  afp::cli::print_table(table, "local", rows);
  CHECK(table.str() ==
        "source: local\n"
        "CHECK          VALUE  WARNING  CRITICAL  STATE\n"
        "CPU busy       12.0%      70%       90%  OK\n"
        "memory used    50.0%      80%       95%  OK\n"
        "disk used /    90.0%      85%       95%  WARN\n"
        "disk used /ro  10.0%      85%       95%  n/a (read-only, not judged)\n");

  std::ostringstream json;
  afp::cli::print_json(json, "http://x/metrics", rows);
  auto doc = nlohmann::json::parse(json.str());
  CHECK(doc["source"] == "http://x/metrics");
  REQUIRE(doc["checks"].size() == 4);
  CHECK(doc["checks"][0] == nlohmann::json{{"name", "cpu_busy"},
                                           {"value", 0.12},
                                           {"unit", "ratio"},
                                           {"warning", 0.7},
                                           {"critical", 0.9},
                                           {"state", "OK"}});
  CHECK(doc["checks"][2]["target"] == "/");
  CHECK(doc["checks"][2]["state"] == "WARN");
  CHECK(doc["checks"][3]["note"] == "read-only, not judged");

  auto unknown = evaluate({}, {});
  std::ostringstream empty;
  afp::cli::print_json(empty, "local", unknown);
  CHECK(nlohmann::json::parse(empty.str())["checks"][0]["value"].is_null());
}
