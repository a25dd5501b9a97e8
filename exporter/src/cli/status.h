#pragma once

// `afp_exporter status`: asks a running exporter (or, when none answers, the built-in
// collectors) for the system readings and judges them against core/thresholds.h.

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/quantile_range.h"
#include "collectors/settings.h"
#include "core/thresholds.h"
#include "metrics/text_parser.h"

namespace afp::cli {

enum class CheckState { Ok, Warn, Crit, Unknown };

// One row of the report.
struct CheckRow {
  core::Threshold threshold;
  std::string target;  // what the row is about beyond its check, e.g. a mountpoint
  std::optional<double> value;
  CheckState state = CheckState::Unknown;
  std::string note;  // why a row is not judged, e.g. "read-only" or "no CPU time passed"
  // A histogram quantile: the bucket it falls in, which is what the row shows and judges.
  // value then holds Prometheus' interpolation inside it, the number the alerts compare.
  std::optional<QuantileRange> range;
};

// The rows that two scrapes taken `elapsed` apart give, in report order; rates (CPU busy,
// PostgreSQL's block reads) come from their difference, levels from the later one. CPU
// busy is a share of CPU time and needs no clock; a rate per second is n/a while elapsed is
// zero. Pure, so each check is testable from synthetic samples; checks are added to the
// list in status.cpp.
std::vector<CheckRow> evaluate(const std::vector<metrics::Sample>& before,
                               const std::vector<metrics::Sample>& after,
                               std::chrono::duration<double> elapsed = {});

// What evaluate() reads, from the built-in cpu, meminfo and filesystem collectors instead of
// an exporter: two collections `interval` apart (CPU busy is a rate). A collector that
// cannot be built or fails is left out with a line on err, prefixed "<command>: "; the
// others still count. Shared by `status` (no exporter answering) and `profile --mode system`.
std::pair<std::vector<metrics::Sample>, std::vector<metrics::Sample>> collect_locally(
    const collectors::CollectorSettings& settings, std::chrono::milliseconds interval,
    std::string_view command, std::ostream& err);

CheckState judge(const core::Threshold& threshold, double value);
std::string_view state_name(CheckState state);  // OK, WARN, CRIT, n/a

// 1 when any row is WARN or CRIT; otherwise 0 when at least one row was judged OK and 2
// when nothing could be judged (a check that checked nothing is not a pass).
int exit_code(const std::vector<CheckRow>& rows);

void print_table(std::ostream& out, std::string_view source, const std::vector<CheckRow>& rows);
void print_json(std::ostream& out, std::string_view source, const std::vector<CheckRow>& rows);

// Where status looks without --url.
inline constexpr std::string_view kDefaultStatusUrl = "http://127.0.0.1:9793/metrics";

// args are what follows "status". Returns the exit code; 2 on bad flags or errors, with
// one line on err. default_url stands in for kDefaultStatusUrl, so a test can point it at a
// port of its own.
int run_status(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
               const std::string& default_url = std::string(kDefaultStatusUrl));

}  // namespace afp::cli
