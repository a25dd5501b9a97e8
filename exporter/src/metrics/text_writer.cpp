#include "metrics/text_writer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <limits>

namespace afp::metrics {

namespace {

std::string_view type_name(MetricType type) {
  switch (type) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Summary:
      return "summary";
    case MetricType::Histogram:
      return "histogram";
    case MetricType::Untyped:
      break;
  }
  return "untyped";
}

void append_help(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void append_tail(std::string& out, std::int64_t timestamp_ms) {
  if (timestamp_ms != 0) {
    out += ' ';
    std::array<char, 24> buf{};
    auto res = std::to_chars(buf.data(), buf.data() + buf.size(), timestamp_ms);
    out.append(buf.data(), res.ptr);
  }
  out += '\n';
}

// Integral values below 2^53 print identically under %.16g and as integers, and the
// integer path is several times faster; most exported values (bytes, counts) take it.
bool is_exact_integer(double value) {
  constexpr double kLimit = 9007199254740992.0;  // 2^53
  return value > -kLimit && value < kLimit && value == std::trunc(value) &&
         !(value == 0 && std::signbit(value));
}

}  // namespace

void append_uint(std::string& out, std::uint64_t value) {
  std::array<char, 24> buf{};
  auto res = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  out.append(buf.data(), res.ptr);
}

void append_value(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "Nan";
  } else if (std::isinf(value)) {
    out += value < 0 ? "-Inf" : "+Inf";
  } else if (is_exact_integer(value)) {
    std::array<char, 24> buf{};
    auto res = std::to_chars(buf.data(), buf.data() + buf.size(), static_cast<std::int64_t>(value));
    out.append(buf.data(), res.ptr);
  } else {
    std::array<char, 40> buf{};
    auto res = std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::general,
                             std::numeric_limits<double>::digits10 + 1);
    out.append(buf.data(), res.ptr);
  }
}

void append_escaped(std::string& out, std::string_view value) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '\\' || c == '"' || c == '\n') {
      out.append(value.data() + start, i - start);
      out += '\\';
      out += c == '\n' ? 'n' : c;
      start = i + 1;
    }
  }
  out.append(value.data() + start, value.size() - start);
}

void TextWriter::family(std::string_view name, std::string_view help, MetricType type) {
  current_.assign(name);
  if (!help.empty()) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    append_help(out_, help);
    out_ += '\n';
  }
  out_ += "# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type_name(type);
  out_ += '\n';
}

template <typename LabelRange>
void TextWriter::head(std::string_view suffix, const LabelRange& labels,
                      std::string_view extra_name, std::string_view extra_value) {
  out_ += current_;
  out_ += suffix;
  if (std::begin(labels) != std::end(labels) || !extra_name.empty()) {
    char sep = '{';
    for (const auto& label : labels) {
      out_ += sep;
      out_ += label.name;
      out_ += "=\"";
      append_escaped(out_, label.value);
      out_ += '"';
      sep = ',';
    }
    if (!extra_name.empty()) {
      out_ += sep;
      out_ += extra_name;
      out_ += "=\"";
      out_ += extra_value;
      out_ += '"';
    }
    out_ += '}';
  }
  out_ += ' ';
}

void TextWriter::sample(std::string_view suffix, Labels labels, double value) {
  head(suffix, labels);
  append_value(out_, value);
  out_ += '\n';
}

void TextWriter::sample(std::string_view suffix, const std::vector<LabelRef>& labels,
                        double value) {
  head(suffix, labels);
  append_value(out_, value);
  out_ += '\n';
}

void TextWriter::write(const prometheus::MetricFamily& family) {
  this->family(family.name, family.help, family.type);
  std::vector<LabelRef> labels;
  std::string extra;
  for (const auto& metric : family.metric) {
    labels.clear();
    for (const auto& label : metric.label)
      labels.push_back({label.name, label.value});
    auto line = [&](std::string_view suffix, auto&& write_value, std::string_view extra_name = {},
                    std::string_view extra_value = {}) {
      head(suffix, labels, extra_name, extra_value);
      write_value();
      append_tail(out_, metric.timestamp_ms);
    };
    switch (family.type) {
      case MetricType::Counter:
        line("", [&] { append_value(out_, metric.counter.value); });
        break;
      case MetricType::Gauge:
        line("", [&] { append_value(out_, metric.gauge.value); });
        break;
      case MetricType::Untyped:
        line("", [&] { append_value(out_, metric.untyped.value); });
        break;
      case MetricType::Summary:
        line("_count", [&] { append_uint(out_, metric.summary.sample_count); });
        line("_sum", [&] { append_value(out_, metric.summary.sample_sum); });
        for (const auto& q : metric.summary.quantile) {
          extra.clear();
          append_value(extra, q.quantile);
          line(
              "", [&] { append_value(out_, q.value); }, "quantile", extra);
        }
        break;
      case MetricType::Histogram: {
        const auto& hist = metric.histogram;
        line("_count", [&] { append_uint(out_, hist.sample_count); });
        line("_sum", [&] { append_value(out_, hist.sample_sum); });
        double last = -std::numeric_limits<double>::infinity();
        for (const auto& bucket : hist.bucket) {
          extra.clear();
          append_value(extra, bucket.upper_bound);
          last = bucket.upper_bound;
          line(
              "_bucket", [&] { append_uint(out_, bucket.cumulative_count); }, "le", extra);
        }
        if (last != std::numeric_limits<double>::infinity()) {
          line(
              "_bucket", [&] { append_uint(out_, hist.sample_count); }, "le", "+Inf");
        }
        break;
      }
    }
  }
}

void TextWriter::write(const std::vector<prometheus::MetricFamily>& families) {
  for (const auto& family : families)
    write(family);
}

}  // namespace afp::metrics
