#pragma once

// `afp_exporter profile`, the judging: from what was measured (timings, a query plan, system
// readings) to report sections with verdicts and recommendations. Everything here is pure,
// so each rule is tested from tables of values.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/profile_plan.h"
#include "cli/profile_report.h"
#include "cli/status_checks.h"
#include "core/thresholds.h"
#include "pg/advisor.h"
#include "pipeline/probe.h"

namespace afp::cli::profile {

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
