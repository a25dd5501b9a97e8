#include "cli/quantile_range.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace afp::cli {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int kMaxDecimals = 6;

std::string fixed(double value, int decimals) {
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), "%.*f", decimals, value);
  return buf.data();
}

// The fewest decimals that print `value` back as itself (le="0.025" needs 3).
int decimals_of(double value) {
  for (int d = 0; d < kMaxDecimals; ++d) {
    if (std::strtod(fixed(value, d).c_str(), nullptr) == value) return d;
  }
  return kMaxDecimals;
}

bool surely_reached(const core::Threshold& t, const QuantileRange& r, double level) {
  return t.direction == core::Direction::HigherIsWorse ? r.lower >= level : r.upper < level;
}

bool maybe_reached(const core::Threshold& t, const QuantileRange& r, double level) {
  return t.direction == core::Direction::HigherIsWorse ? r.upper > level : r.lower < level;
}

}  // namespace

// The bucket bucket_quantile() interpolates in (the same search), so the range always holds
// its point.
std::optional<QuantileRange> quantile_range(double q, std::vector<metrics::Bucket> buckets) {
  if (buckets.size() < 2) return std::nullopt;
  auto ranked = metrics::quantile_bucket(q, buckets);
  if (!ranked) return std::nullopt;
  std::size_t b = ranked->index;
  if (b == 0) {
    double first = buckets[0].upper_bound;
    return QuantileRange{first > 0 ? 0.0 : -kInf, first};
  }
  return QuantileRange{buckets[b - 1].upper_bound, buckets[b].upper_bound};
}

std::string format_seconds_range(const QuantileRange& range) {
  if (std::isinf(range.upper)) return "> " + fixed(range.lower, decimals_of(range.lower)) + " s";
  if (range.lower <= 0) return "≤ " + fixed(range.upper, decimals_of(range.upper)) + " s";
  int d = std::max(decimals_of(range.lower), decimals_of(range.upper));
  return fixed(range.lower, d) + "–" + fixed(range.upper, d) + " s";
}

RangeLevel range_level(const core::Threshold& t, const QuantileRange& range) {
  RangeLevel out{core::Severity::Ok, std::nullopt};
  if (surely_reached(t, range, t.critical)) {
    out.level = core::Severity::Critical;
  } else if (surely_reached(t, range, t.warning)) {
    out.level = core::Severity::Warning;
  }
  if (out.level != core::Severity::Critical && maybe_reached(t, range, t.critical)) {
    out.may_reach = core::Severity::Critical;
  } else if (out.level == core::Severity::Ok && maybe_reached(t, range, t.warning)) {
    out.may_reach = core::Severity::Warning;
  }
  return out;
}

}  // namespace afp::cli
