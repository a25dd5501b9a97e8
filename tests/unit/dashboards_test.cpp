// Lint of the shipped Grafana dashboards (grafana/dashboards/*.json) and provisioning files
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
// tests/e2e/dashboards_live.sh runs every query against a live Prometheus.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/thresholds.h"
#include "promql_scan.h"

namespace fs = std::filesystem;
using afp::core::Direction;
using afp::core::Threshold;
using afp::test::PromScan;
using afp::test::scan_promql;
using nlohmann::json;

namespace {

const fs::path kRepo = AFP_SOURCE_DIR;
const fs::path kDashboards = kRepo / "grafana" / "dashboards";
const std::vector<std::string> kUids{"afp-overview", "afp-system", "afp-database", "afp-exporter"};

// The metric contract the dashboards may rely on (a subset of docs/metrics.md), written out:
// README's tables abbreviate names ({a,b}, `_files`) and document more than the contract.
// Dashboards may use these, the recording rules of rules/*.yml (read below, so new rules need no
// change here), and Prometheus's own series.
const std::set<std::string> kContract{
    // System
    "node_cpu_seconds_total", "node_load1", "node_load5", "node_load15",
    "node_filesystem_size_bytes", "node_filesystem_free_bytes", "node_filesystem_avail_bytes",
    "node_filesystem_files", "node_filesystem_files_free", "node_filesystem_readonly",
    "node_filesystem_device_error", "node_disk_reads_completed_total",
    "node_disk_writes_completed_total", "node_disk_read_bytes_total",
    "node_disk_written_bytes_total", "node_disk_read_time_seconds_total",
    "node_disk_write_time_seconds_total", "node_disk_io_time_seconds_total",
    "node_network_receive_bytes_total", "node_network_transmit_bytes_total",
    // Fingerprint pipeline (the histograms' series are added below)
    "afp_identifications_total", "afp_audio_processed_seconds_total",
    "afp_fingerprint_hashes_total", "afp_ingest_observations_total", "afp_ingest_rejected_total",
    "afp_probe_success", "afp_probe_duration_seconds", "afp_probe_stage_duration_seconds",
    // PostgreSQL
    "pg_up", "pg_stat_statements_calls_total", "pg_stat_statements_seconds_total",
    "pg_stat_statements_rows_total", "pg_stat_statements_block_read_seconds_total",
    "pg_stat_statements_block_write_seconds_total", "pg_stat_statements_query_id",
    "pg_stat_user_tables_seq_scan", "pg_stat_user_tables_seq_tup_read",
    "pg_stat_user_tables_idx_scan", "pg_stat_user_tables_n_live_tup",
    "pg_stat_user_tables_n_dead_tup", "pg_stat_user_tables_n_mod_since_analyze",
    "pg_stat_user_tables_last_analyze", "pg_stat_user_tables_last_autoanalyze",
    "pg_stat_user_tables_last_vacuum", "pg_stat_user_tables_last_autovacuum",
    "pg_stat_user_tables_table_size_bytes", "pg_stat_user_tables_index_size_bytes",
    "pg_stat_user_indexes_idx_scan_total", "pg_stat_user_indexes_idx_tup_read_total",
    "pg_stat_user_indexes_idx_tup_fetch_total", "pg_stat_user_indexes_size_bytes",
    // pg_stat_database under postgres_exporter's names: counters without _total.
    "pg_stat_database_blks_hit", "pg_stat_database_blks_read", "pg_stat_database_xact_commit",
    "pg_stat_database_xact_rollback", "pg_stat_database_deadlocks", "pg_stat_database_numbackends",
    // Exporter self
    "afp_exporter_build_info", "afp_exporter_scrape_collector_duration_seconds",
    "afp_exporter_scrape_collector_success", "process_cpu_seconds_total",
    "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"};
const std::vector<std::string> kHistograms{"afp_fingerprint_generation_seconds",
                                           "afp_api_request_duration_seconds",
                                           "afp_db_query_duration_seconds"};
// node_memory_<Field>_bytes for every /proc/meminfo field.
const std::regex kMeminfo("node_memory_[A-Za-z0-9_]+_bytes");
// Series Prometheus writes itself: scrape health and alert state.
const std::set<std::string> kPrometheus{"up", "scrape_duration_seconds", "scrape_samples_scraped",
                                        "ALERTS", "ALERTS_FOR_STATE"};

// A raw counter shown outside rate/irate/increase, with the reason.
struct CounterException {
  std::string uid, panel, ref_id, metric, reason;
};
const std::vector<CounterException> kRawCounters{
    {"afp-database", "Index usage", "A", "pg_stat_user_indexes_idx_scan_total",
     "an unused index is one whose scan counter is still 0 since the statistics reset"}};

// Grafana unit ids the dashboards may use (a subset of grafana-data's valueFormats).
const std::set<std::string> kUnits{"none",
                                   "short",
                                   "percent",
                                   "percentunit",
                                   "s",
                                   "ms",
                                   "dtdurations",
                                   "bytes",
                                   "decbytes",
                                   "Bps",
                                   "binBps",
                                   "bps",
                                   "ops",
                                   "reqps",
                                   "iops",
                                   "cps",
                                   "rps",
                                   "wps",
                                   "bool",
                                   "bool_yes_no",
                                   "bool_on_off",
                                   "dateTimeAsIso",
                                   "dateTimeFromNow"};

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Dashboard {
  std::string file;
  std::string text;
  json doc;
};

std::vector<Dashboard> load_dashboards() {
  std::vector<Dashboard> out;
  for (const auto& e : fs::directory_iterator(kDashboards)) {
    if (e.path().extension() != ".json") continue;
    Dashboard d{e.path().filename().string(), slurp(e.path()), {}};
    d.doc = json::parse(d.text);  // throws, and fails the test, on broken JSON
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(),
            [](const Dashboard& a, const Dashboard& b) { return a.file < b.file; });
  return out;
}

// Every panel, rows included, and the panels kept inside collapsed rows.
std::vector<json> all_panels(const json& d) {
  std::vector<json> out;
  for (const auto& p : d.value("panels", json::array())) {
    out.push_back(p);
    for (const auto& c : p.value("panels", json::array()))
      out.push_back(c);
  }
  return out;
}

std::set<std::string> recording_rules() {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(kRepo / "rules")) {
    if (e.path().extension() != ".yml" && e.path().extension() != ".yaml") continue;
    YAML::Node doc = YAML::LoadFile(e.path().string());
    for (const auto& g : doc["groups"]) {
      for (const auto& r : g["rules"]) {
        if (r["record"]) names.insert(r["record"].as<std::string>());
      }
    }
  }
  return names;
}

