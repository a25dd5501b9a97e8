// The probe's Server-Timing header: parse_server_timing, with the properties its unit
// test checks on random input.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "harness_support.h"
#include "pipeline/server_timing.h"

using namespace afp;
using fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto timing = pipeline::parse_server_timing(fuzz::text_of(data, size));
  if (!timing.ok()) require(timing.entries.empty(), "a refused header has no entries");
  require(timing.entries.size() <= pipeline::kMaxServerTimingEntries, "entry limit");
  for (const auto& e : timing.entries) {
    require(!e.name.empty(), "names are not empty");
    require(e.name.size() <= pipeline::kMaxServerTimingNameLength, "name length limit");
    if (e.seconds) require(std::isfinite(*e.seconds) && *e.seconds >= 0, "dur is finite, >= 0");
  }
  return 0;
}
