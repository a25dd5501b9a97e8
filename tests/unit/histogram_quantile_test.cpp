#include "metrics/histogram_quantile.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

#include "cli/quantile_range.h"

using afp::metrics::Bucket;
using afp::metrics::bucket_quantile;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}

TEST_CASE("bucket_quantile follows Prometheus' histogram_quantile", "[histogram]") {
  // Values checked against Prometheus 2.42's histogram_quantile on the same buckets.
  std::vector<Bucket> b{{1, 0}, {2, 10}, {kInf, 10}};
  CHECK(*bucket_quantile(0.95, b) == Approx(1.95));
  CHECK(*bucket_quantile(0.5, b) == Approx(1.5));
  CHECK(*bucket_quantile(0, b) == Approx(1));
  // In the first bucket, interpolation starts at 0.
  CHECK(*bucket_quantile(0.5, {{4, 10}, {kInf, 10}}) == Approx(2));
  // In +Inf: the highest finite bound.
  CHECK(*bucket_quantile(0.95, {{1, 5}, {3, 90}, {kInf, 100}}) == 3);
  // Order of input does not matter; non-monotonic counts are flattened.
  CHECK(*bucket_quantile(0.95, {{kInf, 10}, {2, 10}, {1, 0}}) == Approx(1.95));
  CHECK(*bucket_quantile(0.5, {{1, 6}, {2, 5}, {kInf, 10}}) == Approx(5.0 / 6.0));
}

TEST_CASE("bucket_quantile: thresholds on bucket bounds are exact", "[histogram]") {
  // 95 of 100 observations at or below 5 s: the p95 is 5 s exactly, not 4.99 or 5.01.
  CHECK(*bucket_quantile(0.95, {{4, 0}, {5, 95}, {7.5, 100}, {kInf, 100}}) == 5);
}

TEST_CASE("bucket_quantile: nothing to say", "[histogram]") {
  CHECK_FALSE(bucket_quantile(0.95, {}));
  CHECK_FALSE(bucket_quantile(0.95, {{1, 0}, {kInf, 0}}));  // no observations
  CHECK_FALSE(bucket_quantile(0.95, {{1, 3}, {2, 5}}));     // no +Inf bucket
  CHECK_FALSE(bucket_quantile(1.5, {{1, 3}, {kInf, 5}}));
  CHECK_FALSE(bucket_quantile(-0.1, {{1, 3}, {kInf, 5}}));
  CHECK_FALSE(bucket_quantile(0.5, {{kInf, 5}}));  // only +Inf: Prometheus answers NaN
}

TEST_CASE("sum_buckets adds series by le", "[histogram]") {
  std::vector<afp::metrics::Sample> samples{
      {"h_bucket", {{"endpoint", "/a"}, {"le", "1"}}, 2},
      {"h_bucket", {{"endpoint", "/a"}, {"le", "+Inf"}}, 3},
      {"h_bucket", {{"endpoint", "/b"}, {"le", "1"}}, 4},
      {"h_bucket", {{"endpoint", "/b"}, {"le", "+Inf"}}, 10},
      {"h_count", {{"endpoint", "/b"}}, 10},
  };
  auto all = afp::metrics::sum_buckets(samples, "h");
  REQUIRE(all.size() == 2);
  CHECK(all[0].upper_bound == 1);
  CHECK(all[0].count == 6);
  CHECK(all[1].count == 13);
  auto b = afp::metrics::sum_buckets(samples, "h", {{"endpoint", "/b"}});
  CHECK(b[1].count == 10);
}

TEST_CASE("quantile_range: the bucket that bucket_quantile interpolates in", "[histogram]") {
  using afp::cli::quantile_range;
  // Observations all in (0.01, 0.025]: Prometheus answers 0.02425 whatever they were.
  for (double n : {1.0, 7.0, 400.0}) {
    INFO(n);
    auto r = quantile_range(0.95, {{0.01, 0}, {0.025, n}, {kInf, n}});
    REQUIRE(r);
    CHECK(r->lower == 0.01);
    CHECK(r->upper == 0.025);
  }
  // 95 of 100 at or under 5 s: Prometheus says 5 s exactly; the buckets say (4, 5].
  auto at_bound = quantile_range(0.95, {{4, 0}, {5, 95}, {7.5, 100}, {kInf, 100}});
  REQUIRE(at_bound);
  CHECK(at_bound->lower == 4);
  CHECK(at_bound->upper == 5);
  // The first bucket starts at 0, as Prometheus' interpolation does.
  auto first = quantile_range(0.5, {{4, 10}, {kInf, 10}});
  REQUIRE(first);
  CHECK(first->lower == 0);
  CHECK(first->upper == 4);
  // In +Inf: open above the highest finite bound, where Prometheus stops.
  auto top = quantile_range(0.95, {{1, 5}, {3, 90}, {kInf, 100}});
  REQUIRE(top);
  CHECK(top->lower == 3);
  CHECK(std::isinf(top->upper));
}

