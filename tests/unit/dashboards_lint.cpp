// The lint of the shipped Grafana dashboards: see dashboards_lint.h for its rules.

#include "dashboards_lint.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
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

namespace afp::test::dashboards {

namespace fs = std::filesystem;
using afp::core::Direction;
using afp::core::Threshold;

namespace {

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

std::string describe(const std::vector<Step>& steps) {
  std::string s;
  for (const auto& st : steps) {
    if (!s.empty()) s += ", ";
    s += st.color + "@" + (st.value ? std::to_string(*st.value) : std::string("base"));
  }
  return "[" + s + "]";
}

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

}  // namespace

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

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

// A requirement as Grafana threshold steps (colour from the value up): green, orange at the
// warning, red at the critical level; reversed for lower-is-worse readings. `complement`:
// the panel shows 1 - the ratio (a success ratio for an error-ratio requirement).
std::vector<Step> expected_steps(const Threshold& t, bool complement) {
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

std::vector<Step> steps_of(const json& thresholds) {
  std::vector<Step> out;
  for (const auto& s : thresholds.value("steps", json::array())) {
    Step st{s.value("color", ""), {}};
    if (s.contains("value") && !s["value"].is_null()) st.value = s["value"].get<double>();
    out.push_back(st);
  }
  return out;
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

}  // namespace afp::test::dashboards
