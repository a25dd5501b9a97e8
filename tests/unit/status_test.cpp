#include "cli/status.h"

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

#include "core/thresholds.h"
#include "golden.h"
#include "http/server.h"
#include "metrics/text_parser.h"
#include "metrics/text_writer.h"
#include "pipeline/store.h"

using afp::cli::CheckRow;
using afp::cli::evaluate;
using afp::cli::exit_code;
using afp::cli::run_status;
using afp::core::Severity;
using afp::metrics::Sample;

namespace {

Sample cpu(const std::string& n, const std::string& mode, double seconds) {
  return {"node_cpu_seconds_total", {{"cpu", n}, {"mode", mode}}, seconds};
}

std::vector<Sample> memory(double total, double available) {
  return {{"node_memory_MemTotal_bytes", {}, total},
          {"node_memory_MemAvailable_bytes", {}, available}};
}

std::vector<Sample> filesystem(const std::string& mountpoint, double size, double avail,
                               double readonly = 0, double device_error = 0) {
  std::vector<std::pair<std::string, std::string>> labels{
      {"device", "/dev/x" + mountpoint}, {"fstype", "ext4"}, {"mountpoint", mountpoint}};
  return {{"node_filesystem_size_bytes", labels, size},
          {"node_filesystem_avail_bytes", labels, avail},
          {"node_filesystem_readonly", labels, readonly},
          {"node_filesystem_device_error", labels, device_error}};
}

std::vector<Sample> join(std::initializer_list<std::vector<Sample>> parts) {
  std::vector<Sample> out;
  for (const auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Two CPUs whose busy share over the interval is busy_percent / 100, to the bit: the
// deltas are integral seconds adding up to 100.
std::pair<std::vector<Sample>, std::vector<Sample>> cpu_scrapes(int busy_percent) {
  int idle = 100 - busy_percent;
  std::vector<Sample> before{cpu("0", "idle", 1000), cpu("0", "iowait", 10),
                             cpu("0", "user", 500),  cpu("1", "idle", 1000),
                             cpu("1", "steal", 3),   cpu("1", "system", 200)};
  std::vector<Sample> after{cpu("0", "idle", 1000 + idle / 2),
                            cpu("0", "iowait", 10),
                            cpu("0", "user", 500 + busy_percent / 2),
                            cpu("1", "idle", 1000 + (idle - idle / 2 - idle % 2)),
                            cpu("1", "steal", 3 + idle % 2),
                            cpu("1", "system", 200 + (busy_percent - busy_percent / 2))};
  return {before, after};
}

std::vector<Sample> statement(const std::string& queryid, double calls, double seconds) {
  std::vector<std::pair<std::string, std::string>> labels{
      {"datname", "afp"}, {"user", "app"}, {"queryid", queryid}};
  return {{"pg_stat_statements_calls_total", labels, calls},
          {"pg_stat_statements_seconds_total", labels, seconds}};
}

std::vector<Sample> database(const std::string& datname, double hit, double read) {
  // postgres_exporter's names and labels; the datid only has to match between the two.
  std::vector<std::pair<std::string, std::string>> labels{{"datid", std::to_string(datname.size())},
                                                          {"datname", datname}};
  return {{"pg_stat_database_blks_hit", labels, hit}, {"pg_stat_database_blks_read", labels, read}};
}

std::vector<Sample> table(const std::string& relname, double live, double dead) {
  std::vector<std::pair<std::string, std::string>> labels{
      {"datname", "afp"}, {"schemaname", "public"}, {"relname", relname}};
  return {{"pg_stat_user_tables_n_live_tup", labels, live},
          {"pg_stat_user_tables_n_dead_tup", labels, dead}};
}

std::vector<Sample> pg_up(double up) {
  return {{"pg_up", {}, up}};
}

const CheckRow* row(const std::vector<CheckRow>& rows, std::string_view name,
                    std::string_view target = "") {
  for (const auto& r : rows) {
    if (r.threshold.name == name && r.target == target) return &r;
  }
  return nullptr;
}

// The rows of these checks only, in report order: a test of some checks reads their rows
// without the n/a rows every other check adds.
std::vector<CheckRow> only(const std::vector<CheckRow>& rows,
                           std::initializer_list<std::string_view> names) {
  std::vector<CheckRow> out;
  for (const auto& r : rows) {
    if (std::find(names.begin(), names.end(), r.threshold.name) != names.end()) out.push_back(r);
  }
  return out;
}

// The first check of this name in a `status --json` document.
const nlohmann::json& check_named(const nlohmann::json& doc, std::string_view name) {
  for (const auto& c : doc["checks"]) {
    if (c["name"] == name) return c;
  }
  throw std::runtime_error("no check " + std::string(name));
}

}  // namespace

TEST_CASE("thresholds are the requirements' levels", "[status][thresholds]") {
  using namespace afp::core;
  CHECK(kThresholds.size() == 6);
  CHECK(find_threshold("fingerprint_generation_p95")->warning == 3);
  CHECK(find_threshold("fingerprint_generation_p95")->critical == 5);
  CHECK(find_threshold("api_processing_p95")->warning == 5);
  CHECK(find_threshold("api_processing_p95")->critical == 10);
  CHECK(find_threshold("db_query_p95")->warning == 1);
  CHECK(find_threshold("db_query_p95")->critical == 3);
  CHECK(find_threshold("cpu_busy")->warning == 0.70);
  CHECK(find_threshold("cpu_busy")->critical == 0.90);
  CHECK(find_threshold("memory_used")->warning == 0.80);
  CHECK(find_threshold("memory_used")->critical == 0.95);
  CHECK(find_threshold("disk_used")->warning == 0.85);
  CHECK(find_threshold("disk_used")->critical == 0.95);
  CHECK(find_threshold("nope") == nullptr);
  for (const auto& t : kThresholds) {
    INFO(t.name);
    CHECK(afp::core::level_of(t, t.warning) == Severity::Warning);
    CHECK(afp::core::level_of(t, std::nextafter(t.warning, 0.0)) == Severity::Ok);
    CHECK(afp::core::level_of(t, std::nextafter(t.critical, 0.0)) == Severity::Warning);
    CHECK(afp::core::level_of(t, t.critical) == Severity::Critical);
  }
}

TEST_CASE("status: CPU busy from two scrapes, at and around the thresholds", "[status]") {
  auto [percent, state] = GENERATE(table<int, Severity>({{0, Severity::Ok},
                                                         {69, Severity::Ok},
                                                         {70, Severity::Warning},
                                                         {89, Severity::Warning},
                                                         {90, Severity::Critical},
                                                         {100, Severity::Critical}}));
  auto [before, after] = cpu_scrapes(percent);
  auto rows = evaluate(before, after);
  const auto* r = row(rows, "cpu_busy");
  REQUIRE(r != nullptr);
  REQUIRE(r->value.has_value());
  CHECK(*r->value == percent / 100.0);
  CHECK(r->state == state);
}

TEST_CASE("status: CPU busy is n/a without CPU time between the scrapes", "[status]") {
  auto [before, after] = cpu_scrapes(50);
  SECTION("the same scrape twice") {
    auto rows = evaluate(before, before);
    CHECK(row(rows, "cpu_busy")->state == Severity::Unknown);
    CHECK_FALSE(row(rows, "cpu_busy")->value.has_value());
    CHECK(row(rows, "cpu_busy")->note == "no CPU time passed between the scrapes");
  }
  SECTION("counters went back (exporter restarted)") {
    auto rows = evaluate(after, before);
    CHECK(row(rows, "cpu_busy")->state == Severity::Unknown);
  }
  SECTION("no CPU metrics at all") {
    auto rows = evaluate({}, {});
    CHECK(row(rows, "cpu_busy")->state == Severity::Unknown);
  }
}

TEST_CASE("status: memory used at and around the thresholds", "[status]") {
  auto [available, state] = GENERATE(table<double, Severity>({{21, Severity::Ok},
                                                              {20, Severity::Warning},
                                                              {6, Severity::Warning},
                                                              {5, Severity::Critical},
                                                              {0, Severity::Critical}}));
  auto samples = memory(100, available);
  auto rows = evaluate(samples, samples);
  const auto* r = row(rows, "memory_used");
  REQUIRE(r != nullptr);
  CHECK(*r->value == (100 - available) / 100);
  CHECK(r->state == state);

  SECTION("missing MemAvailable is n/a") {
    std::vector<Sample> only_total{{"node_memory_MemTotal_bytes", {}, 100}};
    auto none = evaluate(only_total, only_total);
    CHECK(row(none, "memory_used")->state == Severity::Unknown);
  }
}

TEST_CASE("status: disk used per filesystem with read-only ones shown but not judged", "[status]") {
  auto after = join({filesystem("/", 1000, 151), filesystem("/var", 1000, 150),
                     filesystem("/data", 1000, 50), filesystem("/boot/efi", 1000, 1, 1),
                     filesystem("/broken", 1000, 0, 0, 1), filesystem("/empty", 0, 0)});
  auto rows = only(evaluate({}, after), {"cpu_busy", "memory_used", "disk_used"});
  CHECK(row(rows, "disk_used", "/")->state == Severity::Ok);            // 84.9 %
  CHECK(row(rows, "disk_used", "/var")->state == Severity::Warning);    // 85 % exactly
  CHECK(row(rows, "disk_used", "/data")->state == Severity::Critical);  // 95 % exactly
  const auto* ro = row(rows, "disk_used", "/boot/efi");
  REQUIRE(ro != nullptr);
  CHECK(ro->state == Severity::Unknown);
  CHECK(*ro->value == 0.999);
  CHECK(ro->note == "read-only, not judged");
  CHECK(row(rows, "disk_used", "/broken") == nullptr);  // device error: left out
  CHECK(row(rows, "disk_used", "/empty") == nullptr);   // no size: left out
  // Report order: cpu, memory, then filesystems as the exporter lists them.
  REQUIRE(rows.size() == 6);
  CHECK(rows[0].threshold.name == "cpu_busy");
  CHECK(rows[1].threshold.name == "memory_used");
  CHECK(rows[2].target == "/");
  CHECK(rows[5].target == "/boot/efi");
}

TEST_CASE("database thresholds: lower-is-worse readings judged from below",
          "[status][thresholds]") {
  using namespace afp::core;
  const auto& cache = *find_threshold("pg_cache_hit_ratio");
  CHECK(afp::core::level_of(cache, 0.99) == Severity::Ok);
  CHECK(afp::core::level_of(cache, std::nextafter(0.99, 0.0)) == Severity::Warning);
  CHECK(afp::core::level_of(cache, 0.90) == Severity::Warning);
  CHECK(afp::core::level_of(cache, std::nextafter(0.90, 0.0)) == Severity::Critical);
  CHECK(afp::core::level_of(kPgUp, 1) == Severity::Ok);
  CHECK(afp::core::level_of(kPgUp, 0) == Severity::Critical);
  // The statement limits are the query p95 requirement's; the advisor shares the rest.
  CHECK(kStatementMeanTime.warning == kDbQueryP95.warning);
  CHECK(kStatementMeanTime.critical == kDbQueryP95.critical);
  CHECK(afp::core::level_of(kDeadRowRatio, 0.10) == Severity::Warning);
  CHECK(afp::core::level_of(kDeadRowRatio, 0.30) == Severity::Critical);
}

namespace {

std::vector<CheckRow> database_rows(const std::vector<CheckRow>& rows) {
  std::vector<CheckRow> out;
  for (const auto& r : rows) {
    if (r.threshold.name.substr(0, 3) == "pg_") out.push_back(r);
  }
  return out;
}

}  // namespace

TEST_CASE("status: without pg_up each database check is one n/a row: no DSN", "[status][pg]") {
  auto after = join({memory(100, 50), statement("1", 10, 50), table("fingerprints", 10, 5)});
  auto rows = database_rows(evaluate({}, after));
  REQUIRE(rows.size() == 4);
  for (const auto& r : rows) {
    CHECK(r.state == Severity::Unknown);
    CHECK(r.target.empty());
    CHECK(r.note == "no pg_up in the readings: no PostgreSQL DSN");
  }
}

TEST_CASE("status: PostgreSQL down is critical, the other database rows n/a", "[status][pg]") {
  auto after = join({pg_up(0), statement("1", 10, 50), database("afp", 10, 100000)});
  auto rows = database_rows(evaluate({}, after));
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].threshold.name == "pg_up");
  CHECK(rows[0].state == Severity::Critical);
  for (std::size_t i = 1; i < rows.size(); ++i) {
    CHECK(rows[i].state == Severity::Unknown);
    CHECK(rows[i].note == "PostgreSQL is down");
  }
  CHECK(exit_code(rows) == 1);
}

