#pragma once

// How bad a reading or a finding is: the one vocabulary `status`, `profile`, the `db`
// advisor and the thresholds (core/thresholds.h) judge in, and the one place that maps it
// to the words each report prints.
//
// Log levels (log/logger.h: debug, info, warn, error) are a different axis: how much a
// message matters to whoever reads the log, not how a reading stands against a threshold.
// They stay separate.

#include <string_view>

namespace afp::core {

// Ok, Warning and Critical are the levels of a threshold, in this order (a reading that
// reaches Critical has passed Warning). Info is a finding worth reading that is no problem
// (a small table scanned sequentially); Unknown is what could not be judged.
enum class Severity { Ok, Info, Warning, Critical, Unknown };

// The words a report prints for a severity. Each report shows only some severities; a
// severity it never shows prints as "".
struct SeverityWords {
  std::string_view status;   // `status`: OK, WARN, CRIT, n/a
  std::string_view profile;  // `profile`: PASS, WARN, FAIL, - (its JSON: lower case, null)
  std::string_view finding;  // `db report`: info, warning, critical
};

constexpr SeverityWords words_of(Severity s) {
  switch (s) {
    case Severity::Ok:
      return {"OK", "PASS", ""};
    case Severity::Info:
      return {"", "", "info"};
    case Severity::Warning:
      return {"WARN", "WARN", "warning"};
    case Severity::Critical:
      return {"CRIT", "FAIL", "critical"};
    case Severity::Unknown:
      break;
  }
  return {"n/a", "-", ""};
}

// A warning or worse: what makes a report exit 1.
constexpr bool is_problem(Severity s) {
  return s == Severity::Warning || s == Severity::Critical;
}

}  // namespace afp::core