bool known_metric(const std::string& name, const std::set<std::string>& rules) {
  if (kContract.count(name) || kPrometheus.count(name) || rules.count(name)) return true;
  if (std::regex_match(name, kMeminfo)) return true;
  for (const auto& h : kHistograms) {
    if (name == h + "_bucket" || name == h + "_count" || name == h + "_sum") return true;
  }
  return false;
}

bool is_counter(const std::string& name) {
  auto ends = [&](const std::string& suffix) {
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends("_total")) return true;
  for (const auto& h : kHistograms) {
    if (name == h + "_bucket" || name == h + "_count" || name == h + "_sum") return true;
  }
  return false;
}

// ---- thresholds ------------------------------------------------------------------------

struct Step {
  std::string color;
  std::optional<double> value;
  bool operator==(const Step& o) const {
    if (color != o.color || value.has_value() != o.value.has_value()) return false;
    return !value || std::fabs(*value - *o.value) < 1e-9;
  }
};

std::string describe(const std::vector<Step>& steps) {
  std::string s;
  for (const auto& st : steps) {
    if (!s.empty()) s += ", ";
    s += st.color + "@" + (st.value ? std::to_string(*st.value) : std::string("base"));
  }
  return "[" + s + "]";
}

// A requirement as Grafana threshold steps (colour from the value up): green, orange at the
// warning, red at the critical level; reversed for lower-is-worse readings. `complement`:
// the panel shows 1 - the ratio (a success ratio for an error-ratio requirement).
std::vector<Step> expected_steps(const Threshold& t, bool complement = false) {
  double w = t.warning, c = t.critical;
  Direction dir = t.direction;
  if (complement) {
    w = 1 - w;
    c = 1 - c;
    dir = dir == Direction::HigherIsWorse ? Direction::LowerIsWorse : Direction::HigherIsWorse;
  }
  if (dir == Direction::HigherIsWorse) return {{"green", {}}, {"orange", w}, {"red", c}};
  if (w == c) return {{"red", {}}, {"green", w}};
  return {{"red", {}}, {"orange", c}, {"green", w}};
}

