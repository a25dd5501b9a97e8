#pragma once

// `afp_exporter profile`, the report: what was measured (percentiles of timings, readings)
// with verdicts against core/thresholds.h, its exit code and summary, and the texts the
// judge's recommendations and the renderer share. profile_judge.h turns measurements into
// a report, profile_render.h prints it; the measuring (I/O) lives in profile.cpp.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/severity.h"
#include "core/thresholds.h"

namespace afp::cli::profile {

// ---------------------------------------------------------------------------------------
// Percentiles.

struct Stats {
  std::size_t count = 0;
  double min = 0, p50 = 0, p95 = 0, max = 0;
};

// The nearest-rank percentile of sorted, non-empty values: the smallest value with at least
// `percent` % of the values at or below it, i.e. the one at 1-based rank ceil(percent/100 × n).
// It is always a measured value (no interpolation): with 20 runs p95 is the 19th fastest,
// with fewer than 20 it is the slowest.
double nearest_rank(const std::vector<double>& sorted, double percent);

// nullopt for no values.
std::optional<Stats> summarize(std::vector<double> values);

// ---------------------------------------------------------------------------------------
// The report.

// A verdict is core::level_of() against a requirement (printed PASS, WARN, FAIL), or
// Unknown for what has no requirement or could not be judged (the row's note says which).

// A timing over the iterations, judged by its p95.
struct Measure {
  std::string id;              // JSON name: api_total, stage_fingerprint, db_lookup, ...
  std::string label;           // text: "API total processing", "stage fingerprint", ...
  std::optional<Stats> stats;  // nullopt: no successful iteration
  std::optional<core::Threshold> requirement;
  core::Severity verdict = core::Severity::Unknown;
};

// One reading judged once: a system value, or what the look-up plan does.
struct Reading {
  std::string id;               // cpu_busy, memory_used, disk_used, lookup_plan
  std::string label;            // "CPU busy", "disk used /", "look-up plan"
  std::string target;           // e.g. the mountpoint; "" when none
  std::optional<double> value;  // the number judged, when there is one
  std::string text;             // the value as shown when it is not a number
  std::optional<core::Threshold> requirement;
  core::Severity verdict = core::Severity::Unknown;
  std::string note;  // why it is not judged, or what it is based on
};

struct Section {
  std::string name;            // api, audio, database, system
  std::string target;          // the URL, user@host:port/dbname, "local"
  std::string what;            // one line: "20 uploads of probe.wav (88.2 KiB)"
  std::size_t iterations = 0;  // 0 for a snapshot (system)
  std::size_t failed = 0;
  std::vector<std::pair<std::string, std::size_t>> errors;  // reason and count, first seen first
  std::vector<Measure> measures;
  std::vector<Reading> readings;
  std::vector<std::string> recommendations;
};

struct Report {
  std::string mode;
  std::size_t iterations = 0;
  std::vector<Section> sections;
  std::vector<std::string> skipped;  // full mode: "api: no --url given"
};

// 1 when any measure or reading is Warn or Fail or any iteration failed; otherwise 0 when
// something passed, and 2 when nothing could be judged (a profile that checked nothing is
// not a pass).
int exit_code(const Report& report);
// "PASS", "FAIL (1 failed, 1 warning)", ...: the one-line summary.
std::string summary_line(const Report& report);

// ---------------------------------------------------------------------------------------
// Text shared by recommendations and output.

std::string seconds_text(double s);                       // "0.412 s"
std::string value_text(core::Unit unit, double v);        // "97.3%" or seconds_text
std::string threshold_text(core::Unit unit, double v);    // "99%", "3 s"
std::string count_text(double n);                         // "5123457"
std::string join(const std::vector<std::string>& items);  // "a, b, c"

}  // namespace afp::cli::profile
