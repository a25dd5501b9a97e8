// `afp_exporter profile`: percentiles, judging and recommendations from tables of values
// (cli/profile_report.h, cli/profile_judge.h, cli/profile_plan.h) and the rendered reports.
// The command itself is in profile_cli_test.cpp.
#include "cli/profile.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli/profile_judge.h"
#include "cli/profile_plan.h"
#include "cli/profile_render.h"
#include "cli/profile_report.h"
#include "golden.h"
#include "http/server.h"
#include "log/logger.h"

using namespace afp;
namespace p = afp::cli::profile;
using json = nlohmann::json;
using afp::core::Severity;

namespace {

// ---------------------------------------------------------------------------------------
// Synthetic measurements.

pipeline::ProbeResult upload(double seconds, std::vector<pipeline::ProbeResult::Stage> stages) {
  pipeline::ProbeResult r;
  r.success = true;
  r.duration_seconds = seconds;
  r.http_status = 200;
  r.stages = std::move(stages);
  return r;
}

pipeline::ProbeResult failed_upload(std::string error, long status) {
  pipeline::ProbeResult r;
  r.http_status = status;
  r.error = std::move(error);
  return r;
}

// n uploads whose stage `stage` takes 1, 2, ..., n times `step` seconds (total: twice that).
std::vector<pipeline::ProbeResult> uploads(int n, const std::string& stage, double step) {
  std::vector<pipeline::ProbeResult> runs;
  for (int i = 1; i <= n; ++i) {
    runs.push_back(upload(2 * i * step, {{"decode", 0.001}, {stage, i * step}}));
  }
  return runs;
}

const p::Measure* measure(const p::Section& s, std::string_view id) {
  for (const auto& m : s.measures) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

bool any_contains(const std::vector<std::string>& texts, std::string_view part) {
  return std::any_of(texts.begin(), texts.end(),
                     [&](const std::string& t) { return t.find(part) != std::string::npos; });
}

std::string text_of(const p::Report& r) {
  std::ostringstream out;
  p::print_text(out, r);
  return out.str();
}

// EXPLAIN (ANALYZE, BUFFERS, VERBOSE, FORMAT JSON) as PostgreSQL 15 prints it, trimmed.
constexpr const char* kParallelSeqScanPlan = R"([{"Plan": {
  "Node Type": "Gather", "Parallel Aware": false, "Plan Rows": 1000, "Actual Rows": 0,
  "Actual Loops": 1, "Shared Hit Blocks": 1500, "Shared Read Blocks": 200,
  "Plans": [{"Node Type": "Seq Scan", "Parent Relationship": "Outer", "Parallel Aware": true,
             "Relation Name": "fingerprints", "Schema": "public", "Alias": "fingerprints",
             "Plan Rows": 417, "Actual Rows": 0, "Actual Loops": 3,
             "Rows Removed by Filter": 66667}]},
  "Planning Time": 1.2, "Execution Time": 55.5}])";

constexpr const char* kBitmapPlan = R"([{"Plan": {
  "Node Type": "Bitmap Heap Scan", "Parallel Aware": false, "Relation Name": "fingerprints",
  "Schema": "public", "Alias": "fingerprints", "Plan Rows": 1000, "Actual Rows": 0,
  "Actual Loops": 1, "Shared Hit Blocks": 2000, "Shared Read Blocks": 0,
  "Plans": [{"Node Type": "Bitmap Index Scan", "Parent Relationship": "Outer",
             "Parallel Aware": false, "Index Name": "ix_fingerprints_hash", "Plan Rows": 1000,
             "Actual Rows": 0, "Actual Loops": 1}]},
  "Planning Time": 0.9, "Execution Time": 3.1}])";

// A plan of a small table: a few hundred rows read sequentially.
constexpr const char* kSmallSeqScanPlan = R"([{"Plan": {
  "Node Type": "Seq Scan", "Relation Name": "fingerprints", "Schema": "public",
  "Plan Rows": 1, "Actual Rows": 0, "Actual Loops": 1, "Rows Removed by Filter": 300}}])";

