#pragma once

// A histogram quantile as the buckets know it: the bucket its rank falls in. Prometheus
// interpolates a point inside that bucket, but the digits past the bucket's bounds are
// invented (every histogram whose observations all sit in (0.01, 0.025] has the p95
// 0.02425), so `status` shows and judges the bucket instead.

#include <optional>
#include <string>
#include <vector>

#include "core/thresholds.h"
#include "metrics/histogram_quantile.h"

namespace afp::cli {

// lower < quantile <= upper. upper is +Inf for the open top bucket. For the first bucket
// lower is 0 (Prometheus assumes no negative observations there), or -Inf when that
// bucket's bound is not positive.
struct QuantileRange {
  double lower;
  double upper;
};

// The bucket metrics::bucket_quantile() interpolates in, and for a rank in +Inf (where it
// answers the highest finite bound) the open top bucket. nullopt exactly when
// bucket_quantile() answers nullopt.
std::optional<QuantileRange> quantile_range(double q, std::vector<metrics::Bucket> buckets);

// "0.010–0.025 s" (en dash), "> 60 s", "≤ 0.005 s": both bounds with the same number of
// decimals, the fewest that show each bound exactly (at most 6).
std::string format_seconds_range(const QuantileRange& range);

// Where a range stands against a threshold. `level` is the one every value in the range
// has reached; `may_reach` is the highest level above it that some values in the range
// reach and others do not (nullopt when the range lies within `level`).
struct RangeLevel {
  core::Severity level;
  std::optional<core::Severity> may_reach;
};

// A higher-is-worse range has reached a level when its lower bound is at or over the
// level's value (then every value in it is over), and is clear of it when its upper bound
// is at or under it: the buckets say the quantile is within the level, and they can say no
// more. Bucket bounds sit on the thresholds (pipeline/store.h), so a bound equal to a
// threshold reads as "95 % took at most 3 s". Lower-is-worse levels mirror this.
RangeLevel range_level(const core::Threshold& threshold, const QuantileRange& range);

}  // namespace afp::cli
