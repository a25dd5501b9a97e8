#include "metrics/histogram_quantile.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>

namespace afp::metrics {

namespace {

std::optional<double> parse_le(std::string_view text) {
  if (text == "+Inf" || text == "Inf" || text == "inf") {
    return std::numeric_limits<double>::infinity();
  }
  try {
    std::size_t used = 0;
    double v = std::stod(std::string(text), &used);
    if (used != text.size()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::optional<RankedBucket> quantile_bucket(double q, std::vector<Bucket>& buckets) {
  if (!(q >= 0 && q <= 1) || buckets.empty()) return std::nullopt;
  std::sort(buckets.begin(), buckets.end(),
            [](const Bucket& a, const Bucket& b) { return a.upper_bound < b.upper_bound; });
  if (!std::isinf(buckets.back().upper_bound)) return std::nullopt;
  // Counts scraped a moment apart may be out of order; Prometheus flattens them too.
  for (std::size_t i = 1; i < buckets.size(); ++i) {
    buckets[i].count = std::max(buckets[i].count, buckets[i - 1].count);
  }
  double total = buckets.back().count;
  if (!(total > 0)) return std::nullopt;
  double rank = q * total;
  std::size_t b = 0;
  while (b < buckets.size() - 1 && buckets[b].count < rank)
    ++b;
  return RankedBucket{b, rank};
}

std::optional<double> bucket_quantile(double q, std::vector<Bucket> buckets) {
  auto ranked = quantile_bucket(q, buckets);
  if (!ranked) return std::nullopt;
  auto [b, rank] = *ranked;
  if (b == buckets.size() - 1) {
    if (buckets.size() < 2) return std::nullopt;
    return buckets[b - 1].upper_bound;
  }
  double start = b == 0 ? 0.0 : buckets[b - 1].upper_bound;
  double below = b == 0 ? 0.0 : buckets[b - 1].count;
  if (b == 0 && buckets[0].upper_bound <= 0) return buckets[0].upper_bound;
  double in_bucket = buckets[b].count - below;
  if (!(in_bucket > 0)) return buckets[b].upper_bound;
  return start + (buckets[b].upper_bound - start) * (rank - below) / in_bucket;
}

std::vector<Bucket> sum_buckets(const std::vector<Sample>& samples, std::string_view name,
                                LabelMatch labels) {
  std::string bucket_name = std::string(name) + "_bucket";
  std::map<double, double> by_le;
  for (const auto* s : find_samples(samples, bucket_name, labels)) {
    auto le = label_value(*s, "le");
    if (!le) continue;
    if (auto bound = parse_le(*le)) by_le[*bound] += s->value;
  }
  std::vector<Bucket> out;
  out.reserve(by_le.size());
  for (const auto& [bound, count] : by_le)
    out.push_back({bound, count});
  return out;
}

}  // namespace afp::metrics