p::DatabaseFacts database_facts(const char* plan, std::vector<double> seconds = {0.01, 0.02}) {
  p::DatabaseFacts f;
  f.target = "afp@127.0.0.1:5432/afp";
  f.table = "fingerprints";
  f.analyze_sql = "ANALYZE fingerprints;";
  f.hashes = 1000;
  f.iterations = seconds.size();
  f.seconds = std::move(seconds);
  if (plan != nullptr) f.plan = p::read_plan(plan, "public", "fingerprints");
  return f;
}

constexpr const char* kIndexFix =
    "CREATE INDEX CONCURRENTLY ix_fingerprints_hash ON fingerprints USING hash (hash);";

cli::CheckRow check_row(const core::Threshold& t, std::string target, std::optional<double> value,
                        Severity state, std::string note = {}) {
  return cli::CheckRow{t, std::move(target), value, state, std::move(note), std::nullopt};
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Percentiles.

TEST_CASE("profile: nearest-rank percentiles", "[profile]") {
  struct Row {
    std::vector<double> values;
    double min, p50, p95, max;
  };
  std::vector<double> to20, to21, to100;
  for (int i = 1; i <= 100; ++i) {
    if (i <= 20) to20.push_back(i);
    if (i <= 21) to21.push_back(i);
    to100.push_back(i);
  }
  std::shuffle(to100.begin(), to100.end(), std::mt19937(7));  // order does not matter
  auto row = GENERATE_COPY(values<Row>({
      {{5}, 5, 5, 5, 5},
      {{4, 3, 2, 1}, 1, 2, 4, 4},  // p50: rank ceil(2) = 2; p95: rank ceil(3.8) = 4
      {{0.3, 0.1}, 0.1, 0.1, 0.3, 0.3},
      {to20, 1, 10, 19, 20},    // p95: rank 19, exactly
      {to21, 1, 11, 20, 21},    // p50: rank ceil(10.5) = 11; p95: rank ceil(19.95) = 20
      {to100, 1, 50, 95, 100},  // p95: rank 95
      {{7, 7, 7}, 7, 7, 7, 7},
  }));
  auto stats = p::summarize(row.values);
  REQUIRE(stats.has_value());
  CHECK(stats->count == row.values.size());
  CHECK(stats->min == row.min);
  CHECK(stats->p50 == row.p50);
  CHECK(stats->p95 == row.p95);
  CHECK(stats->max == row.max);
}

TEST_CASE("profile: no values, no statistics", "[profile]") {
  CHECK_FALSE(p::summarize({}).has_value());
}

TEST_CASE("profile: verdicts at and around the requirements", "[profile]") {
  auto [threshold, value, verdict] = GENERATE(table<core::Threshold, double, Severity>({
      {core::kApiProcessingP95, 4.999, Severity::Ok},
      {core::kApiProcessingP95, 5.0, Severity::Warning},
      {core::kApiProcessingP95, 9.999, Severity::Warning},
      {core::kApiProcessingP95, 10.0, Severity::Critical},
      {core::kFingerprintGenerationP95, 2.999, Severity::Ok},
      {core::kFingerprintGenerationP95, 3.0, Severity::Warning},
      {core::kFingerprintGenerationP95, 5.0, Severity::Critical},
      {core::kDbQueryP95, 0.999, Severity::Ok},
      {core::kDbQueryP95, 1.0, Severity::Warning},
      {core::kDbQueryP95, 3.0, Severity::Critical},
  }));
  INFO(threshold.name << " " << value);
  CHECK(core::level_of(threshold, value) == verdict);
}

// ---------------------------------------------------------------------------------------
// Uploads.

TEST_CASE("profile: api measures the total and every stage, judged by p95", "[profile]") {
  // Stage fingerprint 0.1 .. 2.0 s (p95 1.9 s), total 0.2 .. 4.0 s (p95 3.8 s): all pass.
  auto s = p::judge_uploads(uploads(20, "fingerprint", 0.1), p::UploadView::Api, "URL", "what");
  CHECK(s.name == "api");
  CHECK(s.iterations == 20);
  CHECK(s.failed == 0);
  REQUIRE(s.measures.size() == 3);
  CHECK(s.measures[0].id == "api_total");
  CHECK(s.measures[1].id == "stage_fingerprint");  // stages with a requirement first
  CHECK(s.measures[2].id == "stage_decode");
  CHECK(s.measures[0].stats->p95 == Approx(3.8));
  CHECK(s.measures[0].verdict == Severity::Ok);
  CHECK(s.measures[1].requirement->name == core::kFingerprintGenerationP95.name);
  CHECK(s.measures[1].stats->p95 == Approx(1.9));
  CHECK(s.measures[1].verdict == Severity::Ok);
  CHECK_FALSE(s.measures[2].requirement.has_value());
  CHECK(s.measures[2].verdict == Severity::Unknown);
  CHECK(s.recommendations.empty());
  CHECK(p::exit_code({"api", 20, {s}, {}}) == 0);
}

TEST_CASE("profile: a slow stage fails with the recommendation for it", "[profile]") {
  SECTION("fingerprint p95 over 5 s: the FFT and sample-rate advice") {
    auto s = p::judge_uploads(uploads(20, "fingerprint", 0.3), p::UploadView::Api, "URL", "");
    const auto* fp = measure(s, "stage_fingerprint");
    CHECK(fp->stats->p95 == Approx(5.7));
    CHECK(fp->verdict == Severity::Critical);
    CHECK(measure(s, "api_total")->verdict == Severity::Critical);  // 11.4 s
    REQUIRE(s.recommendations.size() == 2);
    CHECK(s.recommendations[0].find("most of it is stage fingerprint") != std::string::npos);
    CHECK(s.recommendations[1] ==
          "fingerprint generation p95 is 5.700 s, over the 5 s critical threshold: lower the FFT "
          "window overlap (Dejavu's DEFAULT_OVERLAP_RATIO) or the fan value (DEFAULT_FAN_VALUE), "
          "downsample the audio to 11025 Hz before fingerprinting, or add CPU");
  }
  SECTION("db p95 over 1 s: points at the database mode and db report") {
    auto s = p::judge_uploads(uploads(20, "db", 0.06), p::UploadView::Api, "URL", "");
    CHECK(measure(s, "stage_db")->requirement->name == core::kDbQueryP95.name);
    CHECK(measure(s, "stage_db")->verdict == Severity::Warning);  // 1.14 s
    REQUIRE(s.recommendations.size() == 1);
    CHECK(s.recommendations[0].find("over the 1 s warning threshold: run afp_exporter profile "
                                    "--mode database") != std::string::npos);
  }
  SECTION("a slow total without stages asks for Server-Timing") {
    std::vector<pipeline::ProbeResult> runs{upload(6, {}), upload(7, {})};
    auto s = p::judge_uploads(runs, p::UploadView::Api, "URL", "");
    CHECK(s.measures.size() == 1);
    CHECK(s.measures[0].verdict == Severity::Warning);
    CHECK(any_contains(s.recommendations, "the app sends no Server-Timing stages"));
  }
  SECTION("a slow total the stages do not explain") {
    std::vector<pipeline::ProbeResult> runs{upload(6, {{"fingerprint", 1}}),
                                            upload(7, {{"fingerprint", 1.5}})};
    auto s = p::judge_uploads(runs, p::UploadView::Api, "URL", "");
    CHECK(measure(s, "stage_fingerprint")->verdict == Severity::Ok);
    REQUIRE(s.recommendations.size() == 1);
    CHECK(s.recommendations[0].find("the rest is upload, queueing or untimed work") !=
          std::string::npos);
  }
}

TEST_CASE("profile: failed uploads are counted by reason and fail the run", "[profile]") {
  std::vector<pipeline::ProbeResult> runs{
      upload(0.1, {{"fingerprint", 0.05}}), failed_upload("HTTP status 500", 500),
      failed_upload("Timeout was reached", 0), failed_upload("HTTP status 500", 500)};
  auto s = p::judge_uploads(runs, p::UploadView::Api, "URL", "");
  CHECK(s.iterations == 4);
  CHECK(s.failed == 3);
  CHECK(s.errors == std::vector<std::pair<std::string, std::size_t>>{{"HTTP status 500", 2},
                                                                     {"Timeout was reached", 1}});
  CHECK(s.measures[0].stats->count == 1);  // the timings are the successful uploads'
  CHECK(s.measures[0].verdict == Severity::Ok);
  CHECK(any_contains(s.recommendations, "3 of 4 uploads failed"));
  p::Report r{"api", 4, {s}, {}};
  CHECK(p::exit_code(r) == 1);
  CHECK(p::summary_line(r) == "FAIL (3 of 4 api iterations failed)");

  SECTION("every upload failed: nothing measured, still a failure") {
    auto all =
        p::judge_uploads({failed_upload("HTTP status 500", 500)}, p::UploadView::Api, "", "");
    CHECK_FALSE(all.measures[0].stats.has_value());
    CHECK(p::exit_code({"api", 1, {all}, {}}) == 1);
  }
}

TEST_CASE("profile: audio reports the fingerprint stage alone", "[profile]") {
  auto runs = uploads(10, "fingerprint", 0.35);  // p95 = max = 3.5 s
  CHECK(p::has_stage(runs, "fingerprint"));
  CHECK_FALSE(p::has_stage(runs, "db"));
  CHECK(p::stage_names(runs) == std::vector<std::string>{"decode", "fingerprint"});
  auto s = p::judge_uploads(runs, p::UploadView::Audio, "URL", "");
  CHECK(s.name == "audio");
  REQUIRE(s.measures.size() == 1);
  CHECK(s.measures[0].id == "stage_fingerprint");
  CHECK(s.measures[0].label == "fingerprint generation");
  CHECK(s.measures[0].stats->p95 == Approx(3.5));
  CHECK(s.measures[0].verdict == Severity::Warning);
  REQUIRE(s.recommendations.size() == 1);
  CHECK(s.recommendations[0].find("over the 3 s warning threshold: lower the FFT window overlap") !=
        std::string::npos);
}

TEST_CASE("profile: stages of failed uploads do not count", "[profile]") {
  auto failed = failed_upload("malformed Server-Timing header", 200);
  failed.stages = {{"fingerprint", 9}};
  CHECK_FALSE(p::has_stage({failed}, "fingerprint"));
  CHECK(p::stage_names({failed}).empty());
}

// ---------------------------------------------------------------------------------------
// The look-up and its plan.

TEST_CASE("profile: Dejavu's look-up SQL of random 10-byte hashes", "[profile]") {
  std::mt19937_64 rng(1);
  auto hashes = p::random_hashes(rng, 3);
  REQUIRE(hashes.size() == 3);
  for (const auto& h : hashes) {
    CHECK(h.size() == 20);
    CHECK(h.find_first_not_of("0123456789abcdef") == std::string::npos);
  }
  CHECK(hashes[0] != hashes[1]);
  CHECK(p::lookup_sql("fingerprints", "hash", {"00ff", "a1b2"}) ==
        "SELECT upper(encode(hash, 'hex')), song_id, \"offset\" FROM fingerprints WHERE hash IN "
        "(decode('00ff', 'hex'), decode('a1b2', 'hex'))");
  CHECK(p::lookup_sql("afp.\"Fingerprints\"", "\"Hash\"", {"00"}) ==
        "SELECT upper(encode(\"Hash\", 'hex')), song_id, \"offset\" FROM afp.\"Fingerprints\" "
        "WHERE \"Hash\" IN (decode('00', 'hex'))");
}

TEST_CASE("profile: the plan walk finds scans of the fingerprint table", "[profile]") {
  SECTION("Parallel Seq Scan under Gather") {
    auto plan = p::read_plan(kParallelSeqScanPlan, "public", "fingerprints");
    CHECK(plan.analyzed);
    REQUIRE(plan.scans.size() == 1);
    REQUIRE(plan.seq_scan() != nullptr);
    CHECK(p::describe(*plan.seq_scan()) == "Parallel Seq Scan");
    CHECK(plan.seq_scan()->loops == 3);
    CHECK(plan.seq_scan()->removed_rows == 66667);
    CHECK(plan.shared_hit_blocks == 1500);
    CHECK(plan.shared_read_blocks == 200);
    CHECK(plan.execution_ms == 55.5);
  }
  SECTION("Bitmap Heap Scan over the hash index") {
    auto plan = p::read_plan(kBitmapPlan, "public", "fingerprints");
    CHECK(plan.seq_scan() == nullptr);
    REQUIRE(plan.scans.size() == 1);
    CHECK(p::describe(plan.scans[0]) == "Bitmap Heap Scan");
    CHECK(plan.indexes == std::vector<std::string>{"ix_fingerprints_hash"});
  }
  SECTION("another table or schema is not the fingerprint table") {
    CHECK(p::read_plan(kParallelSeqScanPlan, "public", "songs").scans.empty());
    CHECK(p::read_plan(kParallelSeqScanPlan, "archive", "fingerprints").scans.empty());
    CHECK(p::read_plan(kParallelSeqScanPlan, "", "fingerprints").seq_scan() != nullptr);
  }
  SECTION("a plan without ANALYZE") {
    auto plan = p::read_plan(R"([{"Plan": {"Node Type": "Seq Scan", "Relation Name": "fingerprints",
                                 "Plan Rows": 5}}])",
                             "public", "fingerprints");
    CHECK_FALSE(plan.analyzed);
    CHECK(plan.seq_scan() != nullptr);
  }
  SECTION("not EXPLAIN output") {
    for (const char* bad : {"", "[]", "{\"Plan\": {}}", "[{\"Plan\": 3}]", "[1]", "QUERY PLAN"}) {
      INFO(bad);
      CHECK_THROWS_AS(p::read_plan(bad, "public", "fingerprints"), std::runtime_error);
    }
  }
}

