#include "metrics/histogram_quantile.h"

#include <catch2/catch.hpp>
#include <limits>

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
