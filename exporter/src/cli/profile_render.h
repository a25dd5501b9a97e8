#pragma once

// `afp_exporter profile`, the output: a report as text or as JSON.

#include <ostream>

#include "cli/profile_report.h"

namespace afp::cli::profile {

void print_text(std::ostream& out, const Report& report);
void print_json(std::ostream& out, const Report& report);

}  // namespace afp::cli::profile