TEST_CASE("profile: a sequential scan without a look-up index fails with the advisor's fix",
          "[profile]") {
  auto f = database_facts(kParallelSeqScanPlan);
  f.index_fix = kIndexFix;
  auto s = p::judge_database(f);
  CHECK(s.name == "database");
  CHECK(s.measures[0].id == "db_lookup");
  CHECK(s.measures[0].requirement->name == core::kDbQueryP95.name);
  CHECK(s.measures[0].verdict == Severity::Ok);
  REQUIRE(s.readings.size() == 1);
  CHECK(s.readings[0].id == "lookup_plan");
  CHECK(s.readings[0].text == "Parallel Seq Scan on fingerprints (200001 rows read)");
  CHECK(s.readings[0].verdict == Severity::Critical);
  CHECK(s.readings[0].note == "no index serves look-ups");
  REQUIRE(s.recommendations.size() == 1);
  CHECK(s.recommendations[0] ==
        "no index serves the look-ups: each look-up reads the whole table (Parallel Seq Scan on "
        "fingerprints (200001 rows read)); create Dejavu's hash index: CREATE INDEX CONCURRENTLY "
        "ix_fingerprints_hash ON fingerprints USING hash (hash); (or afp_exporter db optimize "
        "--apply, as the table owner)");
  CHECK(p::exit_code({"database", 2, {s}, {}}) == 1);
}

