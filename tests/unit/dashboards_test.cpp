// The tests of the dashboard lint (dashboards_lint.h, which lists its rules) and of the
// links and provisioning files around the shipped dashboards.
//
// tests/e2e/dashboards_live.sh runs every query against a live Prometheus.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "core/thresholds.h"
#include "dashboards_lint.h"
#include "promql_scan.h"

namespace fs = std::filesystem;
using afp::core::Threshold;
using afp::test::PromScan;
using afp::test::scan_promql;
using namespace afp::test::dashboards;

TEST_CASE("dashboards: the PromQL scanner of the lint finds what it must", "[dashboards]") {
  SECTION("selectors, matchers, ranges and the function around them") {
    PromScan s = scan_promql(
        R"(sum by (instance, job, le) (rate(a_bucket{job=~"$job", instance=~"$instance"}[$__rate_interval])) )"
        R"(/ on (instance) group_left (x) b:rec:ratio{le="1"} or vector(0))");
    CHECK(s.errors.empty());
    REQUIRE(s.selectors.size() == 2);
    CHECK(s.selectors[0].name == "a_bucket");
    CHECK(s.selectors[0].call == "rate");
    CHECK(s.selectors[0].range == "$__rate_interval");
    REQUIRE(s.selectors[0].matchers.size() == 2);
    CHECK(s.selectors[0].matchers[1].label == "instance");
    CHECK(s.selectors[0].matchers[1].op == "=~");
    CHECK(s.selectors[0].matchers[1].value == "$instance");
    CHECK(s.selectors[1].name == "b:rec:ratio");
    CHECK(s.selectors[1].call.empty());
    CHECK_FALSE(s.selectors[1].range);
    CHECK(s.calls == std::vector<std::string>{"sum", "rate", "vector"});
  }
  SECTION("postfix by, offsets, numbers, subqueries") {
    PromScan s =
        scan_promql(R"(sum(increase(x_total[6h] offset 1d)) by (job) > 1e-9 * 24 * 3600 and )"
                    R"(max_over_time((y - 1)[1h:5m]) and -deriv(z[6h]) > 0)");
    CHECK(s.errors.empty());
    REQUIRE(s.selectors.size() == 3);
    CHECK(s.selectors[0].call == "increase");
    CHECK(s.selectors[0].range == "6h");
    CHECK(s.selectors[1].name == "y");
    CHECK(s.selectors[1].call.empty());
    CHECK(s.selectors[2].call == "deriv");
  }
  SECTION("mistakes") {
    CHECK_FALSE(scan_promql("rate(x[5m]").errors.empty());
    CHECK_FALSE(scan_promql("rat(x[5m])").errors.empty());
    CHECK_FALSE(scan_promql(R"(x{job=~"$job")").errors.empty());
    CHECK_FALSE(scan_promql(R"(x{job=~$job})").errors.empty());
    CHECK_FALSE(scan_promql("x[5m]]").errors.empty());
  }
}

TEST_CASE("dashboards: thresholds.h as Grafana threshold steps", "[dashboards]") {
  using namespace afp::core;
  CHECK(expected_steps(kFingerprintGenerationP95) ==
        std::vector<Step>{{"green", {}}, {"orange", 3.0}, {"red", 5.0}});
  CHECK(expected_steps(kCacheHitRatio) ==
        std::vector<Step>{{"red", {}}, {"orange", 0.90}, {"green", 0.99}});
  CHECK(expected_steps(kPgUp) == kFlagSteps);
  CHECK(expected_steps(kIdentificationErrorRatio, true) ==
        std::vector<Step>{{"red", {}}, {"orange", 0.95}, {"green", 0.99}});
  // Grafana colours a value at a step's value with that step: the same as level_of.
  for (const auto* t : {&kCpuBusy, &kCacheHitRatio, &kDeadRowRatio}) {
    for (double v : {t->warning, t->critical, (t->warning + t->critical) / 2}) {
      std::string colour;
      for (const auto& s : expected_steps(*t)) {
        if (!s.value || v >= *s.value) colour = s.color;
      }
      Severity l = level_of(*t, v);
      CHECK(colour == (l == Severity::Ok ? "green" : l == Severity::Warning ? "orange" : "red"));
    }
  }
}

TEST_CASE("dashboards: every shipped dashboard passes the lint", "[dashboards]") {
  std::vector<Dashboard> dashboards = load_dashboards();
  std::vector<std::string> uids;
  for (const auto& d : dashboards)
    uids.push_back(d.doc.value("uid", ""));
  std::vector<std::string> expected = kUids;
  std::sort(uids.begin(), uids.end());
  std::sort(expected.begin(), expected.end());
  REQUIRE(uids == expected);

  Lint lint;
  REQUIRE_FALSE(lint.rules.empty());
  std::set<std::string> titles;
  for (const auto& d : dashboards) {
    lint.dashboard(d);
    if (!titles.insert(d.doc.value("title", "")).second) {
      lint.fail(d.file, "title used by another dashboard");
    }
  }
  for (const auto& p : lint.problems)
    FAIL_CHECK(p);
  CHECK(lint.problems.empty());

  SECTION("every requirement of thresholds.h is shown, coloured by its levels") {
    std::vector<const Threshold*> all;
    for (const auto& t : afp::core::kThresholds)
      all.push_back(&t);
    for (const auto& t : afp::core::kDatabaseThresholds)
      all.push_back(&t);
    all.push_back(&afp::core::kIdentificationErrorRatio);
    for (const auto* t : all) {
      INFO(t->name);
      CHECK(lint.thresholds_seen.count(std::string(t->name)));
    }
  }
}

