#pragma once

// `afp_exporter db report` and `afp_exporter db optimize`: the database advisor's command
// line (flags, output, exit codes). The findings come from pg/advisor.h.

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "pg/advisor.h"

namespace afp::cli {

// Where the findings are about, for the report's header.
struct ReportContext {
  std::string database;
  std::string target;  // pg::describe() of the DSN: no password
  std::string fingerprint_table;
  std::string hash_column;
  // How long the scans were watched; nullopt when they were not (scan findings left out).
  std::optional<double> window_seconds;
};

void print_report_text(std::ostream& out, const ReportContext& ctx,
                       const std::vector<pg::Finding>& findings);
void print_report_json(std::ostream& out, const ReportContext& ctx,
                       const std::vector<pg::Finding>& findings);

// args are what follows "db": the verb (report|optimize), then its flags. Returns the exit
// code: report 0 (nothing above info), 1 (a warning or critical finding); optimize 0
// (nothing left to do), 1 (actions pending in a dry run, or something optimize will not do);
// 2 for bad flags, no DSN, a failed connection or action, with one line on err.
int run_db(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace afp::cli