// An up/down flag (probe, collector success, scrape up) and "at least one" (index scans):
// red below 1, green from 1.
const std::vector<Step> kFlagSteps{{"red", {}}, {"green", 1.0}};

std::vector<Step> steps_of(const json& thresholds) {
  std::vector<Step> out;
  for (const auto& s : thresholds.value("steps", json::array())) {
    Step st{s.value("color", ""), {}};
    if (s.contains("value") && !s["value"].is_null()) st.value = s["value"].get<double>();
    out.push_back(st);
  }
  return out;
}

struct Marker {
  std::string what;
  const Threshold* threshold;  // nullptr: a flag
  // Matches when some selector name contains every one of these.
  std::vector<std::string> all_of;
};

// Which threshold a query's value stands for, recognised by the series it reads.
const std::vector<Marker>& markers() {
  using namespace afp::core;
  static const std::vector<Marker> m{
      {"fingerprint generation p95",
       &kFingerprintGenerationP95,
       {":afp_fingerprint_generation_seconds:p95"}},
      {"API processing p95", &kApiProcessingP95, {":afp_api_request_duration_seconds:p95"}},
      {"database query p95", &kDbQueryP95, {":afp_db_query_duration_seconds:p95"}},
      {"CPU busy", &kCpuBusy, {":node_cpu_busy:"}},
      {"memory used", &kMemoryUsed, {":node_memory_used:"}},
      {"disk used", &kDiskUsed, {":node_filesystem_used:"}},
      {"statement mean time", &kStatementMeanTime, {":pg_stat_statements_seconds:mean"}},
      {"statement mean time",
       &kStatementMeanTime,
       {"pg_stat_statements_seconds_total", "pg_stat_statements_calls_total"}},
      {"cache hit ratio", &kCacheHitRatio, {":pg_stat_database_blks_hit:ratio"}},
      {"dead-row ratio", &kDeadRowRatio, {":pg_stat_user_tables_dead_tup:ratio"}},
      {"identification errors",
       &kIdentificationErrorRatio,
       {"afp_identification_errors_per_identifications"}},
      {"PostgreSQL up", &kPgUp, {"=pg_up"}},
      {"probe success", nullptr, {"=afp_probe_success"}},
      {"collector success", nullptr, {"=afp_exporter_scrape_collector_success"}},
      {"scrape up", nullptr, {"=up"}},
      {"index scans", nullptr, {"=pg_stat_user_indexes_idx_scan_total"}},
  };
  return m;
}

// "=name" matches the whole selector name, anything else a part of it.
const Marker* marker_of(const PromScan& scan) {
  for (const auto& m : markers()) {
    bool all = true;
    for (const auto& part : m.all_of) {
      bool found = false;
      for (const auto& s : scan.selectors) {
        if (part[0] == '=' ? s.name == part.substr(1) : s.name.find(part) != std::string::npos) {
          found = true;
        }
      }
      all = all && found;
    }
    if (all) return &m;
  }
  return nullptr;
}

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

