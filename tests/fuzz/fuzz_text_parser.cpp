// The Prometheus text format reader (metrics::parse_text) that the tests and the profile
// command use on expositions: malformed lines throw std::runtime_error, nothing else.
#include <cstddef>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <string>

#include "harness_support.h"
#include "metrics/text_parser.h"

using namespace afp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    for (const auto& sample : metrics::parse_text(fuzz::text_of(data, size))) {
      fuzz::require(!sample.name.empty(), "samples have names");
      std::set<std::string> names;
      for (const auto& label : sample.labels)
        fuzz::require(names.insert(label.first).second, "a sample has no label twice");
    }
  } catch (const std::runtime_error&) {
  }
  return 0;
}