TEST_CASE("status: slowest statement mean time among statements called 5 times", "[status][pg]") {
  auto [seconds, state] = GENERATE(table<double, Severity>(
      {{4.99, Severity::Ok}, {5, Severity::Warning}, {15, Severity::Critical}}));
  auto after = join({pg_up(1), statement("11", 5, seconds), statement("22", 100, 1),
                     statement("33", 4, 400)});  // 33: 100 s per call, but a one-off
  auto rows = evaluate({}, after);
  const auto* r = row(rows, "pg_statement_mean_time", seconds / 5 >= 0.01 ? "queryid 11" : "");
  REQUIRE(r != nullptr);
  CHECK(*r->value == seconds / 5);
  CHECK(r->state == state);

  SECTION("no statement series while up: n/a, with the likely reason") {
    auto none = evaluate({}, pg_up(1));
    const auto* n = row(none, "pg_statement_mean_time");
    REQUIRE(n != nullptr);
    CHECK(n->state == Severity::Unknown);
    CHECK(n->note.find("pg_stat_statements") != std::string::npos);
  }
}

TEST_CASE("status: cache hit ratio per database, guarded as the alert guards it", "[status][pg]") {
  using namespace std::chrono_literals;
  // 10 s apart. Cumulative counts are large everywhere: an idle database read most of its
  // blocks from disk once, long ago, and a ratio since the statistics reset would warn.
  auto before = join({pg_up(1), database("afp", 1e6, 5e5), database("busy", 1e6, 5e5),
                      database("cold", 1e6, 5e5), database("postgres", 2000, 1000),
                      database("template0", 10, 990), database("template1", 10, 990)});
  auto after = join({pg_up(1), database("afp", 1e6 + 990, 5e5 + 10),  // 100/s, 99 %
                     database("busy", 1e6 + 9899, 5e5 + 101),         // 1000/s, 98.99 %
                     database("cold", 1e6 + 400, 5e5 + 99),           // 49.9/s, 80 %
                     database("postgres", 2000, 1000),                // nothing
                     database("template0", 10, 1990), database("template1", 10, 1990)});
  auto rows = evaluate(before, after, 10s);
  const auto* afp = row(rows, "pg_cache_hit_ratio", "afp");
  const auto* busy = row(rows, "pg_cache_hit_ratio", "busy");
  REQUIRE((afp != nullptr && busy != nullptr));
  CHECK(*afp->value == 0.99);
  CHECK(afp->state == Severity::Ok);  // 99 % exactly
  CHECK(*busy->value == Approx(0.9899));
  CHECK(busy->state == Severity::Warning);

  SECTION("under the alert's block rate: OK, idle, with the rate") {
    const auto* cold = row(rows, "pg_cache_hit_ratio", "cold");
    const auto* idle = row(rows, "pg_cache_hit_ratio", "postgres");
    REQUIRE((cold != nullptr && idle != nullptr));
    CHECK(cold->state == Severity::Ok);
    CHECK_FALSE(cold->value.has_value());
    CHECK(cold->note == "idle: 49.9 blocks/s over 10 s, under 50/s");
    CHECK(idle->state == Severity::Ok);
    CHECK(idle->note == "idle: 0.0 blocks/s over 10 s, under 50/s");
  }
  SECTION("template databases have no row, however busy") {
    CHECK(row(rows, "pg_cache_hit_ratio", "template0") == nullptr);
    CHECK(row(rows, "pg_cache_hit_ratio", "template1") == nullptr);
  }
  SECTION("a healthy but mostly idle server exits 0") {
    std::vector<CheckRow> pg;
    for (const auto& r : rows) {
      if (r.target != "busy") pg.push_back(r);
    }
    CHECK(exit_code(pg) == 0);
  }
}

