#include "fault_spec.h"

#include <charconv>
#include <cmath>
#include <optional>

namespace afp::workload {

namespace {

struct Range {
  double min, max;
  bool min_inclusive;
  bool integer;
  const char* meaning;
};

Range range_of(FaultName name) {
  switch (name) {
    case FaultName::SlowFingerprint:
      return {0.1, 60, true, false, "seconds from 0.1 to 60"};
    case FaultName::DbStall:
      return {0, 3600, false, false, "seconds, above 0 and at most 3600"};
    case FaultName::Cpu:
      return {1, 1024, true, true, "a thread count from 1 to 1024"};
    case FaultName::Errors:
      return {0, 1, true, false, "a ratio from 0 to 1"};
    case FaultName::SlowApi:
      return {0.1, 60, true, false, "seconds from 0.1 to 60"};
    case FaultName::Memory:
      return {0.1, 0.97, true, false, "a ratio from 0.1 to 0.97"};
    case FaultName::DeadRows:
    case FaultName::StaleStats:
      return {0.01, 1, true, false, "a ratio from 0.01 to 1"};
    case FaultName::DropIndex:
    case FaultName::ProbeUnreachable:
      break;
  }
  return {0, 0, true, false, "no value"};
}

std::optional<FaultName> find_name(std::string_view text) {
  for (auto name : kAllFaults) {
    if (fault_name(name) == text) return name;
  }
  return std::nullopt;
}

std::optional<double> parse_number(std::string_view text) {
  double value = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || res.ec != std::errc() || res.ptr != text.data() + text.size() ||
      !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

double default_value(FaultName name, unsigned hardware_threads) {
  switch (name) {
    case FaultName::SlowFingerprint:
      return kDefaultFingerprintSeconds;
    case FaultName::DbStall:
      return kDefaultStallSeconds;
    case FaultName::Cpu:
      return hardware_threads == 0 ? 1 : hardware_threads;
    case FaultName::Errors:
      return kDefaultErrorRatio;
    case FaultName::SlowApi:
      return kDefaultApiDelaySeconds;
    case FaultName::Memory:
      return kDefaultMemoryRatio;
    case FaultName::DeadRows:
      return kDefaultDeadRowRatio;
    case FaultName::StaleStats:
      return kDefaultStaleRowRatio;
    case FaultName::DropIndex:
    case FaultName::ProbeUnreachable:
      break;
  }
  return 0;
}

}  // namespace

std::string_view fault_name(FaultName name) {
  switch (name) {
    case FaultName::SlowFingerprint:
      return "slow-fingerprint";
    case FaultName::DropIndex:
      return "drop-index";
    case FaultName::DbStall:
      return "db-stall";
    case FaultName::Cpu:
      return "cpu";
    case FaultName::Errors:
      return "errors";
    case FaultName::SlowApi:
      return "slow-api";
    case FaultName::Memory:
      return "memory";
    case FaultName::DeadRows:
      return "dead-rows";
    case FaultName::StaleStats:
      return "stale-stats";
    case FaultName::ProbeUnreachable:
      return "probe-unreachable";
  }
  return "unknown";
}

std::string fault_names() {
  std::string out;
  for (auto name : kAllFaults) {
    if (!out.empty()) out += ", ";
    out += fault_name(name);
  }
  return out;
}

FaultSpec parse_fault_spec(std::string_view text, unsigned hardware_threads) {
  auto eq = text.find('=');
  auto name_text = text.substr(0, eq);
  std::optional<std::string_view> value;
  if (eq != std::string_view::npos) value = text.substr(eq + 1);
  auto fail = [&](const std::string& why) {
    return FaultSpecError("fault \"" + std::string(text) + "\": " + why);
  };
  if (name_text == "clear") {
    if (!value) return {FaultSpec::Action::ClearAll, FaultName::SlowFingerprint, 0};
    auto name = find_name(*value);
    if (!name) throw fail("clear what? expected one of " + fault_names());
    return {FaultSpec::Action::Clear, *name, 0};
  }
  auto name = find_name(name_text);
  if (!name) throw fail("unknown fault; expected one of " + fault_names() + " or clear[=NAME]");
  auto range = range_of(*name);
  if (*name == FaultName::DropIndex || *name == FaultName::ProbeUnreachable) {
    if (value) throw fail(std::string(fault_name(*name)) + " takes no value");
    return {FaultSpec::Action::Set, *name, 0};
  }
  if (!value) return {FaultSpec::Action::Set, *name, default_value(*name, hardware_threads)};
  auto number = parse_number(*value);
  bool in_range = number && (range.min_inclusive ? *number >= range.min : *number > range.min) &&
                  *number <= range.max && (!range.integer || std::floor(*number) == *number);
  if (!in_range) throw fail(std::string("the value must be ") + range.meaning);
  return {FaultSpec::Action::Set, *name, *number};
}

}  // namespace afp::workload