void Lint::dashboard(const Dashboard& d) {
  const json& doc = d.doc;
  std::string uid = doc.value("uid", "");
  std::string where = d.file;
  if (d.file != uid + ".json") fail(where, "uid '" + uid + "' is not the file name");
  if (std::find(kUids.begin(), kUids.end(), uid) == kUids.end()) {
    fail(where, "uid '" + uid + "' is none of the four the alert rules link to");
  }
  if (!doc.contains("id") || !doc["id"].is_null()) fail(where, "id must be null");
  int schema = doc.value("schemaVersion", 0);
  if (schema < 38 || schema > 39) {
    fail(where, "schemaVersion " + std::to_string(schema) + ": use Grafana 10's (38 or 39)");
  }
  for (const char* bad : {"__inputs", "__requires", "${DS_"}) {
    if (d.text.find(bad) != std::string::npos) {
      fail(where, std::string("contains ") + bad +
                      ", an export-for-sharing placeholder that "
                      "provisioning cannot fill");
    }
  }
  if (doc.value("title", "").empty()) fail(where, "no title");
  auto tags = doc.value("tags", json::array());
  if (std::find(tags.begin(), tags.end(), "afp") == tags.end()) fail(where, "no tag 'afp'");
  if (!doc.contains("time") || doc["time"].value("from", "").empty()) {
    fail(where, "no default time range");
  }

  // Links to each of the other dashboards, carrying the variables and the time range.
  std::set<std::string> linked;
  for (const auto& l : doc.value("links", json::array())) {
    std::string url = l.value("url", "");
    if (url.rfind("/d/", 0) == 0) {
      linked.insert(url.substr(3));
      if (!l.value("includeVars", false) || !l.value("keepTime", false)) {
        fail(where, "link " + url + " must keep the variables and the time range");
      }
    }
  }
  for (const auto& other : kUids) {
    if (other != uid && !linked.count(other)) fail(where, "no link to /d/" + other);
  }

  variables(where, doc);

  bool alert_annotation = false;
  for (const auto& a : doc["annotations"].value("list", json::array())) {
    std::string expr = a.value("expr", "");
    alert_annotation =
        alert_annotation || (expr.find("ALERTS{alertname=~\"Afp.*\"") == 0 &&
                             expr.find("alertstate=\"firing\"") != std::string::npos);
  }
  if (!alert_annotation)
    fail(where, "no annotation of firing afp alerts (ALERTS{alertname=~\"Afp.*\"})");
  // Descriptions are read in Grafana: no pointers to documents outside this repository.
  for (const char* outside : {"DESIGN.md", "../"}) {
    if (d.text.find(outside) != std::string::npos) fail(where, std::string("mentions ") + outside);
  }

  std::vector<json> panels = all_panels(doc);
  layout(where, panels);
  std::set<int> ids;
  for (const auto& p : panels) {
    int id = p.value("id", 0);
    if (id <= 0) fail(where, "panel '" + p.value("title", "") + "' has no positive id");
    if (!ids.insert(id).second) fail(where, "panel id " + std::to_string(id) + " used twice");
    if (p.value("type", "") != "row") panel(uid, p);
  }
}

void Lint::variables(const std::string& where, const json& d) {
  std::map<std::string, json> vars;
  for (const auto& v : d["templating"].value("list", json::array())) {
    std::string name = v.value("name", "");
    if (!vars.emplace(name, v).second) fail(where, "variable " + name + " defined twice");
  }
  auto ds = vars.find("datasource");
  if (ds == vars.end() || ds->second.value("type", "") != "datasource" ||
      ds->second.value("query", "") != "prometheus") {
    fail(where, "needs a variable 'datasource' of type datasource for prometheus");
  } else if (ds->second.value("label", "") != "Data source") {
    fail(where, "the datasource variable should be labelled 'Data source'");
  }
  auto cluster = vars.find("cluster");
  if (cluster == vars.end() || cluster->second.value("type", "") != "query" ||
      cluster->second.value("allValue", "") != ".*") {
    fail(where, "needs a query variable 'cluster' whose All (.*) also matches no cluster label");
  }
  for (const std::string name : {"job", "instance"}) {
    auto it = vars.find(name);
    if (it == vars.end()) {
      fail(where, "no variable " + name);
      continue;
    }
    const json& v = it->second;
    std::string w = where + " variable " + name;
    std::string label = name;
    label[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(label[0])));
    if (v.value("type", "") != "query") fail(w, "must be a query variable");
    if (v.value("label", "") != label) fail(w, "should be labelled " + label);
    if (!v.value("multi", false)) fail(w, "must be multi-select");
    if (!v.value("includeAll", false)) fail(w, "must include All");
    if (v.value("allValue", "") != ".+") fail(w, "allValue must be '.+'");
    if (v.value("refresh", 0) != 2) fail(w, "must refresh on time-range change (refresh: 2)");
    if (!v.contains("datasource") || v["datasource"].value("uid", "") != "${datasource}") {
      fail(w, "must query ${datasource}");
    }
    std::string q =
        v["query"].is_string() ? v["query"].get<std::string>() : v["query"].value("query", "");
    std::smatch m;
    if (!std::regex_match(q, m, std::regex(R"(label_values\((.+),\s*(\w+)\))")) || m[2] != name) {
      fail(w, "query must be label_values(<selector>, " + name + "), is " + q);
      continue;
    }
    PromScan scan = scan_promql(m[1].str());
    for (const auto& e : scan.errors)
      fail(w, e);
    for (const auto& s : scan.selectors) {
      if (!known_metric(s.name, rules)) fail(w, "unknown metric " + s.name);
    }
    if (name == "instance") {
      bool by_job = !scan.selectors.empty();
      for (const auto& s : scan.selectors) {
        bool has = false;
        for (const auto& mt : s.matchers)
          has = has || (mt.label == "job" && mt.value == "$job");
        by_job = by_job && has;
      }
      if (!by_job) fail(w, "must list only the instances of the selected jobs ($job)");
    }
  }
  for (const auto& [name, v] : vars) {
    std::string type = v.value("type", "");
    if (type == "query" && v.value("refresh", 0) != 2) {
      fail(where + " variable " + name, "must refresh on time-range change");
    }
    if (type != "query" && type != "datasource" && type != "textbox" && type != "custom" &&
        type != "constant") {
      fail(where + " variable " + name, "unexpected type " + type);
    }
  }
}

