// Keeps the alerting rules (rules/afp-alerts.yml) equal to exporter/src/core/thresholds.h,
// read as the code reads it.
//
// For each row of kMapping, the alert's rules: one per severity (warning and critical;
// critical alone when both levels are equal, as for pg_up), each comparing the mapped series
// with exactly one number. The comparison must be `>=` for a higher-is-worse threshold and
// `<` for a lower-is-worse one (thresholds.h's level_of), the number must equal the header's,
// and the description must quote it ("70%", "3s"). Every threshold of the header must appear
// in kMapping, so a new one cannot be forgotten.
//
// The guards that decide whether a reading is judged at all (the header's scalar constants
// and kUnjudgedDatabases) are held the same way: each row of kGuards names a constant, an
// alert and the comparison in its expression that must carry the constant's value, so
// `status`, `db report` and the rules exclude the same databases and want the same volume.
// Every guard of the header must appear in kGuards.
//
// The rules are rendered by mixin/render from mixin/alerts.libsonnet, whose thresholds and
// descriptions come from `thresholds` in mixin/config.libsonnet. Changing a threshold: edit
// thresholds.h and that key, re-render, and update the rule's promtool tests in rules/tests/
// (their "just below" and "at the threshold" cases).
#include <yaml-cpp/yaml.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "core/thresholds.h"
#include "golden.h"

using namespace afp;
using core::Threshold;

