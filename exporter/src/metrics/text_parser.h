#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace afp::metrics {

// One sample line of a Prometheus exposition; histogram and summary lines keep their
// _bucket/_sum/_count names and le/quantile labels.
struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // in exposition order
  double value;
};

// Parses the text format 0.0.4. Comment lines (HELP, TYPE and others) and blank lines
// are skipped; label values are unescaped (\\ \" \n); values take NaN/Nan, +Inf/-Inf and
// friends; an optional millisecond timestamp is checked and dropped. Throws
// std::runtime_error "line N: ..." on the first malformed line.
std::vector<Sample> parse_text(std::string_view text);

using LabelMatch = std::initializer_list<std::pair<std::string_view, std::string_view>>;

// The value of a label of the sample, nullopt when it has none of that name.
std::optional<std::string_view> label_value(const Sample& sample, std::string_view label);
// Whether the sample carries every given label with the given value (a subset match).
bool has_labels(const Sample& sample, LabelMatch labels);
// Every sample named `name` that carries the given labels, in exposition order.
std::vector<const Sample*> find_samples(const std::vector<Sample>& samples, std::string_view name,
                                        LabelMatch labels = {});
// The first such sample, nullptr when there is none.
const Sample* find_sample(const std::vector<Sample>& samples, std::string_view name,
                          LabelMatch labels = {});

}  // namespace afp::metrics