void Lint::layout(const std::string& where, const std::vector<json>& panels) {
  struct Box {
    std::string title;
    int x, y, w, h;
  };
  std::vector<Box> boxes;
  bool under_row = false;
  std::set<std::string> row_titles;
  int rows = 0;
  std::pair<int, int> previous{-1, -1};
  for (const auto& p : panels) {
    std::string title = p.value("title", "");
    if (!p.contains("gridPos")) {
      fail(where, "panel '" + title + "' has no gridPos");
      continue;
    }
    const json& g = p["gridPos"];
    Box b{title, g.value("x", -1), g.value("y", -1), g.value("w", 0), g.value("h", 0)};
    if (b.x < 0 || b.y < 0 || b.w < 1 || b.h < 1 || b.x + b.w > 24) {
      fail(where, "panel '" + title + "' is off the 24-column grid");
    }
    std::pair<int, int> pos{b.y, b.x};
    if (pos <= previous) fail(where, "panel '" + title + "' is out of reading order");
    previous = pos;
    if (p.value("type", "") == "row") {
      ++rows;
      under_row = true;
      if (b.w != 24 || b.h != 1 || b.x != 0) fail(where, "row '" + title + "' is not 24x1");
      if (title.empty() || !row_titles.insert(title).second) {
        fail(where, "row titles must be unique and non-empty: '" + title + "'");
      }
    } else {
      if (!under_row) fail(where, "panel '" + title + "' is not under a row");
      // Narrow screens: Grafana stacks panels full-width below 769 px; on wider ones at
      // most four panels share a line, each a whole fraction of it, at least 4 units high.
      if (b.w < 6 || 24 % b.w != 0) {
        fail(where,
             "panel '" + title + "' width " + std::to_string(b.w) + " is not 6, 8, 12 or 24");
      }
      if (b.h < 4) fail(where, "panel '" + title + "' is too low to read (h < 4)");
    }
    for (const auto& o : boxes) {
      if (b.x < o.x + o.w && o.x < b.x + b.w && b.y < o.y + o.h && o.y < b.y + b.h) {
        fail(where, "panels '" + title + "' and '" + o.title + "' overlap");
      }
    }
    boxes.push_back(b);
  }
  if (rows < 2) fail(where, "related panels should be grouped in rows");
}