TEST_CASE("status: cache hit ratio n/a while PostgreSQL's cache may be warming", "[status][pg]") {
  using namespace std::chrono_literals;
  auto after = join({pg_up(1), database("afp", 1000, 9000)});  // 10 %: a cold cache
  SECTION("PostgreSQL came up between the scrapes") {
    auto rows = evaluate(pg_up(0), after, 1s);
    const auto* r = row(rows, "pg_cache_hit_ratio", "afp");
    REQUIRE(r != nullptr);
    CHECK(r->state == Severity::Unknown);
    CHECK(r->note == "PostgreSQL came up between the scrapes: its cache is still warming");
  }
  SECTION("counters went back: restarted or statistics reset between the scrapes") {
    auto rows = evaluate(join({pg_up(1), database("afp", 1e6, 1e6)}), after, 1s);
    const auto* r = row(rows, "pg_cache_hit_ratio", "afp");
    REQUIRE(r != nullptr);
    CHECK(r->state == Severity::Unknown);
    CHECK(r->note ==
          "counters went back between the scrapes (PostgreSQL restarted or its statistics were "
          "reset): its cache may still be warming");
  }
  SECTION("no rate without both scrapes and the time between them") {
    auto first_lacks_it = evaluate(pg_up(1), after, 1s);
    const auto* missing = row(first_lacks_it, "pg_cache_hit_ratio", "afp");
    REQUIRE(missing != nullptr);
    CHECK(missing->state == Severity::Unknown);
    CHECK(missing->note == "not in both scrapes");
    auto no_clock = evaluate(after, after);
    const auto* no_time = row(no_clock, "pg_cache_hit_ratio", "afp");
    REQUIRE(no_time != nullptr);
    CHECK(no_time->state == Severity::Unknown);
    CHECK(no_time->note == "no time passed between the scrapes");
  }
}

