// statsd datagrams: parse_statsd_line on the whole input, parse_statsd_datagram on its
// lines, then a Store applies each accepted observation and writes its exposition.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/utf8.h"
#include "harness_support.h"
#include "metrics/text_writer.h"
#include "pipeline/statsd_parser.h"
#include "pipeline/store.h"

using namespace afp;
using fuzz::require;

namespace {

constexpr pipeline::Limits kStoreLimits{.max_label_values = 2, .max_label_value_length = 8};

void check_accepted(const pipeline::Observation& o) {
  require(std::isfinite(o.value) && o.value >= 0, "values are finite and >= 0");
  require(o.weight >= 1, "an observation stands for at least one event");
  require(std::isfinite(o.value * o.weight), "value * weight is finite");
  const auto& schema = pipeline::label_schema(o.kind);
  for (std::size_t i = 0; i < schema.count; ++i) {
    require(!o.labels[i].empty(), "required labels are present");
    require(core::valid_utf8(o.labels[i]), "label values are UTF-8");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = fuzz::text_of(data, size);
  pipeline::Observation one;
  if (!pipeline::parse_statsd_line(text, one)) check_accepted(one);

  std::vector<pipeline::Observation> observations;
  pipeline::RejectCounts rejected{};
  std::size_t parsed = pipeline::parse_statsd_datagram(text, observations, rejected);
  require(parsed == observations.size(), "the datagram parser counts what it appends");
  for (const auto& o : observations)
    check_accepted(o);

  if (observations.empty()) return 0;  // most inputs: nothing for the Store to do

  pipeline::Store store(kStoreLimits);
  store.apply_each(pipeline::Transport::Statsd, observations);
  std::string exposition;
  metrics::TextWriter writer(exposition);
  store.write(writer);
  fuzz::require_exposition(exposition);
  return 0;
}
