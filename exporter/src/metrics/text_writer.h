#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/metric_type.h"

namespace afp::metrics {

struct LabelRef {
  std::string_view name;
  std::string_view value;
};
using Labels = std::initializer_list<LabelRef>;

// Appends the Prometheus text format (0.0.4) to a string.
//
// Output is byte-for-byte what prometheus::TextSerializer 1.0.1 writes for the same
// families, with one deliberate difference: HELP text is escaped as the format requires
// (TextSerializer writes a newline in HELP raw, which breaks the exposition).
// Collectors use the streaming calls (family, then samples) so that large families are
// never materialised as objects. The tests and benchmarks write prometheus::MetricFamily
// objects through these calls too (tests/support/metric_family_writer.h), to compare with
// TextSerializer.
class TextWriter {
 public:
  explicit TextWriter(std::string& out) : out_(out) {}

  void family(std::string_view name, std::string_view help, MetricType type);
  // A sample of the current family, named after it.
  void sample(Labels labels, double value) { sample("", labels, value); }
  void sample(std::string_view suffix, Labels labels, double value);
  // Same, with labels already held in a vector (label sets built at run time).
  void sample(std::string_view suffix, const std::vector<LabelRef>& labels, double value);
  // Same, with a label set rendered once by render_labels(): for series that appear in
  // several families (pg_stat_statements writes thousands of them five times).
  void sample_rendered(std::string_view rendered_labels, double value);

  std::string& buffer() { return out_; }

 private:
  std::string& out_;
  std::string current_;
};

// The value as prometheus-cpp 1.0.1 TextSerializer prints it: %.16g, "Nan", "+Inf", "-Inf"
// (other prometheus-cpp versions differ; the property test in text_writer_test.cpp tells).
void append_value(std::string& out, double value);
void append_uint(std::string& out, std::uint64_t value);
// A label set as sample() writes it, `{name="escaped value",...}`; empty for no labels.
std::string render_labels(const std::vector<LabelRef>& labels);
// Label-value escaping: backslash, double quote and newline.
void append_escaped(std::string& out, std::string_view value);

}  // namespace afp::metrics