TEST_CASE("status: the cache hit guards are AfpPostgresCacheHitLow's", "[status][pg][thresholds]") {
  YAML::Node doc = YAML::LoadFile(std::string(AFP_SOURCE_DIR) + "/rules/afp-alerts.yml");
  const std::regex volume(R"(instance_datname:pg_stat_database_blks:rate5m\s*>=\s*([0-9.]+))");
  int alerts = 0;
  for (const auto& group : doc["groups"]) {
    for (const auto& rule : group["rules"]) {
      if (!rule["alert"] || rule["alert"].as<std::string>() != "AfpPostgresCacheHitLow") continue;
      ++alerts;
      auto expr = rule["expr"].as<std::string>();
      INFO(expr);
      std::smatch m;
      REQUIRE(std::regex_search(expr, m, volume));
      CHECK(std::stod(m[1]) == afp::core::kCacheHitMinBlocksPerSecond);
      CHECK(expr.find(R"(datname!~"template0|template1")") != std::string::npos);
    }
  }
  CHECK(alerts == 2);  // warning and critical
}

TEST_CASE("status: dead-row ratio for the fingerprint table and tables with many dead rows",
          "[status][pg]") {
  auto after = join({pg_up(1), table("fingerprints", 5120000, 0), table("songs", 9000, 1000),
                     table("small", 100, 1900), table("quiet", 100000, 999)});
  auto rows = evaluate({}, after);
  const auto* f = row(rows, "pg_dead_row_ratio", "public.fingerprints (5.12M live rows)");
  REQUIRE(f != nullptr);
  CHECK(f->state == Severity::Ok);
  const auto* songs = row(rows, "pg_dead_row_ratio", "public.songs");
  const auto* small = row(rows, "pg_dead_row_ratio", "public.small");
  REQUIRE((songs != nullptr && small != nullptr));
  CHECK(songs->state == Severity::Warning);                          // 10 % exactly
  CHECK(small->state == Severity::Critical);                         // 95 %
  CHECK(row(rows, "pg_dead_row_ratio", "public.quiet") == nullptr);  // under 1000 dead rows
}

