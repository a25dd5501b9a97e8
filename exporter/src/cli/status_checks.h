#pragma once

// The checks of `afp_exporter status`: pure functions from two scrapes to rows judged
// against core/thresholds.h. Where the scrapes come from is status_sources.h, how the rows
// are printed status_render.h.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/quantile_range.h"
#include "core/severity.h"
#include "core/thresholds.h"
#include "metrics/text_parser.h"

namespace afp::cli {

// One row of the report.
struct CheckRow {
  core::Threshold threshold;
  std::string target;  // what the row is about beyond its check, e.g. a mountpoint
  std::optional<double> value;
  core::Severity state = core::Severity::Unknown;  // Ok, Warning, Critical or Unknown (n/a)
  std::string note;  // why a row is not judged, e.g. "read-only" or "no CPU time passed"
  // A histogram quantile: the bucket it falls in, which is what the row shows and judges.
  // value then holds Prometheus' interpolation inside it, the number the alerts compare.
  std::optional<QuantileRange> range;
};

// The rows that two scrapes taken `elapsed` apart give, in report order; rates (CPU busy,
// PostgreSQL's block reads) come from their difference, levels from the later one. CPU
// busy is a share of CPU time and needs no clock; a rate per second is n/a while elapsed is
// zero. read_at, the wall clock of the later scrape, dates PostgreSQL's start time; without
// it only a restart seen between the two scrapes holds the cache hit ratio back. Pure, so
// each check is testable from synthetic samples; checks are added to the list in
// status_checks.cpp.
std::vector<CheckRow> evaluate(
    const std::vector<metrics::Sample>& before, const std::vector<metrics::Sample>& after,
    std::chrono::duration<double> elapsed = {},
    std::optional<std::chrono::system_clock::time_point> read_at = std::nullopt,
    std::chrono::seconds cache_settle = std::chrono::seconds(core::kCacheHitSettleSeconds));

// 1 when any row is WARN or CRIT; otherwise 0 when at least one row was judged OK and 2
// when nothing could be judged (a check that checked nothing is not a pass).
int exit_code(const std::vector<CheckRow>& rows);

}  // namespace afp::cli
