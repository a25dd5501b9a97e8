#pragma once

// The fault specs of a POST /admin/faults: "?NAME=VALUE&NAME" in the query, and/or one
// "NAME[=VALUE]" per line in the body (blank lines and "# comments" skipped).

#include <string_view>
#include <vector>

#include "fault_spec.h"

namespace afp::workload {

// All or nothing: throws FaultSpecError for the first bad spec (or bad %-escape), and when
// there is no spec at all.
std::vector<FaultSpec> fault_specs_of_request(std::string_view query, std::string_view body,
                                              unsigned hardware_threads);

}  // namespace afp::workload
