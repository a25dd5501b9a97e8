#include "cli/status.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <initializer_list>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
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
#include "status_samples.h"

// `status`: the thresholds and the system and PostgreSQL checks, from synthetic scrapes.
// The pipeline checks and the output are in status_pipeline_test.cpp, the command line in
// status_cli_test.cpp.

using afp::cli::CheckRow;
using afp::cli::evaluate;
using afp::cli::exit_code;
using afp::cli::run_status;
using afp::core::Severity;
using afp::metrics::Sample;
using namespace afp::test::status;

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

TEST_CASE("status: bind mounts of one device are one row that names every mountpoint", "[status]") {
  // One filesystem under /, /run/netns and /srv/hosts (bind mounts), another device, and a
  // read-only bind mount of the first, which stays a row of its own and is not judged.
  auto after = join({filesystem("/", 1000, 40, 0, 0, "/dev/vda1"), filesystem("/data", 1000, 500),
                     filesystem("/run/netns", 1000, 40, 0, 0, "/dev/vda1"),
                     filesystem("/srv/hosts", 1000, 40, 0, 0, "/dev/vda1"),
                     filesystem("/srv/ro", 1000, 40, 1, 0, "/dev/vda1")});
  auto rows = only(evaluate({}, after), {"disk_used"});
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].target == "/");
  CHECK(rows[0].state == Severity::Critical);  // 96 %
  CHECK(rows[0].note == "also /run/netns, /srv/hosts");
  CHECK(rows[1].target == "/data");
  CHECK(rows[1].note.empty());
  CHECK(rows[2].target == "/srv/ro");
  CHECK(rows[2].note == "read-only, not judged");
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

TEST_CASE("status: cache hit ratio n/a until PostgreSQL has been up the settle time",
          "[status][pg]") {
  using namespace std::chrono_literals;
  using afp::core::kCacheHitSettleSeconds;
  // A reading the alert would call critical: 10 %, 1000 blocks/s over 10 s.
  auto before = join({pg_up(1), database("afp", 1e6, 1e6)});
  auto after_blocks = database("afp", 1e6 + 1000, 1e6 + 9000);
  const std::chrono::system_clock::time_point read_at{std::chrono::seconds(1765119600)};
  const double now = 1765119600;
  auto started = [&](double start) {
    return join({pg_up(1), after_blocks, {{"pg_postmaster_start_time_seconds", {}, start}}});
  };
  auto cache_row = [&](const std::vector<Sample>& b, const std::vector<Sample>& a,
                       std::optional<std::chrono::system_clock::time_point> at) {
    auto rows = evaluate(b, a, 10s, at);
    const auto* r = row(rows, "pg_cache_hit_ratio", "afp");
    REQUIRE(r != nullptr);
    return *r;
  };

  SECTION("started 10 minutes ago: not judged, and the row says why") {
    auto r = cache_row(before, started(now - 600), read_at);
    CHECK(r.state == Severity::Unknown);
    CHECK_FALSE(r.value.has_value());
    CHECK(r.note ==
          "PostgreSQL started 600 s ago, judged from 900 s on: its cache is still warming");
  }
  SECTION(
      "exactly the settle time: still not judged (the rule's offset needs a scrape from after the "
      "start)") {
    auto r = cache_row(before, started(now - kCacheHitSettleSeconds), read_at);
    CHECK(r.state == Severity::Unknown);
  }
  SECTION("a second past the settle time: judged") {
    auto r = cache_row(before, started(now - kCacheHitSettleSeconds - 1), read_at);
    CHECK(r.state == Severity::Critical);
    CHECK(*r.value == Approx(0.1));
  }
  SECTION("a restart between the scrapes that pg_up and the counters do not show") {
    // PostgreSQL 15 keeps its statistics over a clean restart: the counters go on, and a
    // restart quicker than the interval leaves pg_up 1 in both scrapes.
    auto b = join({before, {{"pg_postmaster_start_time_seconds", {}, now - 86400}}});
    auto r = cache_row(b, started(now - 2), read_at);
    CHECK(r.state == Severity::Unknown);
    CHECK(r.note == "PostgreSQL started 2 s ago, judged from 900 s on: its cache is still warming");
  }
  SECTION("a shorter settle time (--pg.cache-settle, for rules with shortened timings)") {
    auto rows = evaluate(before, started(now - 120), 10s, read_at, 90s);
    const auto* r = row(rows, "pg_cache_hit_ratio", "afp");
    REQUIRE(r != nullptr);
    CHECK(r->state == Severity::Critical);
    rows = evaluate(before, started(now - 60), 10s, read_at, 90s);
    r = row(rows, "pg_cache_hit_ratio", "afp");
    REQUIRE(r != nullptr);
    CHECK(r->note ==
          "PostgreSQL started 60 s ago, judged from 90 s on: its cache is still warming");
  }
  SECTION("a start time ahead of this clock: not judged, the skew named") {
    auto r = cache_row(before, started(now + 30), read_at);
    CHECK(r.state == Severity::Unknown);
    CHECK(r.note ==
          "PostgreSQL's start time is 30 s ahead of this clock: its cache may still be warming");
  }
  SECTION("no start time (an older exporter) or no clock: judged on the scrapes alone") {
    CHECK(cache_row(before, join({pg_up(1), after_blocks}), read_at).state == Severity::Critical);
    CHECK(cache_row(before, started(now - 600), std::nullopt).state == Severity::Critical);
  }
  SECTION("a hostile start time is no start time") {
    for (double start :
         {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
          -std::numeric_limits<double>::infinity()}) {
      INFO(start);
      CHECK(cache_row(before, started(start), read_at).state == Severity::Critical);
    }
    // Absurd but finite: long ago (judged) or far ahead (held back, the skew named).
    CHECK(cache_row(before, started(-1e300), read_at).state == Severity::Critical);
    auto ahead = cache_row(before, started(1e300), read_at);
    CHECK(ahead.state == Severity::Unknown);
    CHECK_THAT(ahead.note, Catch::Contains("ahead of this clock"));
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
