#pragma once

// One thing the workload tells the exporter, in the exporter's own vocabulary
// (afp::pipeline::Kind and its label schema), but owning its label values: it waits in a
// queue long after the code that made it has moved on.

#include <array>
#include <string>

#include "pipeline/observation.h"

namespace afp::workload {

struct ReportObservation {
  pipeline::Kind kind = pipeline::Kind::FingerprintGeneration;
  // Seconds for the durations and audio_processed, the count for fingerprint_hashes, 1 for
  // an identification.
  double value = 0;
  std::array<std::string, 3> labels{};  // in pipeline::label_schema(kind) order
};

}  // namespace afp::workload