TEST_CASE("quantile_range holds bucket_quantile's point and answers when it does", "[histogram]") {
  std::vector<std::vector<Bucket>> cases{{{1, 0}, {2, 10}, {kInf, 10}},
                                         {{kInf, 10}, {2, 10}, {1, 0}},
                                         {{1, 6}, {2, 5}, {kInf, 10}},
                                         {{1, 5}, {3, 90}, {kInf, 100}},
                                         {{0.005, 3}, {0.01, 3}, {0.025, 9}, {kInf, 9}},
                                         {},
                                         {{1, 0}, {kInf, 0}},
                                         {{1, 3}, {2, 5}},
                                         {{kInf, 5}}};
  for (const auto& buckets : cases) {
    for (double q : {0.0, 0.5, 0.95, 1.0}) {
      auto point = bucket_quantile(q, buckets);
      auto range = afp::cli::quantile_range(q, buckets);
      REQUIRE(point.has_value() == range.has_value());
      if (!point) continue;
      INFO("q " << q << ": " << *point << " in (" << range->lower << ", " << range->upper << "]");
      CHECK(range->lower <= *point);
      CHECK(*point <= range->upper);
    }
  }
  CHECK_FALSE(afp::cli::quantile_range(1.5, {{1, 3}, {kInf, 5}}));
}

TEST_CASE("format_seconds_range: both bounds to the same decimals", "[histogram]") {
  using afp::cli::format_seconds_range;
  CHECK(format_seconds_range({0.01, 0.025}) == "0.010–0.025 s");
  CHECK(format_seconds_range({0.1, 0.25}) == "0.10–0.25 s");
  CHECK(format_seconds_range({0.5, 1}) == "0.5–1.0 s");
  CHECK(format_seconds_range({1, 2}) == "1–2 s");
  CHECK(format_seconds_range({5, 7.5}) == "5.0–7.5 s");
  CHECK(format_seconds_range({10, kInf}) == "> 10 s");
  CHECK(format_seconds_range({0, 0.005}) == "≤ 0.005 s");
}

TEST_CASE("range_level: OK only within a level, over it only from the lower bound",
          "[histogram][thresholds]") {
  using afp::cli::range_level;
  using afp::core::Severity;
  struct Case {
    double lower, upper;
    Severity level;
    std::optional<Severity> may_reach;
  };
  // Fingerprint generation: warning at 3 s, critical at 5 s.
  for (const auto& c : std::vector<Case>{{2, 3, Severity::Ok, std::nullopt},
                                         {3, 4, Severity::Warning, std::nullopt},
                                         {4, 5, Severity::Warning, std::nullopt},
                                         {5, 7.5, Severity::Critical, std::nullopt},
                                         {60, kInf, Severity::Critical, std::nullopt},
                                         {2, 4, Severity::Ok, Severity::Warning},
                                         {2, 7.5, Severity::Ok, Severity::Critical},
                                         {4, 7.5, Severity::Warning, Severity::Critical},
                                         {1, kInf, Severity::Ok, Severity::Critical}}) {
    INFO("(" << c.lower << ", " << c.upper << "]");
    auto got = range_level(afp::core::kFingerprintGenerationP95, {c.lower, c.upper});
    CHECK(got.level == c.level);
    CHECK(got.may_reach == c.may_reach);
  }
  // Lower is worse (a cache hit ratio: warning under 99 %, critical under 90 %) mirrors it.
  for (const auto& c : std::vector<Case>{{0.99, 1, Severity::Ok, std::nullopt},
                                         {0.98, 0.995, Severity::Ok, Severity::Warning},
                                         {0.85, 0.95, Severity::Warning, Severity::Critical},
                                         {0.5, 0.8, Severity::Critical, std::nullopt}}) {
    INFO("(" << c.lower << ", " << c.upper << "]");
    auto got = range_level(afp::core::kCacheHitRatio, {c.lower, c.upper});
    CHECK(got.level == c.level);
    CHECK(got.may_reach == c.may_reach);
  }
}