void Lint::panel(const std::string& uid, const json& p) {
  std::string type = p.value("type", "");
  std::string title = p.value("title", "");
  std::string where = uid + " panel '" + title + "'";
  if (title.empty()) fail(where, "no title");
  if (p.value("description", "").size() < 20) fail(where, "no (useful) description");
  if (!p.contains("datasource") || p["datasource"].value("uid", "") != "${datasource}" ||
      p["datasource"].value("type", "") != "prometheus") {
    fail(where, "must use the templated data source ${datasource}");
  }
  static const std::set<std::string> kTypes{"timeseries", "stat",     "table",
                                            "heatmap",    "bargauge", "gauge"};
  if (!kTypes.count(type)) fail(where, "unexpected panel type " + type);

  // Units, and min/max where they mean something.
  const json fc = p.value("fieldConfig", json::object());
  const json defaults = fc.value("defaults", json::object());
  if (type == "heatmap") {
    const json options = p.value("options", json::object());
    std::string unit = options.value("yAxis", json::object()).value("unit", "");
    if (!kUnits.count(unit)) fail(where, "heatmap y axis needs a unit, has '" + unit + "'");
    if (options.value("calculate", true)) {
      fail(where, "a heatmap of Prometheus buckets must not re-bucket (calculate: false)");
    }
  } else {
    std::string unit = defaults.value("unit", "");
    if (!kUnits.count(unit)) fail(where, "no or unknown unit '" + unit + "'");
    if (type != "table") {
      if (!defaults.contains("min")) fail(where, "no min");
      if (unit == "percentunit" &&
          (defaults.value("min", -1.0) != 0.0 || defaults.value("max", -1.0) != 1.0)) {
        fail(where, "a ratio needs min 0 and max 1");
      }
    }
  }
  for (const auto& o : fc.value("overrides", json::array())) {
    for (const auto& prop : o.value("properties", json::array())) {
      if (prop.value("id", "") == "unit" && !kUnits.count(prop.value("value", ""))) {
        fail(where, "override with unknown unit " + prop.value("value", ""));
      }
    }
  }

  // Targets.
  auto targets = p.value("targets", json::array());
  if (targets.empty()) fail(where, "no targets");
  std::set<std::string> refs;
  for (const auto& t : targets) {
    std::string ref = t.value("refId", "");
    if (ref.empty() || !refs.insert(ref).second) fail(where, "refIds must be unique: " + ref);
    if (t.contains("datasource") && t["datasource"].value("uid", "") != "${datasource}") {
      fail(where, "target " + ref + " must use ${datasource}");
    }
    if (type == "table" && (!t.value("instant", false) || t.value("format", "") != "table")) {
      fail(where, "target " + ref + " of a table must be an instant query in table format");
    }
    if (type == "heatmap" && t.value("format", "") != "heatmap") {
      fail(where, "target " + ref + " of a heatmap must use the heatmap format");
    }
    std::string expr = t.value("expr", "");
    if (expr.empty())
      fail(where, "target " + ref + " has no expression");
    else
      query(where + " target " + ref, uid, p.value("title", ""), ref, expr);
  }
  if (type != "heatmap") thresholds(where, p);
}

void Lint::query(const std::string& where, const std::string& uid, const std::string& panel,
                 const std::string& ref, const std::string& expr) {
  PromScan scan = scan_promql(expr);
  for (const auto& e : scan.errors)
    fail(where, e + " in " + expr);
  if (scan.selectors.empty()) fail(where, "reads no series: " + expr);
  for (const auto& s : scan.selectors) {
    std::string sel = s.name.empty() ? "{...}" : s.name;
    if (s.name.empty())
      fail(where, "a selector without a metric name");
    else if (!known_metric(s.name, rules)) {
      fail(where, "metric " + s.name +
                      " is neither in the metric contract nor a recording rule in rules/");
    }
    for (const char* label : {"job", "instance"}) {
      bool ok = false;
      for (const auto& m : s.matchers) {
        ok = ok || (m.label == label && m.op == "=~" && m.value == std::string("$") + label);
      }
      if (!ok) fail(where, sel + " lacks " + label + "=~\"$" + label + "\"");
    }
    if (s.range && (s.call == "rate" || s.call == "irate") && *s.range != "$__rate_interval") {
      fail(where, s.call + "(" + sel + "[" + *s.range + "]) must use $__rate_interval");
    }
    if (s.range && s.range->find('$') != std::string::npos && *s.range != "$__rate_interval" &&
        *s.range != "$__range" && *s.range != "$__interval") {
      fail(where, "unexpected range variable " + *s.range);
    }
    if (is_counter(s.name) &&
        !(s.range && (s.call == "rate" || s.call == "irate" || s.call == "increase"))) {
      bool excepted = false;
      for (const auto& c : kRawCounters) {
        excepted =
            excepted || (c.uid == uid && c.panel == panel && c.ref_id == ref && c.metric == s.name);
      }
      if (!excepted) fail(where, "counter " + sel + " outside rate/irate/increase");
    }
  }
}

