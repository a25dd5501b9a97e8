#pragma once

// `afp_exporter profile`, the judging half: from what was measured (timings, a query plan,
// system readings) to a report with percentiles, verdicts against core/thresholds.h and
// recommendations, and that report as text or JSON. Everything here is pure, so each rule
// is tested from tables of values; the measuring (I/O) lives in profile.cpp.

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/profile_plan.h"
#include "cli/status.h"
#include "core/thresholds.h"
#include "pg/advisor.h"
#include "pipeline/probe.h"

namespace afp::cli::profile {

// ---------------------------------------------------------------------------------------
// Percentiles.

struct Stats {
  std::size_t count = 0;
  double min = 0, p50 = 0, p95 = 0, max = 0;
};

// The nearest-rank percentile of sorted, non-empty values: the smallest value with at least
// `percent` % of the values at or below it, i.e. the one at 1-based rank ceil(percent/100 × n).
// It is always a measured value (no interpolation): with 20 runs p95 is the 19th fastest,
// with fewer than 20 it is the slowest.
double nearest_rank(const std::vector<double>& sorted, double percent);

// nullopt for no values.
std::optional<Stats> summarize(std::vector<double> values);

// ---------------------------------------------------------------------------------------
// The report.

// Pass/Warn/Fail against a requirement; None for what has no requirement or could not be
// judged (the row's note says which).
enum class Verdict { Pass, Warn, Fail, None };

Verdict verdict_of(const core::Threshold& requirement, double value);

// A timing over the iterations, judged by its p95.
struct Measure {
  std::string id;              // JSON name: api_total, stage_fingerprint, db_lookup, ...
  std::string label;           // text: "API total processing", "stage fingerprint", ...
  std::optional<Stats> stats;  // nullopt: no successful iteration
  std::optional<core::Threshold> requirement;
  Verdict verdict = Verdict::None;
};

// One reading judged once: a system value, or what the look-up plan does.
struct Reading {
  std::string id;               // cpu_busy, memory_used, disk_used, lookup_plan
  std::string label;            // "CPU busy", "disk used /", "look-up plan"
  std::string target;           // e.g. the mountpoint; "" when none
  std::optional<double> value;  // the number judged, when there is one
  std::string text;             // the value as shown when it is not a number
  std::optional<core::Threshold> requirement;
  Verdict verdict = Verdict::None;
  std::string note;  // why it is not judged, or what it is based on
};

struct Section {
  std::string name;            // api, audio, database, system
  std::string target;          // the URL, user@host:port/dbname, "local"
  std::string what;            // one line: "20 uploads of probe.wav (88.2 KiB)"
  std::size_t iterations = 0;  // 0 for a snapshot (system)
  std::size_t failed = 0;
  std::vector<std::pair<std::string, std::size_t>> errors;  // reason and count, first seen first
  std::vector<Measure> measures;
  std::vector<Reading> readings;
  std::vector<std::string> recommendations;
};

struct Report {
  std::string mode;
  std::size_t iterations = 0;
  std::vector<Section> sections;
  std::vector<std::string> skipped;  // full mode: "api: no --url given"
};

// 1 when any measure or reading is Warn or Fail or any iteration failed; otherwise 0 when
// something passed, and 2 when nothing could be judged (a profile that checked nothing is
// not a pass).
int exit_code(const Report& report);

void print_text(std::ostream& out, const Report& report);
void print_json(std::ostream& out, const Report& report);
// "PASS", "FAIL (1 failed, 1 warning)", ...: the one-line summary.
std::string summary_line(const Report& report);

// ---------------------------------------------------------------------------------------
// Judging what was measured.

// Which uploads view: api (total and every stage) or audio (the fingerprint stage alone).
enum class UploadView { Api, Audio };

inline constexpr std::string_view kFingerprintStage = "fingerprint";
inline constexpr std::string_view kDbStage = "db";

// Whether any successful upload reported `stage` in its Server-Timing header.
bool has_stage(const std::vector<pipeline::ProbeResult>& runs, std::string_view stage);
// The distinct stage names of the successful uploads, first seen first.
std::vector<std::string> stage_names(const std::vector<pipeline::ProbeResult>& runs);

// The uploads the probe made. Failed ones (no answer, timeout, non-2xx, malformed
// Server-Timing) are counted with their reasons and fail the run; the timings are those of
// the successful ones. The total is the client's view: connection, upload and answer.
Section judge_uploads(const std::vector<pipeline::ProbeResult>& runs, UploadView view,
                      std::string target, std::string what);

// What the database mode measured.
struct DatabaseFacts {
  std::string target;               // pg::describe() of the DSN
  std::string table;                // the fingerprint table as SQL writes it
  std::string analyze_sql;          // "ANALYZE fingerprints;"
  std::size_t hashes = 0;           // per look-up
  std::size_t iterations = 0;       // look-ups run
  std::vector<double> seconds;      // the successful ones
  std::vector<std::string> errors;  // the failed ones (statement timeout, ...)
  std::optional<PlanFacts> plan;    // nullopt when EXPLAIN failed
  std::string plan_error;           // why, then
  // The advisor's fix when it finds no index serving look-ups ("CREATE INDEX CONCURRENTLY
  // ... USING hash (hash);"); empty when one exists.
  std::string index_fix;
};

// The advisor's answer for the look-up index: the SQL of its hash_index_missing finding
// (with why optimize would not run it, when it would not); "" without that finding.
std::string missing_index_fix(const std::vector<pg::Finding>& findings);

// Row estimates this far apart from the actual rows (either way) mean stale statistics...
inline constexpr double kEstimateFactor = 10;
// ... once the larger of the two is this many rows: a few hundred rows either way cost
// nothing. Random hashes match nothing, while the planner expects about one row per hash:
// that is not an estimate worth an ANALYZE.
inline constexpr double kEstimateMinRows = 10000;
// Below this share of blocks found in shared buffers, a slow look-up waits on reads.
inline constexpr double kPlanCacheHitRatio = 0.90;
inline constexpr double kPlanMinBlocks = 100;

// The look-up timings against the database requirement, and the look-up plan: a sequential
// scan of the fingerprint table fails when no index serves look-ups (the advisor's critical
// finding), warns when the planner ignores an existing one on a table of
// pg::kSeqScanMinRows or more, and passes on a smaller table (a sequential scan is cheapest
// there).
Section judge_database(const DatabaseFacts& facts);

// The system rows of status's evaluate() (CPU busy, memory used, disk used per filesystem).
Section judge_system(const std::vector<CheckRow>& rows, std::string target, std::string what);

}  // namespace afp::cli::profile