TEST_CASE("profile: judging the look-up plan", "[profile]") {
  SECTION("the hash index in use passes") {
    auto s = p::judge_database(database_facts(kBitmapPlan));
    CHECK(s.readings[0].text == "Bitmap Heap Scan on fingerprints using ix_fingerprints_hash");
    CHECK(s.readings[0].verdict == Severity::Ok);
    CHECK(s.recommendations.empty());
    CHECK(p::exit_code({"database", 2, {s}, {}}) == 0);
  }
  SECTION("an index the planner ignores on a large table warns, with ANALYZE") {
    auto s = p::judge_database(database_facts(kParallelSeqScanPlan));
    CHECK(s.readings[0].verdict == Severity::Warning);
    REQUIRE(s.recommendations.size() == 1);
    CHECK(s.recommendations[0].find("although a look-up index exists: refresh its statistics with "
                                    "ANALYZE fingerprints;") != std::string::npos);
  }
  SECTION("a sequential scan of a small table is cheapest") {
    auto s = p::judge_database(database_facts(kSmallSeqScanPlan));
    CHECK(s.readings[0].verdict == Severity::Ok);
    CHECK(s.readings[0].note == "small table: a sequential scan is cheapest");
    CHECK(s.recommendations.empty());
  }
  SECTION("no plan: not judged, the advisor's fix still given") {
    auto f = database_facts(nullptr);
    f.plan_error = "canceling statement due to statement timeout";
    f.index_fix = kIndexFix;
    auto s = p::judge_database(f);
    CHECK(s.readings[0].verdict == Severity::Unknown);
    CHECK(s.readings[0].note == "EXPLAIN failed: canceling statement due to statement timeout");
    REQUIRE(s.recommendations.size() == 1);
    CHECK(s.recommendations[0].find("no valid index on fingerprints starts with the hash column; "
                                    "create Dejavu's hash index: CREATE INDEX CONCURRENTLY") !=
          std::string::npos);
  }
}

