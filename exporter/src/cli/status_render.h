#pragma once

// The output of `afp_exporter status`: the rows of status_checks.h as a table or as JSON
// (docs/status.schema.json describes the JSON).

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/status_checks.h"
#include "core/thresholds.h"

namespace afp::cli {

// A reading ("97.3%", "0.412 s", "up") or, with is_threshold, a level ("99%", "3 s").
// Also what a check writes in a note ("may reach 3 s").
std::string format_number(core::Unit unit, double value, bool is_threshold);

void print_table(std::ostream& out, std::string_view source, const std::vector<CheckRow>& rows);
void print_json(std::ostream& out, std::string_view source, const std::vector<CheckRow>& rows);

}  // namespace afp::cli