namespace {

struct Mapping {
  const char* threshold;  // Threshold::name
  const char* alert;
  const char* series;  // what the rule compares with the threshold
};

const Mapping kMapping[] = {
    {"cpu_busy", "AfpHostCpuBusy", "instance:node_cpu_busy:ratio_rate5m"},
    {"memory_used", "AfpHostMemoryUsed", "instance:node_memory_used:ratio"},
    {"disk_used", "AfpFilesystemUsed", "instance_mountpoint:node_filesystem_used:ratio"},
    {"fingerprint_generation_p95", "AfpFingerprintGenerationSlow",
     "instance:afp_fingerprint_generation_seconds:p95_rate5m"},
    {"api_processing_p95", "AfpApiRequestsSlow",
     "instance_endpoint:afp_api_request_duration_seconds:p95_rate5m"},
    {"db_query_p95", "AfpDbQueriesSlow",
     "instance_operation:afp_db_query_duration_seconds:p95_rate5m"},
    {"fingerprint_generation_p95", "AfpProbeStageSlow",
     R"(instance_stage:afp_probe_stage_duration_seconds:median10m{stage="fingerprint"})"},
    {"db_query_p95", "AfpProbeStageSlow",
     R"(instance_stage:afp_probe_stage_duration_seconds:median10m{stage="db"})"},
    {"identification_error_ratio", "AfpIdentificationErrors",
     "instance:afp_identification_errors_per_identifications:ratio_rate5m"},
    {"pg_up", "AfpPostgresDown", "pg_up"},
    {"pg_statement_mean_time", "AfpPostgresStatementSlow",
     "instance_queryid:pg_stat_statements_seconds:mean5m"},
    {"pg_cache_hit_ratio", "AfpPostgresCacheHitLow",
     "instance_datname:pg_stat_database_blks_hit:ratio_rate5m"},
    {"pg_dead_row_ratio", "AfpPostgresDeadRows",
     "instance_relname:pg_stat_user_tables_dead_tup:ratio"},
};

struct Guard {
  const char* constant;  // of thresholds.h
  double value;
  const char* alert;
  // The comparison in the alert's expression whose captured number must equal the constant.
  const char* pattern;
};

const Guard kGuards[] = {
    {"kCacheHitMinBlocksPerSecond", core::kCacheHitMinBlocksPerSecond, "AfpPostgresCacheHitLow",
     R"(instance_datname:pg_stat_database_blks:rate5m >= (\S+))"},
    // In minutes: the rule compares the start time with itself that long ago.
    {"kCacheHitSettleSeconds", core::kCacheHitSettleSeconds / 60.0, "AfpPostgresCacheHitLow",
     R"(pg_postmaster_start_time_seconds\{[^}]*\} offset (\d+)m)"},
    {"kDeadRowMinRows", core::kDeadRowMinRows, "AfpPostgresDeadRows",
     R"(pg_stat_user_tables_n_dead_tup\{[^}]*\} >= (\S+))"},
    {"kStaleModifiedRatio", core::kStaleModifiedRatio, "AfpPostgresStatisticsStale",
     R"(n_mod_since_analyze\{[^}]*\} > (\S+) \* pg_stat_user_tables_n_live_tup)"},
    {"kStaleMinRows", core::kStaleMinRows, "AfpPostgresStatisticsStale",
     R"(n_mod_since_analyze\{[^}]*\} >= (\S+))"},
    {"kStaleMinRows", core::kStaleMinRows, "AfpPostgresStatisticsStale",
     R"(pg_stat_user_tables_n_live_tup\{[^}]*\} >= (\S+) and pg_stat_user_tables_last_analyze)"},
    {"kStaleAnalyzeAgeDays", core::kStaleAnalyzeAgeDays, "AfpPostgresStatisticsStale",
     R"(\) > (\S+) \* 86400)"},
    {"kSeqScanMinLiveRows", core::kSeqScanMinLiveRows, "AfpFingerprintSeqScans",
     R"(pg_stat_user_tables_n_live_tup\{[^}]*\} >= (\S+))"},
};

const char* kNumber = R"([0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)";

struct Rule {
  std::string alert;
  std::string severity;
  std::string expr;  // whitespace collapsed
  std::string description;
};

std::string collapse_whitespace(const std::string& text) {
  std::string out;
  for (char c : text) {
    bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::vector<Rule> alerting_rules() {
  YAML::Node doc = YAML::LoadFile(std::string(AFP_SOURCE_DIR) + "/rules/afp-alerts.yml");
  std::vector<Rule> rules;
  for (const auto& group : doc["groups"]) {
    for (const auto& r : group["rules"]) {
      if (!r["alert"]) continue;
      rules.push_back({r["alert"].as<std::string>(),
                       r["labels"]["severity"] ? r["labels"]["severity"].as<std::string>() : "",
                       collapse_whitespace(r["expr"].as<std::string>()),
                       r["annotations"]["description"].as<std::string>("")});
    }
  }
  return rules;
}

std::string regex_escape(const std::string& text) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(text, special, R"(\$&)");
}

std::string format_g(double value, const char* suffix) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g%s", value, suffix);
  return buf;
}

// How a description writes the threshold: 70% or 3s.
std::string quoted(double value, core::Unit unit) {
  if (unit == core::Unit::Ratio) return format_g(std::round(value * 100 * 1e6) / 1e6, "%");
  return format_g(value, "s");
}

// The threshold a description quotes, following the {{ if eq $labels.stage "db" }} branch
// for the probe's stages.
std::string described_threshold(const std::string& description, const std::string& series) {
  auto text = collapse_whitespace(description);
  static const std::regex branch(
      R"re(threshold of \{\{ if eq \$labels\.stage "(\w+)" \}\}(\S+?)\{\{ else \}\}(\S+?)\{\{ end \}\})re");
  std::smatch m;
  if (std::regex_search(text, m, branch)) {
    static const std::regex stage_label(R"re(stage="(\w+)")re");
    std::smatch stage;
    bool same = std::regex_search(series, stage, stage_label) && stage[1] == m[1];
    return same ? m[2].str() : m[3].str();
  }
  static const std::regex plain(R"(threshold of (\S+?)[.:,]?(?: |$))");
  return std::regex_search(text, m, plain) ? m[1].str() : "";
}

// Every Threshold of thresholds.h that find_threshold knows.
std::vector<const Threshold*> header_thresholds() {
  std::vector<const Threshold*> all;
  for (const auto& t : core::kThresholds)
    all.push_back(&t);
  for (const auto& t : core::kDatabaseThresholds)
    all.push_back(&t);
  all.push_back(&core::kIdentificationErrorRatio);
  return all;
}

// The comparisons `SERIES[{matchers}] OP NUMBER` of an expression, or of a function over
// its range (`last_over_time(SERIES[{matchers}][1m]) OP NUMBER`): (operator, number).
// ECMAScript regular expressions have no look-behind: the character before the series is
// matched instead (start, or neither a word character nor a colon).
std::vector<std::pair<std::string, double>> comparisons(const std::string& expr,
                                                        const std::string& series) {
  std::regex re("(?:^|[^\\w:])" + regex_escape(series) +
                R"((?:\{[^}]*\})?(?:\[\w+\]\))?\s*(>=|<=|==|!=|>|<)\s*()" + kNumber +
                R"()(?![\w.]))");
  std::vector<std::pair<std::string, double>> found;
  for (std::sregex_iterator it(expr.begin(), expr.end(), re), end; it != end; ++it)
    found.emplace_back((*it)[1].str(), std::stod((*it)[2].str()));
  return found;
}

void check_level(const Threshold& t, const Mapping& m, const char* level, double want,
                 const std::vector<Rule>& rules) {
  std::vector<const Rule*> found;
  for (const auto& r : rules) {
    if (r.alert == m.alert && r.severity == level) found.push_back(&r);
  }
  INFO(m.alert << " (" << level << ") vs " << t.name << "." << level);
  REQUIRE(found.size() == 1);
  const Rule& rule = *found[0];
  INFO("expression: " << rule.expr);
  auto got = comparisons(rule.expr, m.series);
  INFO("want one `" << m.series << "[{matchers}] OP N`");
  REQUIRE(got.size() == 1);
  CHECK(got[0].first == (t.direction == core::Direction::LowerIsWorse ? "<" : ">="));
  CHECK(std::abs(got[0].second - want) <= 1e-12);
  if (t.unit != core::Unit::Up) {
    CHECK(described_threshold(rule.description, m.series) == quoted(want, t.unit));
  }
}

// The names of thresholds.h's scalar constants, the guards (`inline constexpr double kX = 1;`).
std::set<std::string> header_guard_names() {
  auto text = test::slurp(std::string(AFP_SOURCE_DIR) + "/exporter/src/core/thresholds.h");
  static const std::regex scalar(
      std::string(R"(inline constexpr (?:double|std::int64_t)\s+(k\w+)\s*=\s*)") + kNumber + ";");
  std::set<std::string> names;
  for (std::sregex_iterator it(text.begin(), text.end(), scalar), end; it != end; ++it)
    names.insert((*it)[1].str());
  return names;
}

}  // namespace

