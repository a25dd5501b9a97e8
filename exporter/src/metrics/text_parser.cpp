#include "metrics/text_parser.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "core/ascii.h"

namespace afp::metrics {

namespace {

bool is_name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

// Go's strconv.ParseFloat, which Prometheus uses, as far as expositions need it.
std::optional<double> parse_value(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::string_view body = text;
  bool negative = false;
  if (body.front() == '+' || body.front() == '-') {
    negative = body.front() == '-';
    body.remove_prefix(1);
  }
  if (core::iequals(body, "nan")) return std::numeric_limits<double>::quiet_NaN();
  if (core::iequals(body, "inf") || core::iequals(body, "infinity")) {
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  }
  if (body.empty() || body.front() == '+' || body.front() == '-') return std::nullopt;
  double value = 0;
  auto res = std::from_chars(body.data(), body.data() + body.size(), value);
  // from_chars also takes "nan(...)" and "infinity" spellings; those are handled above.
  if (res.ec == std::errc::result_out_of_range) {
    value = std::numeric_limits<double>::infinity();  // as ParseFloat: ±Inf on overflow
  } else if (res.ec != std::errc() || res.ptr != body.data() + body.size() || std::isnan(value)) {
    return std::nullopt;
  }
  return negative ? -value : value;
}

class LineParser {
 public:
  LineParser(std::string_view line, std::size_t number) : line_(line), number_(number) {}

  Sample parse() {
    Sample sample;
    sample.name = name(true);
    bool blank = skip_blanks();
    if (peek() == '{') {
      labels(sample);
      blank = true;  // as Prometheus: no blank needed between '}' and the value
      skip_blanks();
    }
    if (!blank || pos_ >= line_.size()) fail("expected a value after the metric name");
    std::string_view value_text = token();
    auto value = parse_value(value_text);
    if (!value) fail("invalid value \"" + std::string(value_text) + "\"");
    sample.value = *value;
    if (skip_blanks() && pos_ < line_.size()) {
      std::string_view ts = token();
      std::int64_t ms = 0;
      auto res = std::from_chars(ts.data(), ts.data() + ts.size(), ms);
      if (res.ec != std::errc() || res.ptr != ts.data() + ts.size()) {
        fail("invalid timestamp \"" + std::string(ts) + "\"");
      }
      skip_blanks();
    }
    if (pos_ < line_.size()) fail("unexpected text after the sample");
    return sample;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("line " + std::to_string(number_) + ": " + what);
  }

  char peek() const { return pos_ < line_.size() ? line_[pos_] : '\0'; }

  // Returns whether anything was skipped.
  bool skip_blanks() {
    std::size_t start = pos_;
    while (pos_ < line_.size() && (line_[pos_] == ' ' || line_[pos_] == '\t'))
      ++pos_;
    return pos_ > start;
  }

  std::string_view token() {
    std::size_t start = pos_;
    while (pos_ < line_.size() && line_[pos_] != ' ' && line_[pos_] != '\t')
      ++pos_;
    return line_.substr(start, pos_ - start);
  }

  // Metric names may contain ':'; label names may not.
  std::string name(bool metric) {
    std::size_t start = pos_;
    auto ok_start = [&](char c) { return is_name_start(c) || (metric && c == ':'); };
    auto ok_char = [&](char c) { return is_name_char(c) || (metric && c == ':'); };
    if (pos_ >= line_.size() || !ok_start(line_[pos_])) {
      fail(metric ? "invalid metric name" : "invalid label name");
    }
    while (pos_ < line_.size() && ok_char(line_[pos_]))
      ++pos_;
    return std::string(line_.substr(start, pos_ - start));
  }

  void labels(Sample& sample) {
    ++pos_;  // '{'
    for (;;) {
      skip_blanks();
      if (peek() == '}') break;
      std::string label = name(false);
      for (const auto& [existing, _] : sample.labels) {
        if (existing == label) fail("duplicate label \"" + label + "\"");
      }
      skip_blanks();
      if (peek() != '=') fail("expected '=' after label \"" + label + "\"");
      ++pos_;
      skip_blanks();
      if (peek() != '"') fail("expected '\"' to open the value of label \"" + label + "\"");
      ++pos_;
      sample.labels.emplace_back(std::move(label), quoted());
      skip_blanks();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != '}') fail("expected ',' or '}' after a label value");
      break;
    }
    ++pos_;  // '}'
  }

  std::string quoted() {
    std::string value;
    while (pos_ < line_.size()) {
      char c = line_[pos_++];
      if (c == '"') return value;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (pos_ >= line_.size()) break;
      char e = line_[pos_++];
      if (e == '\\' || e == '"') {
        value += e;
      } else if (e == 'n') {
        value += '\n';
      } else {
        fail(std::string("invalid escape sequence \"\\") + e + "\" in a label value");
      }
    }
    fail("unterminated label value");
  }

  std::string_view line_;
  std::size_t number_;
  std::size_t pos_ = 0;
};

}  // namespace

std::vector<Sample> parse_text(std::string_view text) {
  std::vector<Sample> samples;
  std::size_t number = 0;
  while (!text.empty()) {
    auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    ++number;
    std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    samples.push_back(LineParser(line.substr(first), number).parse());
  }
  return samples;
}

std::optional<std::string_view> label_value(const Sample& sample, std::string_view label) {
  for (const auto& [name, value] : sample.labels) {
    if (name == label) return value;
  }
  return std::nullopt;
}

bool has_labels(const Sample& sample, LabelMatch labels) {
  return std::all_of(labels.begin(), labels.end(), [&](const auto& want) {
    auto got = label_value(sample, want.first);
    return got && *got == want.second;
  });
}

std::vector<const Sample*> find_samples(const std::vector<Sample>& samples, std::string_view name,
                                        LabelMatch labels) {
  std::vector<const Sample*> out;
  for (const auto& s : samples) {
    if (s.name == name && has_labels(s, labels)) out.push_back(&s);
  }
  return out;
}

const Sample* find_sample(const std::vector<Sample>& samples, std::string_view name,
                          LabelMatch labels) {
  for (const auto& s : samples) {
    if (s.name == name && has_labels(s, labels)) return &s;
  }
  return nullptr;
}

}  // namespace afp::metrics