TEST_CASE("dashboards: the overview shows the three pipeline requirements as stats",
          "[dashboards]") {
  json overview = json::parse(slurp(kDashboards / "afp-overview.json"));
  using namespace afp::core;
  for (const auto* t : {&kFingerprintGenerationP95, &kApiProcessingP95, &kDbQueryP95}) {
    INFO(t->what);
    bool found = false;
    for (const auto& p : all_panels(overview)) {
      if (p.value("type", "") != "stat" || p.value("targets", json::array()).size() != 1) continue;
      const Marker* m = marker_of(scan_promql(p["targets"][0].value("expr", "")));
      if (m && m->threshold == t &&
          steps_of(p.value("fieldConfig", json::object())
                       .value("defaults", json::object())
                       .value("thresholds", json::object())) == expected_steps(*t)) {
        found = true;
      }
    }
    CHECK(found);
  }
}

TEST_CASE("dashboards: links from dashboards and alert rules resolve", "[dashboards]") {
  std::set<std::string> uids(kUids.begin(), kUids.end());
  std::map<std::string, std::set<std::string>> variables;  // uid -> variable names
  std::vector<std::string> problems;
  const std::regex dashboard_url(R"(/d/([A-Za-z0-9_-]+)(\?(.*))?)");
  for (const auto& d : load_dashboards()) {
    for (const auto& v : d.doc["templating"]["list"]) {
      variables[d.doc.value("uid", "")].insert(v.value("name", ""));
    }
    // Every "url" anywhere in the dashboard (dashboard, panel and data links).
    std::vector<const json*> todo{&d.doc};
    while (!todo.empty()) {
      const json* j = todo.back();
      todo.pop_back();
      if (j->is_object() && j->contains("url") && (*j)["url"].is_string()) {
        std::string url = (*j)["url"].get<std::string>();
        std::smatch m;
        if (std::regex_search(url, m, dashboard_url) && !uids.count(m[1])) {
          problems.push_back(d.file + ": link to unknown dashboard " + url);
        }
      }
      if (j->is_structured()) {
        for (const auto& c : *j)
          todo.push_back(&c);
      }
    }
  }
  for (const auto& e : fs::directory_iterator(kRepo / "rules")) {
    if (e.path().extension() != ".yml") continue;
    YAML::Node doc = YAML::LoadFile(e.path().string());
    for (const auto& g : doc["groups"]) {
      for (const auto& r : g["rules"]) {
        if (!r["alert"] || !r["annotations"] || !r["annotations"]["dashboard_url"]) continue;
        std::string url = r["annotations"]["dashboard_url"].as<std::string>();
        std::smatch m;
        std::string where = e.path().filename().string() + " " + r["alert"].as<std::string>();
        if (!std::regex_search(url, m, dashboard_url) || !uids.count(m[1])) {
          problems.push_back(where + ": dashboard link " + url + " names no shipped dashboard");
          continue;
        }
        // var-NAME=... parameters must name variables of that dashboard.
        std::string query = m[3];
        const std::regex param(R"(var-([A-Za-z0-9_]+)=)");
        for (std::sregex_iterator it(query.begin(), query.end(), param), end; it != end; ++it) {
          if (!variables[m[1]].count((*it)[1])) {
            problems.push_back(where + ": " + url + " sets unknown variable " + (*it)[1].str());
          }
        }
      }
    }
  }
  for (const auto& p : problems)
    FAIL_CHECK(p);
  CHECK(problems.empty());
}

TEST_CASE("dashboards: provisioning files load the dashboards into their folder", "[dashboards]") {
  const fs::path prov = kRepo / "grafana" / "provisioning";
  YAML::Node ds = YAML::LoadFile((prov / "datasources" / "prometheus.yml").string());
  CHECK(ds["apiVersion"].as<int>() == 1);
  REQUIRE(ds["datasources"].IsSequence());
  REQUIRE(ds["datasources"].size() == 1);
  const YAML::Node& prom = ds["datasources"][0];
  CHECK(prom["type"].as<std::string>() == "prometheus");
  CHECK(prom["access"].as<std::string>() == "proxy");
  CHECK_FALSE(prom["url"].as<std::string>().empty());
  // Not Grafana's default data source: a Grafana shared with other teams keeps theirs, and
  // the dashboards' datasource variable starts at this one by name.
  CHECK_FALSE(prom["isDefault"].as<bool>());
  for (const auto& d : load_dashboards()) {
    INFO(d.file);
    for (const auto& v : d.doc["templating"]["list"]) {
      if (v.value("name", "") == "datasource") {
        CHECK(v["current"].value("value", "") == prom["name"].as<std::string>());
      }
    }
  }

  YAML::Node dash = YAML::LoadFile((prov / "dashboards" / "afp.yml").string());
  CHECK(dash["apiVersion"].as<int>() == 1);
  REQUIRE(dash["providers"].IsSequence());
  REQUIRE(dash["providers"].size() == 1);
  const YAML::Node& p = dash["providers"][0];
  CHECK(p["type"].as<std::string>() == "file");
  CHECK(p["folder"].as<std::string>() == "Audio Fingerprinting");
  CHECK_FALSE(p["options"]["path"].as<std::string>().empty());
  // Edits in the UI cannot be saved back to provisioned files: the dashboards say so.
  for (const auto& d : load_dashboards()) {
    INFO(d.file);
    CHECK(d.doc.value("editable", true) == p["allowUiUpdates"].as<bool>());
  }
}