#include "cli/profile_report.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "cli/subcommand.h"

namespace afp::cli::profile {

namespace {

std::string printf_text(const char* format, double value) {
  std::array<char, 64> buf{};
  std::snprintf(buf.data(), buf.size(), format, value);
  return buf.data();
}

struct Tally {
  int failed = 0, warnings = 0, passed = 0;
  std::vector<std::string> failed_iterations;  // "3 of 20 uploads"
};

Tally tally(const Report& report) {
  Tally t;
  auto count = [&t](core::Severity v) {
    t.failed += v == core::Severity::Critical ? 1 : 0;
    t.warnings += v == core::Severity::Warning ? 1 : 0;
    t.passed += v == core::Severity::Ok ? 1 : 0;
  };
  for (const auto& s : report.sections) {
    for (const auto& m : s.measures)
      count(m.verdict);
    for (const auto& r : s.readings)
      count(r.verdict);
    if (s.failed > 0) {
      t.failed_iterations.push_back(std::to_string(s.failed) + " of " +
                                    std::to_string(s.iterations) + " " + s.name + " iterations");
    }
  }
  return t;
}

}  // namespace

std::string seconds_text(double s) {
  return printf_text("%.3f s", s);
}

std::string value_text(core::Unit unit, double v) {
  return unit == core::Unit::Ratio ? printf_text("%.1f%%", v * 100) : seconds_text(v);
}

std::string threshold_text(core::Unit unit, double v) {
  return unit == core::Unit::Ratio ? printf_text("%g%%", v * 100) : printf_text("%g s", v);
}

std::string count_text(double n) {
  return printf_text("%.0f", n);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items)
    out += (out.empty() ? "" : ", ") + i;
  return out;
}

double nearest_rank(const std::vector<double>& sorted, double percent) {
  auto n = static_cast<double>(sorted.size());
  // percent × n first: exact for whole percents, so 95 % of 20 is rank 19, not 19.000001.
  auto rank = static_cast<std::size_t>(std::ceil(percent * n / 100.0));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

std::optional<Stats> summarize(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  return Stats{values.size(), values.front(), nearest_rank(values, 50), nearest_rank(values, 95),
               values.back()};
}

int exit_code(const Report& report) {
  Tally t = tally(report);
  if (t.failed > 0 || t.warnings > 0 || !t.failed_iterations.empty()) return kExitProblem;
  return t.passed > 0 ? kExitOk : kExitError;
}

std::string summary_line(const Report& report) {
  Tally t = tally(report);
  int code = exit_code(report);
  if (code == kExitOk) return "PASS";
  if (code == kExitError) return "nothing could be judged";
  std::vector<std::string> parts;
  if (t.failed > 0) {
    parts.push_back(std::to_string(t.failed) + (t.failed == 1 ? " check" : " checks") + " failed");
  }
  if (t.warnings > 0) {
    parts.push_back(std::to_string(t.warnings) + (t.warnings == 1 ? " warning" : " warnings"));
  }
  for (const auto& f : t.failed_iterations)
    parts.push_back(f + " failed");
  return "FAIL (" + join(parts) + ")";
}

}  // namespace afp::cli::profile
