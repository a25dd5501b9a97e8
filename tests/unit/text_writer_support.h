#pragma once

// What the TextWriter tests (text_writer_test.cpp, text_writer_property_test.cpp) share:
// both outputs of a set of MetricFamily objects, their byte-for-byte comparison, and
// builders of MetricFamily objects. TextWriter writes MetricFamily objects through
// support/metric_family_writer.h (the product itself has no use for them).

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "metrics/text_writer.h"
#include "support/metric_family_writer.h"

namespace afp::test::text_writer {

using afp::metrics::LabelRef;
using afp::metrics::TextWriter;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
// prometheus-cpp's, for the MetricFamily builders; WriterType is TextWriter's own, for the
// streaming calls (family()).
using prometheus::MetricType;
using WriterType = afp::metrics::MetricType;

inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr double kTwo53 = 9007199254740992.0;  // 2^53
inline constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();

inline std::string serializer_text(const std::vector<MetricFamily>& families) {
  return prometheus::TextSerializer().Serialize(families);
}

inline std::string writer_text(const std::vector<MetricFamily>& families) {
  std::string out;
  TextWriter writer(out);
  afp::test::write_families(writer, families);
  return out;
}

inline std::string value_text(double value) {
  std::string out;
  afp::metrics::append_value(out, value);
  return out;
}

// Shows a snippet with control bytes made visible; a real newline is shown as "⏎".
inline std::string visible(const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "⏎\n";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

inline std::string describe_mismatch(const std::string& expected, const std::string& actual) {
  std::size_t n = std::min(expected.size(), actual.size());
  std::size_t at = 0;
  while (at < n && expected[at] == actual[at])
    ++at;
  // Start the snippets at the beginning of the line holding the difference.
  std::size_t from = expected.rfind('\n', at == 0 ? 0 : at - 1);
  from = (from == std::string::npos || at == 0) ? 0 : from + 1;
  if (at - from > 200) from = at - 200;
  auto snippet = [&](const std::string& s) { return visible(s.substr(from, at - from + 160)); };
  return "first difference at byte offset " + std::to_string(at) + " (TextSerializer wrote " +
         std::to_string(expected.size()) + " bytes, TextWriter " + std::to_string(actual.size()) +
         ")\n" + "--- TextSerializer from offset " + std::to_string(from) + ":\n" +
         snippet(expected) + "\n--- TextWriter from offset " + std::to_string(from) + ":\n" +
         snippet(actual);
}

// True when equal; otherwise attaches the first differing offset and both snippets to the
// next assertion (the whole texts can be megabytes, too much for Catch's expansion).
inline bool same_bytes(const std::string& expected, const std::string& actual) {
  if (expected == actual) return true;
  UNSCOPED_INFO(describe_mismatch(expected, actual));
  return false;
}

// ----- MetricFamily builders ------------------------------------------------------------

using LabelList = std::vector<std::pair<std::string, std::string>>;

inline ClientMetric with_labels(const LabelList& labels, std::int64_t timestamp_ms = 0) {
  ClientMetric m;
  for (const auto& [name, value] : labels)
    m.label.push_back({name, value});
  m.timestamp_ms = timestamp_ms;
  return m;
}

inline ClientMetric scalar(MetricType type, double value, const LabelList& labels = {},
                           std::int64_t timestamp_ms = 0) {
  ClientMetric m = with_labels(labels, timestamp_ms);
  switch (type) {
    case MetricType::Counter:
      m.counter.value = value;
      break;
    case MetricType::Gauge:
      m.gauge.value = value;
      break;
    case MetricType::Untyped:
      m.untyped.value = value;
      break;
    case MetricType::Summary:
    case MetricType::Histogram:
      FAIL("scalar() is for counter, gauge and untyped");
  }
  return m;
}

inline ClientMetric summary(std::uint64_t count, double sum,
                            const std::vector<std::pair<double, double>>& quantiles,
                            const LabelList& labels = {}, std::int64_t timestamp_ms = 0) {
  ClientMetric m = with_labels(labels, timestamp_ms);
  m.summary.sample_count = count;
  m.summary.sample_sum = sum;
  for (const auto& [q, v] : quantiles) {
    ClientMetric::Quantile quantile;
    quantile.quantile = q;
    quantile.value = v;
    m.summary.quantile.push_back(quantile);
  }
  return m;
}

inline ClientMetric histogram(std::uint64_t count, double sum,
                              const std::vector<std::pair<double, std::uint64_t>>& buckets,
                              const LabelList& labels = {}, std::int64_t timestamp_ms = 0) {
  ClientMetric m = with_labels(labels, timestamp_ms);
  m.histogram.sample_count = count;
  m.histogram.sample_sum = sum;
  for (const auto& [bound, cumulative] : buckets) {
    ClientMetric::Bucket bucket;
    bucket.upper_bound = bound;
    bucket.cumulative_count = cumulative;
    m.histogram.bucket.push_back(bucket);
  }
  return m;
}

inline MetricFamily family(std::string name, std::string help, MetricType type,
                           std::vector<ClientMetric> metrics) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  f.metric = std::move(metrics);
  return f;
}

// Writer output must equal TextSerializer output, and (when given) the literal text.
inline void check_matches(const std::vector<MetricFamily>& families,
                          const std::string& literal = {}) {
  std::string expected = serializer_text(families);
  std::string actual = writer_text(families);
  CHECK(same_bytes(expected, actual));
  if (!literal.empty()) CHECK(same_bytes(literal, actual));
}

}  // namespace afp::test::text_writer