TEST_CASE("profile: ANALYZE when the row estimates are far off", "[profile]") {
  auto plan_with = [](double plan_rows, double actual_rows) {
    return R"([{"Plan": {"Node Type": "Index Scan", "Relation Name": "fingerprints",
               "Index Name": "ix", "Plan Rows": )" +
           std::to_string(plan_rows) + R"(, "Actual Rows": )" + std::to_string(actual_rows) +
           R"(, "Actual Loops": 1}}])";
  };
  auto [plan_rows, actual_rows, advised] = GENERATE(table<double, double, bool>({
      {1000, 0, false},  // random hashes match nothing; ~1 row per hash is the right guess
      {9999, 0, false},  // under 10,000 rows either way: not worth it
      {200000, 0, true},
      {10000, 999, true},
      {10000, 1001, false},  // within a factor of 10
      {50, 60000, true},
  }));
  INFO(plan_rows << " estimated, " << actual_rows << " actual");
  auto plan = plan_with(plan_rows, actual_rows);
  auto s = p::judge_database(database_facts(plan.c_str()));
  CHECK(s.readings[0].text == "Index Scan using ix on fingerprints");
  CHECK(any_contains(s.recommendations, "its statistics are stale; ANALYZE fingerprints;") ==
        advised);
}

TEST_CASE("profile: slow look-ups over an index", "[profile]") {
  auto plan = [](int hit, int read) {
    return R"([{"Plan": {"Node Type": "Bitmap Heap Scan", "Relation Name": "fingerprints",
               "Plan Rows": 1000, "Actual Rows": 0, "Actual Loops": 1, "Shared Hit Blocks": )" +
           std::to_string(hit) + R"(, "Shared Read Blocks": )" + std::to_string(read) +
           R"(, "Plans": [{"Node Type": "Bitmap Index Scan", "Index Name": "ix_fingerprints_hash"}]}}])";
  };
  SECTION("mostly read from disk: more memory") {
    auto text = plan(100, 900);
    auto s = p::judge_database(database_facts(text.c_str(), {1.5, 2.0}));
    CHECK(s.measures[0].verdict == Severity::Warning);
    REQUIRE(s.recommendations.size() == 1);
    CHECK(s.recommendations[0].find("read 900 of 1000 blocks from outside shared buffers: give "
                                    "PostgreSQL more memory") != std::string::npos);
  }
  SECTION("cached: look elsewhere") {
    auto text = plan(1000, 0);
    auto s = p::judge_database(database_facts(text.c_str(), {3.5}));
    CHECK(s.measures[0].verdict == Severity::Critical);
    REQUIRE(s.recommendations.size() == 1);
    CHECK(s.recommendations[0].find("and still take p95 3.500 s") != std::string::npos);
  }
  SECTION("fast: nothing to recommend, whatever the cache did") {
    auto text = plan(100, 900);
    CHECK(p::judge_database(database_facts(text.c_str(), {0.2})).recommendations.empty());
  }
}

