#include "support/metric_family_writer.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace afp::test {

namespace {

using metrics::LabelRef;
using prometheus::ClientMetric;

std::string value_text(double value) {
  std::string out;
  metrics::append_value(out, value);
  return out;
}

std::string count_text(std::uint64_t count) {
  std::string out;
  metrics::append_uint(out, count);
  return out;
}

// The lines of one metric. They are spelled out with the writer's own formatting
// (render_labels, append_value, append_uint) rather than through TextWriter::sample(),
// which takes a double (counts above 2^53 would lose digits) and writes no timestamp.
class MetricLines {
 public:
  MetricLines(std::string& out, std::string_view name, const ClientMetric& metric)
      : out_(out), name_(name), timestamp_ms_(metric.timestamp_ms) {
    for (const auto& label : metric.label)
      labels_.push_back({label.name, label.value});
    rendered_labels_ = metrics::render_labels(labels_);
  }

  void line(std::string_view suffix, std::string_view value) {
    put(suffix, rendered_labels_, value);
  }
  // With one label more after the metric's: a quantile's or a bucket's bound.
  void line(std::string_view suffix, std::string_view value, std::string_view extra_name,
            std::string_view extra_value) {
    std::vector<LabelRef> labels = labels_;
    labels.push_back({extra_name, extra_value});
    put(suffix, metrics::render_labels(labels), value);
  }

 private:
  void put(std::string_view suffix, std::string_view labels, std::string_view value) {
    out_.append(name_).append(suffix).append(labels).append(1, ' ').append(value);
    if (timestamp_ms_ != 0) {
      std::array<char, 24> digits{};
      auto res = std::to_chars(digits.data(), digits.data() + digits.size(), timestamp_ms_);
      out_.append(1, ' ').append(digits.data(), res.ptr);
    }
    out_.append(1, '\n');
  }

  std::string& out_;
  std::string_view name_;
  std::int64_t timestamp_ms_;
  std::vector<LabelRef> labels_;
  std::string rendered_labels_;
};

void write_summary(MetricLines& lines, const ClientMetric::Summary& summary) {
  lines.line("_count", count_text(summary.sample_count));
  lines.line("_sum", value_text(summary.sample_sum));
  for (const auto& q : summary.quantile)
    lines.line("", value_text(q.value), "quantile", value_text(q.quantile));
}

void write_histogram(MetricLines& lines, const ClientMetric::Histogram& histogram) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  lines.line("_count", count_text(histogram.sample_count));
  lines.line("_sum", value_text(histogram.sample_sum));
  double last = -kInf;
  for (const auto& bucket : histogram.bucket) {
    last = bucket.upper_bound;
    lines.line("_bucket", count_text(bucket.cumulative_count), "le",
               value_text(bucket.upper_bound));
  }
  // TextSerializer adds the +Inf bucket, from the sample count, when the last is not it.
  if (last != kInf) lines.line("_bucket", count_text(histogram.sample_count), "le", "+Inf");
}

void write_metric(std::string& out, const prometheus::MetricFamily& family,
                  const ClientMetric& metric) {
  MetricLines lines(out, family.name, metric);
  switch (family.type) {
    case prometheus::MetricType::Counter:
      lines.line("", value_text(metric.counter.value));
      break;
    case prometheus::MetricType::Gauge:
      lines.line("", value_text(metric.gauge.value));
      break;
    case prometheus::MetricType::Untyped:
      lines.line("", value_text(metric.untyped.value));
      break;
    case prometheus::MetricType::Summary:
      write_summary(lines, metric.summary);
      break;
    case prometheus::MetricType::Histogram:
      write_histogram(lines, metric.histogram);
      break;
  }
}

}  // namespace

metrics::MetricType to_afp(prometheus::MetricType type) {
  switch (type) {
    case prometheus::MetricType::Counter:
      return metrics::MetricType::Counter;
    case prometheus::MetricType::Gauge:
      return metrics::MetricType::Gauge;
    case prometheus::MetricType::Summary:
      return metrics::MetricType::Summary;
    case prometheus::MetricType::Histogram:
      return metrics::MetricType::Histogram;
    case prometheus::MetricType::Untyped:
      break;
  }
  return metrics::MetricType::Untyped;
}

void write_family(metrics::TextWriter& writer, const prometheus::MetricFamily& family) {
  writer.family(family.name, family.help, to_afp(family.type));
  for (const auto& metric : family.metric)
    write_metric(writer.buffer(), family, metric);
}

void write_families(metrics::TextWriter& writer,
                    const std::vector<prometheus::MetricFamily>& families) {
  for (const auto& family : families)
    write_family(writer, family);
}

}  // namespace afp::test
