#pragma once

// The requirement thresholds (docs/requirements.md), the one place they live in code:
// `status` and `profile` judge with them, and a test keeps the alerting rules and the
// dashboards' threshold steps equal to them.

#include <array>
#include <cstdint>
#include <string_view>

#include "core/severity.h"

namespace afp::core {

enum class Unit { Ratio, Seconds, Up };

// Most readings get worse as they grow; a cache hit ratio or an up flag gets worse as it
// falls.
enum class Direction { HigherIsWorse, LowerIsWorse };

struct Threshold {
  std::string_view name;  // stable id: status JSON "name", rule/dashboard tests
  std::string_view what;  // as a person reads it: the row label of `status`
  Unit unit;
  double warning;
  double critical;
  Direction direction = Direction::HigherIsWorse;
};

inline constexpr Threshold kFingerprintGenerationP95{
    "fingerprint_generation_p95", "fingerprint generation p95", Unit::Seconds, 3.0, 5.0};
inline constexpr Threshold kApiProcessingP95{"api_processing_p95", "API total processing p95",
                                             Unit::Seconds, 5.0, 10.0};
inline constexpr Threshold kDbQueryP95{"db_query_p95", "database query p95", Unit::Seconds, 1.0,
                                       3.0};
inline constexpr Threshold kCpuBusy{"cpu_busy", "CPU busy", Unit::Ratio, 0.70, 0.90};
inline constexpr Threshold kMemoryUsed{"memory_used", "memory used", Unit::Ratio, 0.80, 0.95};
// Judged per filesystem.
inline constexpr Threshold kDiskUsed{"disk_used", "disk used", Unit::Ratio, 0.85, 0.95};

inline constexpr std::array<Threshold, 6> kThresholds{
    kFingerprintGenerationP95, kApiProcessingP95, kDbQueryP95, kCpuBusy, kMemoryUsed, kDiskUsed};

// The database checks beyond the requirements, shared by `status`, the `db` advisor and
// the alerting rules (a test keeps rules/ equal to these).
inline constexpr Threshold kPgUp{"pg_up", "PostgreSQL up", Unit::Up, 1, 1, Direction::LowerIsWorse};
// Mean time per call of a statement: the same limits as the query p95 requirement.
inline constexpr Threshold kStatementMeanTime{"pg_statement_mean_time", "slowest statement mean",
                                              Unit::Seconds, kDbQueryP95.warning,
                                              kDbQueryP95.critical};
// Below 99 % a look-up batch starts to wait on disk; at 90 % one block read in ten does.
inline constexpr Threshold kCacheHitRatio{
    "pg_cache_hit_ratio", "cache hit ratio", Unit::Ratio, 0.99, 0.90, Direction::LowerIsWorse};
// ... judged only while a database reads at least this many blocks per second (hits and
// reads), as AfpPostgresCacheHitLow: below it a few cold reads of an idle database swing
// the ratio, and nothing waits on them.
inline constexpr double kCacheHitMinBlocksPerSecond = 50;
// ... and not until PostgreSQL has been up this long (pg_postmaster_start_time_seconds):
// shared buffers start empty, and every first read of a block misses.
inline constexpr std::int64_t kCacheHitSettleSeconds = 15 * 60;
// Autovacuum's default scale factor (0.2) lets dead rows reach about 17 % between runs, so
// 10 % is worth a look and 30 % means vacuum is not keeping up.
inline constexpr Threshold kDeadRowRatio{"pg_dead_row_ratio", "dead-row ratio", Unit::Ratio, 0.10,
                                         0.30};

// When a database reading is judged at all: the guards `status`, `db report` and the
// alerting rules share (tests/unit/rules_thresholds_test.cpp holds the rules to these numbers).
//
// Databases never judged: PostgreSQL's templates. Nobody queries them; what they count is
// PostgreSQL's own work (CREATE DATABASE copies template1).
inline constexpr std::array<std::string_view, 2> kUnjudgedDatabases{"template0", "template1"};
// A dead-row ratio of a small table is noise: judged from this many dead rows on.
inline constexpr std::int64_t kDeadRowMinRows = 1000;
// Planner statistics are stale when more than this share of the live rows (and at least
// kStaleMinRows) changed since the last ANALYZE, or rows changed and it is older than
// kStaleAnalyzeAgeDays, or a table of kStaleMinRows rows was never analyzed.
inline constexpr double kStaleModifiedRatio = 0.10;
inline constexpr std::int64_t kStaleMinRows = 1000;
inline constexpr std::int64_t kStaleAnalyzeAgeDays = 7;
// Sequential scans of the fingerprint table matter from this size on: the planner rightly
// scans a small table instead of using its index.
inline constexpr std::int64_t kSeqScanMinLiveRows = 10000;

inline constexpr std::array<Threshold, 4> kDatabaseThresholds{kPgUp, kStatementMeanTime,
                                                              kCacheHitRatio, kDeadRowRatio};

// Identifications that ended in an error (not a no-match: that is an answer) out of all.
// One in a hundred failing is worth a look; one in twenty is an outage for those users.
inline constexpr Threshold kIdentificationErrorRatio{
    "identification_error_ratio", "identification errors", Unit::Ratio, 0.01, 0.05};

constexpr const Threshold* find_threshold(std::string_view name) {
  for (const auto& t : kThresholds) {
    if (t.name == name) return &t;
  }
  for (const auto& t : kDatabaseThresholds) {
    if (t.name == name) return &t;
  }
  if (name == kIdentificationErrorRatio.name) return &kIdentificationErrorRatio;
  return nullptr;
}

// As a Grafana threshold step colours from its value up: a value at a higher-is-worse
// threshold has reached it (0.70 CPU busy is a warning), a value at a lower-is-worse one
// has not (a 0.99 cache hit ratio is fine, 0.9899 is a warning). `status`, `profile` and
// the advisor judge with this. The level a reading has reached is a Severity: Ok, Warning
// or Critical.
constexpr Severity level_of(const Threshold& t, double value) {
  if (t.direction == Direction::LowerIsWorse) {
    if (value < t.critical) return Severity::Critical;
    if (value < t.warning) return Severity::Warning;
    return Severity::Ok;
  }
  if (value >= t.critical) return Severity::Critical;
  if (value >= t.warning) return Severity::Warning;
  return Severity::Ok;
}

constexpr bool well_formed(const Threshold& t) {
  bool ordered =
      t.direction == Direction::HigherIsWorse ? t.warning < t.critical : t.critical <= t.warning;
  return ordered && (t.unit != Unit::Ratio || (t.critical <= 1.0 && t.warning <= 1.0));
}
static_assert([] {
  for (const auto& t : kThresholds) {
    if (!well_formed(t) || t.direction != Direction::HigherIsWorse) return false;
  }
  for (const auto& t : kDatabaseThresholds) {
    if (!well_formed(t)) return false;
  }
  return well_formed(kIdentificationErrorRatio);
}());

}  // namespace afp::core