TEST_CASE("rules: every threshold of thresholds.h has its alert, operator, number and text",
          "[rules][thresholds]") {
  auto rules = alerting_rules();
  std::set<std::string> mapped;
  for (const auto& m : kMapping)
    mapped.insert(m.threshold);
  for (const auto* t : header_thresholds()) {
    INFO("threshold " << t->name << " of thresholds.h has no alert in kMapping");
    CHECK(mapped.count(std::string(t->name)) == 1);
  }
  int checked = 0;
  for (const auto& m : kMapping) {
    const Threshold* t = core::find_threshold(m.threshold);
    INFO("kMapping names " << m.threshold << ", which thresholds.h does not define");
    REQUIRE(t != nullptr);
    if (t->warning != t->critical) {
      check_level(*t, m, "warning", t->warning, rules);
      ++checked;
    }
    check_level(*t, m, "critical", t->critical, rules);
    ++checked;
  }
  CHECK(checked == 25);
}

TEST_CASE("rules: the guards of thresholds.h are the alerts' comparisons", "[rules][thresholds]") {
  auto rules = alerting_rules();
  std::set<std::string> guarded;
  for (const auto& g : kGuards)
    guarded.insert(g.constant);
  for (const auto& name : header_guard_names()) {
    INFO("guard " << name << " of thresholds.h has no alert in kGuards");
    CHECK(guarded.count(name) == 1);
  }
  int checked = 0;
  for (const auto& g : kGuards) {
    std::regex re(g.pattern);
    int exprs = 0;
    for (const auto& r : rules) {
      if (r.alert != g.alert) continue;
      ++exprs;
      INFO(g.alert << " vs " << g.constant << ": want one /" << g.pattern << "/ in: " << r.expr);
      std::vector<std::string> found;
      for (std::sregex_iterator it(r.expr.begin(), r.expr.end(), re), end; it != end; ++it)
        found.push_back((*it)[1].str());
      REQUIRE(found.size() == 1);
      CHECK(std::abs(std::stod(found[0]) - g.value) <= 1e-12);
      ++checked;
    }
    INFO(g.alert << " does not exist");
    CHECK(exprs > 0);
  }
  std::string want = "datname!~\"";
  for (std::size_t i = 0; i < core::kUnjudgedDatabases.size(); ++i)
    want += (i ? "|" : "") + std::string(core::kUnjudgedDatabases[i]);
  want += "\"";
  for (const auto& r : rules) {
    if (r.alert != "AfpPostgresCacheHitLow") continue;
    INFO("AfpPostgresCacheHitLow: want " << want << " (kUnjudgedDatabases) in: " << r.expr);
    CHECK(r.expr.find(want) != std::string::npos);
    ++checked;
  }
  CHECK(checked == 13);
}
