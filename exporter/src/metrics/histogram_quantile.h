#pragma once

// histogram_quantile() as Prometheus computes it, over the cumulative buckets of a parsed
// exposition: `status` and `profile` judge the pipeline p95s the way the alerting rules do.

#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "metrics/text_parser.h"

namespace afp::metrics {

struct Bucket {
  double upper_bound;  // le; +Inf for the last
  double count;        // cumulative
};

// Prometheus' rules: linear interpolation inside the bucket the rank falls in (from 0 for
// the first bucket), the highest finite bound when it falls in +Inf. nullopt without
// observations, without a +Inf bucket, or for q outside [0, 1].
std::optional<double> bucket_quantile(double q, std::vector<Bucket> buckets);

// The step both bucket_quantile() and a quantile's bucket range take: sorts the buckets
// and flattens out-of-order counts in place, then returns the index of the bucket the
// rank q × total falls in. nullopt as for bucket_quantile().
struct RankedBucket {
  std::size_t index;
  double rank;
};
std::optional<RankedBucket> quantile_bucket(double q, std::vector<Bucket>& buckets);

// The buckets of `<name>_bucket` summed over every series that carries `labels` (as
// sum by (le) does).
std::vector<Bucket> sum_buckets(const std::vector<Sample>& samples, std::string_view name,
                                LabelMatch labels = {});

}  // namespace afp::metrics
