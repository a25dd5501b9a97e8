#pragma once

// The lint of the shipped Grafana dashboards (grafana/dashboards/*.json) and provisioning files
// (grafana/provisioning/). Grafana itself cannot run here, so this test holds the
// dashboards to the rules of Grafana's dashboard-linter that apply to them and to the
// conventions of the issue that introduced them:
//
//   - a stable uid equal to the file name (the alert rules link to /d/<uid>), id null, a
//     schemaVersion Grafana 10 and later import, no __inputs/__requires/${DS_...}
//     placeholders (they break provisioning);
//   - a "datasource" variable of type datasource, "job" and "instance" query variables
//     (multi-select, All = ".+", refreshed on time-range change, from ${datasource});
//   - every panel: a title, a description, the templated data source, targets, a valid
//     unit, min/max where they mean something, a position on the 24-column grid that
//     overlaps no other panel and reads well on a narrow screen, under a row;
//   - every query: each selector filtered by job=~"$job" and instance=~"$instance",
//     rate()/irate() over $__rate_interval, counters only inside rate/irate/increase, only
//     known functions, and only metric names of the metric contract (docs/metrics.md), of a
//     recording rule in rules/*.yml, or of Prometheus itself;
//   - every threshold step that stands for a requirement equals exporter/src/core/
//     thresholds.h (docs/requirements.md's table), and every coloured panel is one of those;
//   - a "cluster" variable, an annotation of firing afp alerts, no mention of documents
//     outside the repository; `editable` as the provisioning's allowUiUpdates;
//   - links between the four dashboards, and the alert rules' dashboard_url links, resolve.
//
// This header declares what the tests of tests/unit/dashboards_test.cpp use;
// dashboards_lint.cpp holds the lint itself.

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/thresholds.h"
#include "promql_scan.h"

namespace afp::test::dashboards {

using json = nlohmann::json;

inline const std::filesystem::path kRepo = AFP_SOURCE_DIR;
inline const std::filesystem::path kDashboards = kRepo / "grafana" / "dashboards";
inline const std::vector<std::string> kUids{"afp-overview", "afp-system", "afp-database",
                                            "afp-exporter"};

std::string slurp(const std::filesystem::path& p);

struct Dashboard {
  std::string file;
  std::string text;
  json doc;
};

// Every shipped dashboard, sorted by file name; throws on broken JSON.
std::vector<Dashboard> load_dashboards();
// Every panel, rows included, and the panels kept inside collapsed rows.
std::vector<json> all_panels(const json& d);
// The names of the recording rules of rules/*.yml.
std::set<std::string> recording_rules();

// ---- thresholds ------------------------------------------------------------------------

struct Step {
  std::string color;
  std::optional<double> value;
  bool operator==(const Step& o) const {
    if (color != o.color || value.has_value() != o.value.has_value()) return false;
    return !value || std::fabs(*value - *o.value) < 1e-9;
  }
};

// A requirement as Grafana threshold steps (colour from the value up): green, orange at the
// warning, red at the critical level; reversed for lower-is-worse readings. `complement`:
// the panel shows 1 - the ratio (a success ratio for an error-ratio requirement).
std::vector<Step> expected_steps(const afp::core::Threshold& t, bool complement = false);

// An up/down flag (probe, collector success, scrape up) and "at least one" (index scans):
// red below 1, green from 1.
inline const std::vector<Step> kFlagSteps{{"red", {}}, {"green", 1.0}};

// The steps of a Grafana "thresholds" object.
std::vector<Step> steps_of(const json& thresholds);

struct Marker {
  std::string what;
  const afp::core::Threshold* threshold;  // nullptr: a flag
  // Matches when some selector name contains every one of these.
  std::vector<std::string> all_of;
};

// Which threshold a query's value stands for, recognised by the series it reads; nullptr
// when none.
const Marker* marker_of(const afp::test::PromScan& scan);

// ---- the lint ---------------------------------------------------------------------------

struct Lint {
  std::vector<std::string> problems;
  std::set<std::string> thresholds_seen;  // Threshold::name of every checked requirement
  std::set<std::string> rules = recording_rules();

  void fail(const std::string& where, const std::string& what) {
    problems.push_back(where + ": " + what);
  }

  void dashboard(const Dashboard& d);
  void variables(const std::string& where, const json& d);
  void panel(const std::string& uid, const json& p);
  void query(const std::string& where, const std::string& uid, const std::string& panel,
             const std::string& ref, const std::string& expr);
  void thresholds(const std::string& where, const json& p);
  void layout(const std::string& where, const std::vector<json>& panels);
};

}  // namespace afp::test::dashboards
