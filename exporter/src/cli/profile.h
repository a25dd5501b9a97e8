#pragma once

// `afp_exporter profile`: measures the fingerprinting service's performance the way its old
// profiler did — uploads to the identify endpoint (api, audio), Dejavu's hash look-up in
// PostgreSQL (database), the host's CPU, memory and disks (system), or all of them (full) —
// and judges the measurements against core/thresholds.h (see cli/profile_report.h).

#include <ostream>
#include <string>
#include <vector>

namespace afp::cli {

// args are what follows "profile". Prints the report as text on out, or writes it as JSON to
// --output and one line on out. Returns 0 when everything passed, 1 when a requirement
// warned or failed or an iteration failed, 2 for bad flags, a missing URL, audio file or
// DSN, a connection that cannot be made, or nothing to judge, with one line on err.
int run_profile(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace afp::cli
