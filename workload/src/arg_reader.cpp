#include "arg_reader.h"

#include <charconv>
#include <cmath>

#include "number_text.h"

namespace afp::workload {

ArgReader::ArgReader(const std::vector<std::string>& args) : args_(args) {}

bool ArgReader::next() {
  if (i_ >= args_.size()) return false;
  std::string_view arg = args_[i_++];
  inline_value_.reset();
  flag_ = arg.starts_with("--") || arg == "-h";
  if (!flag_) {
    word_ = std::string(arg);
    return true;
  }
  if (arg == "-h") arg = "--help";
  auto eq = arg.find('=');
  name_ = std::string(arg.substr(2, eq == std::string_view::npos ? eq : eq - 2));
  if (eq != std::string_view::npos) inline_value_ = std::string(arg.substr(eq + 1));
  return true;
}

std::string ArgReader::value() {
  std::string v;
  if (inline_value_) {
    v = *inline_value_;
  } else if (i_ < args_.size()) {
    v = args_[i_++];
  }
  if (v.empty()) throw UsageError("flag --" + name_ + " needs a value");
  return v;
}

double ArgReader::number(double min, double max, bool above_min) {
  auto text = value();
  double v = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), v);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size() || !std::isfinite(v)) {
    throw UsageError("flag --" + name_ + ": \"" + text + "\" is not a number");
  }
  if ((above_min ? v <= min : v < min) || v > max) {
    throw UsageError("flag --" + name_ + ": " + text + " is out of range (" +
                     (above_min ? "above " : "") + number_text(min) + " to " + number_text(max) +
                     ")");
  }
  return v;
}

long long ArgReader::integer(long long min, long long max) {
  auto text = value();
  long long v = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), v);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size()) {
    throw UsageError("flag --" + name_ + ": \"" + text + "\" is not a whole number");
  }
  if (v < min || v > max) {
    throw UsageError("flag --" + name_ + ": " + text + " is out of range (" + std::to_string(min) +
                     " to " + std::to_string(max) + ")");
  }
  return v;
}

log::Level ArgReader::log_level() {
  auto text = value();
  auto level = log::parse_level(text);
  if (!level) {
    throw UsageError("flag --log-level: \"" + text + "\" is not debug, info, warn or error");
  }
  return *level;
}

void ArgReader::unexpected() const {
  const std::string& command = args_.front();
  if (flag_) {
    throw UsageError("unknown flag --" + name_ + " (see afp_workload " + command + " --help)");
  }
  throw UsageError("unexpected argument \"" + word_ + "\" (see afp_workload " + command +
                   " --help)");
}

}  // namespace afp::workload