TEST_CASE("profile: failed look-ups fail the run", "[profile]") {
  auto f = database_facts(kBitmapPlan, {0.01});
  f.iterations = 3;
  f.errors = {"ERROR: canceling statement due to statement timeout",
              "ERROR: canceling statement due to statement timeout"};
  auto s = p::judge_database(f);
  CHECK(s.failed == 2);
  CHECK(s.errors.size() == 1);
  CHECK(s.errors[0].second == 2);
  CHECK(any_contains(s.recommendations, "2 of 3 look-ups failed"));
  CHECK(p::exit_code({"database", 3, {s}, {}}) == 1);
}

TEST_CASE("profile: the advisor's missing-index fix", "[profile]") {
  pg::Finding other;
  other.id = "stale_statistics";
  other.fix_sql = "ANALYZE fingerprints;";
  CHECK(p::missing_index_fix({other}).empty());
  pg::Finding missing;
  missing.id = "hash_index_missing";
  missing.fix_sql = kIndexFix;
  CHECK(p::missing_index_fix({other, missing}) == kIndexFix);
  missing.fix_sql.clear();
  missing.action = pg::Action{pg::ActionKind::CreateIndex, "public.fingerprints", kIndexFix};
  missing.blocked = "a table named ix_fingerprints_hash already exists";
  CHECK(p::missing_index_fix({missing}) ==
        std::string(kIndexFix) + " (a table named ix_fingerprints_hash already exists)");
}