TEST_CASE("status: PostgreSQL rows in the table", "[status][pg]") {
  auto before = database("afp", 5000, 0);
  auto after = join({pg_up(1), statement("7", 10, 2), database("afp", 100000, 5000),
                     table("fingerprints", 900, 100)});
  std::ostringstream out;
  afp::cli::print_table(out, "x",
                        only(evaluate(before, after, std::chrono::seconds(1)),
                             {"cpu_busy", "memory_used", "pg_up", "pg_statement_mean_time",
                              "pg_cache_hit_ratio", "pg_dead_row_ratio"}));
  CHECK(out.str() ==
        "source: x\n"
        "CHECK                                                 VALUE  WARNING  CRITICAL  STATE\n"
        "CPU busy                                                  -      70%       90%  n/a "
        "(no node_cpu_seconds_total in both scrapes)\n"
        "memory used                                               -      80%       95%  n/a "
        "(no node_memory_MemTotal_bytes)\n"
        "PostgreSQL up                                            up        -      down  OK\n"
        "slowest statement mean queryid 7                    0.200 s      1 s       3 s  OK\n"
        "cache hit ratio afp                                   95.0%     <99%      <90%  WARN\n"
        "dead-row ratio public.fingerprints (900 live rows)    10.0%      10%       30%  WARN\n");
}

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

std::vector<Sample> identifications(double match, double no_match, double error) {
  return {{"afp_identifications_total", {{"result", "match"}}, match},
          {"afp_identifications_total", {{"result", "no_match"}}, no_match},
          {"afp_identifications_total", {{"result", "error"}}, error}};
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

TEST_CASE("status: bad flags exit 2 with one line", "[status][cli]") {
  auto args = GENERATE(
      as<std::vector<std::string>>{}, std::vector<std::string>{"--bogus"},
      std::vector<std::string>{"--interval", "soon"}, std::vector<std::string>{"--interval=1.5s"},
      std::vector<std::string>{"--timeout", "0s"}, std::vector<std::string>{"--url"},
      std::vector<std::string>{"--url="}, std::vector<std::string>{"--json=yes"},
      std::vector<std::string>{"extra"}, std::vector<std::string>{"--url", "127.0.0.1:9793"},
      std::vector<std::string>{"--url", "http://127.0.0.1:9793/\r\nX: y"},
      std::vector<std::string>{"--tls.ca-file"});
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
  CHECK(note.find(" blocks/s over 1 s, under 50/s") != std::string::npos);
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
