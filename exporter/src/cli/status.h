#pragma once

// `afp_exporter status`: asks a running exporter (or, when none answers, the built-in
// collectors) for the system readings and judges them against core/thresholds.h. This is
// the wiring: status_sources.h reads, status_checks.h judges, status_render.h prints.

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/status_checks.h"
#include "cli/status_render.h"
#include "cli/status_sources.h"

namespace afp::cli {

// Where status looks without --url.
inline constexpr std::string_view kDefaultStatusUrl = "http://127.0.0.1:9793/metrics";

// args are what follows "status". Returns the exit code; 2 on bad flags or errors, with
// one line on err. default_url stands in for kDefaultStatusUrl, so a test can point it at a
// port of its own.
int run_status(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
               const std::string& default_url = std::string(kDefaultStatusUrl));

}  // namespace afp::cli