void Lint::thresholds(const std::string& where, const json& p) {
  const json fc = p.value("fieldConfig", json::object());
  auto targets = p.value("targets", json::array());
  std::map<std::string, std::string> expr_of;  // refId -> expression
  for (const auto& t : targets)
    expr_of[t.value("refId", "")] = t.value("expr", "");

  // Each set of steps and the query whose values it colours: the panel's defaults colour
  // its only query; an override colours the column of one query of a table ("Value #B"),
  // or the only query's "Value" column.
  struct Colouring {
    std::string what;
    json thresholds;
    std::optional<std::string> expr;
  };
  std::vector<Colouring> colourings;
  const json defaults = fc.value("defaults", json::object());
  if (!defaults.contains("thresholds")) {
    fail(where, "no thresholds (Grafana would add its default red at 80)");
  } else {
    std::optional<std::string> e;
    if (targets.size() == 1) e = targets[0].value("expr", "");
    colourings.push_back({"defaults", defaults["thresholds"], e});
  }
  for (const auto& o : fc.value("overrides", json::array())) {
    for (const auto& prop : o.value("properties", json::array())) {
      if (prop.value("id", "") != "thresholds") continue;
      std::string column = o["matcher"].value("options", "");
      std::optional<std::string> e;
      if (column.rfind("Value #", 0) == 0 && expr_of.count(column.substr(7))) {
        e = expr_of[column.substr(7)];
      } else if (column == "Value" && targets.size() == 1) {
        e = targets[0].value("expr", "");
      }
      colourings.push_back({"override " + column, prop["value"], e});
    }
  }
  // Queries that read a requirement must be coloured by it: the panel's defaults for a
  // single query, a column override in a table of several.
  if (targets.size() > 1) {
    for (const auto& [ref, expr] : expr_of) {
      const Marker* m = marker_of(scan_promql(expr));
      if (!m || !m->threshold || m->threshold == &afp::core::kPgUp) continue;
      bool coloured = false;
      for (const auto& c : colourings)
        coloured = coloured || (c.expr && *c.expr == expr);
      if (!coloured) {
        fail(where, "target " + ref + " shows the " + m->what +
                        " requirement without its thresholds (override 'Value #" + ref + "')");
      }
    }
  }
  for (const auto& c : colourings) {
    std::string w = where + " " + c.what;
    if (c.thresholds.value("mode", "") != "absolute") fail(w, "thresholds must be absolute");
    std::vector<Step> steps = steps_of(c.thresholds);
    if (steps.empty() || steps[0].value) {
      fail(w, "the first threshold step must be the base (value null)");
      continue;
    }
    for (size_t i = 2; i < steps.size(); ++i) {
      if (*steps[i].value <= *steps[i - 1].value) fail(w, "threshold steps must ascend");
    }
    const Marker* m = c.expr ? marker_of(scan_promql(*c.expr)) : nullptr;
    if (!m) {
      if (steps.size() > 1) {
        fail(w, "colours values by " + describe(steps) +
                    ", which is no requirement of docs/requirements.md or thresholds.h");
      }
      continue;
    }
    if (!m->threshold) {  // a flag: coloured as such, or not at all
      if (steps.size() > 1 && !(steps == kFlagSteps)) {
        fail(w, m->what + " must be coloured " + describe(kFlagSteps) + ", is " + describe(steps));
      }
      continue;
    }
    bool complement = c.expr->rfind("1 -", 0) == 0;
    std::vector<Step> want = expected_steps(*m->threshold, complement);
    if (!(steps == want)) {
      fail(w, m->what + " must be coloured " + describe(want) + " (thresholds.h), is " +
                  describe(steps));
    } else {
      thresholds_seen.insert(std::string(m->threshold->name));
    }
  }
}

}  // namespace

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
      Level l = level_of(*t, v);
      CHECK(colour == (l == Level::Ok ? "green" : l == Level::Warning ? "orange" : "red"));
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