// ---------------------------------------------------------------------------------------
// System.

TEST_CASE("profile: system readings from status's checks", "[profile]") {
  std::vector<cli::CheckRow> rows{
      check_row(core::kCpuBusy, "", 0.95, Severity::Critical),
      check_row(core::kMemoryUsed, "", 0.5, Severity::Ok),
      check_row(core::kDiskUsed, "/data", 0.9, Severity::Warning),
      check_row(core::kDiskUsed, "/media/cd", 1.0, Severity::Unknown, "read-only, not judged"),
  };
  auto s = p::judge_system(rows, "local", "CPU busy over 1s");
  REQUIRE(s.readings.size() == 4);
  CHECK(s.readings[0].verdict == Severity::Critical);
  CHECK(s.readings[1].verdict == Severity::Ok);
  CHECK(s.readings[2].label == "disk used /data");
  CHECK(s.readings[2].verdict == Severity::Warning);
  CHECK(s.readings[3].verdict == Severity::Unknown);
  REQUIRE(s.recommendations.size() == 2);
  CHECK(s.recommendations[0] ==
        "CPU busy is 95.0%, over the 90% critical threshold: fingerprinting is CPU-bound; add "
        "CPU, or run fewer app workers per core");
  CHECK(s.recommendations[1].rfind("disk used /data is 90.0%, over the 85% warning threshold: "
                                   "free space or grow the filesystem",
                                   0) == 0);
  CHECK(p::exit_code({"system", 0, {s}, {}}) == 1);
  // Nothing judged is not a pass.
  auto unjudged = p::judge_system({rows[3]}, "local", "");
  CHECK(p::exit_code({"system", 0, {unjudged}, {}}) == 2);
}

// ---------------------------------------------------------------------------------------
// Output.

TEST_CASE("profile: the text report", "[profile]") {
  std::vector<pipeline::ProbeResult> runs{
      upload(0.5, {{"fingerprint", 0.25}, {"db", 0.125}, {"decode", 0.0625}}),
      upload(0.25, {{"fingerprint", 0.125}, {"db", 0.0625}, {"decode", 0.03125}}),
      failed_upload("HTTP status 500", 500)};
  auto api = p::judge_uploads(runs, p::UploadView::Api, "http://app/identify",
                              "3 uploads of probe.wav (2.9 KiB)");
  auto f = database_facts(kParallelSeqScanPlan, {0.5, 0.25});
  f.index_fix = kIndexFix;
  auto db = p::judge_database(f);
  auto system = p::judge_system({check_row(core::kMemoryUsed, "", 0.5, Severity::Ok)}, "local",
                                "memory used");
  p::Report report{"full", 3, {api, db, system}, {"something: a reason"}};
  CHECK(text_of(report) ==
        R"(profile: mode full, 3 iterations; percentiles are nearest-rank

api: http://app/identify
  3 uploads of probe.wav (2.9 KiB), 1 failed
    1x HTTP status 500
  MEASURE               COUNT      MIN      P50      P95      MAX  WARNING  CRITICAL  RESULT
  API total processing      2  0.250 s  0.250 s  0.500 s  0.500 s      5 s      10 s  PASS
  stage fingerprint         2  0.125 s  0.125 s  0.250 s  0.250 s      3 s       5 s  PASS
  stage db                  2  0.062 s  0.062 s  0.125 s  0.125 s      1 s       3 s  PASS
  stage decode              2  0.031 s  0.031 s  0.062 s  0.062 s        -         -  -

database: afp@127.0.0.1:5432/afp
  2 look-ups of 1000 random hashes in fingerprints, 0 failed
  MEASURE                COUNT      MIN      P50      P95      MAX  WARNING  CRITICAL  RESULT
  look-up (1000 hashes)      2  0.250 s  0.250 s  0.500 s  0.500 s      1 s       3 s  PASS
  CHECK         VALUE                                                 WARNING  CRITICAL  RESULT
  look-up plan  Parallel Seq Scan on fingerprints (200001 rows read)        -         -  FAIL (no index serves look-ups)

system: local
  memory used
  CHECK        VALUE  WARNING  CRITICAL  RESULT
  memory used  50.0%      80%       95%  PASS

skipped: something: a reason

recommendations:
  - api: 1 of 3 uploads failed (reasons above; the app's log says more): the run fails until every
    upload succeeds, and the failed ones are not in the percentiles
  - database: no index serves the look-ups: each look-up reads the whole table (Parallel Seq Scan on
    fingerprints (200001 rows read)); create Dejavu's hash index: CREATE INDEX CONCURRENTLY
    ix_fingerprints_hash ON fingerprints USING hash (hash); (or afp_exporter db optimize --apply, as
    the table owner)

result: FAIL (1 check failed, 1 of 3 api iterations failed)
)");
}

TEST_CASE("profile: the JSON report", "[profile]") {
  auto api = p::judge_uploads(uploads(4, "fingerprint", 1.5), p::UploadView::Api, "http://app/x",
                              "4 uploads");
  auto system = p::judge_system(
      {check_row(core::kCpuBusy, "", std::nullopt, Severity::Unknown, "no CPU time passed")},
      "local", "cpu");
  std::ostringstream out;
  p::print_json(out, {"full", 4, {api, system}, {"database: no DSN"}});
  auto doc = json::parse(out.str());
  CHECK(doc["mode"] == "full");
  CHECK(doc["iterations"] == 4);
  CHECK(doc["percentiles"] == "nearest-rank");
  CHECK(doc["result"] == "fail");
  CHECK(doc["exit_code"] == 1);
  CHECK(doc["skipped"] == json::array({"database: no DSN"}));
  const auto& a = doc["sections"][0];
  CHECK(a["name"] == "api");
  CHECK(a["target"] == "http://app/x");
  CHECK(a["iterations"] == 4);
  CHECK(a["failed"] == 0);
  CHECK(a["errors"] == json::array());
  const auto& total = a["measures"][0];
  CHECK(total["id"] == "api_total");
  CHECK(total["unit"] == "seconds");
  CHECK(total["count"] == 4);
  CHECK(total["min"] == 3.0);
  CHECK(total["p50"] == 6.0);
  CHECK(total["p95"] == 12.0);
  CHECK(total["max"] == 12.0);
  CHECK(total["requirement"] ==
        json{{"name", "api_processing_p95"}, {"warning", 5.0}, {"critical", 10.0}});
  CHECK(total["result"] == "fail");
  CHECK(a["measures"][2]["requirement"].is_null());
  CHECK(a["measures"][2]["result"].is_null());
  CHECK(a["recommendations"].size() == 2);
  const auto& cpu = doc["sections"][1]["checks"][0];
  CHECK(cpu["id"] == "cpu_busy");
  CHECK(cpu["value"].is_null());
  CHECK(cpu["result"].is_null());
  CHECK(cpu["note"] == "no CPU time passed");
  CHECK_FALSE(doc["sections"][1].contains("iterations"));
}

// ---------------------------------------------------------------------------------------
// The command line.
