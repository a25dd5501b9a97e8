// POST /api/v1/observations bodies: parse_batch, then a Store applies what it accepted
// (label values, cardinality) and writes its exposition, which must stay valid.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "core/utf8.h"
#include "harness_support.h"
#include "metrics/text_writer.h"
#include "pipeline/batch_parser.h"
#include "pipeline/store.h"

using namespace afp;
using fuzz::require;

namespace {

// Small limits, so that short inputs reach them.
constexpr pipeline::BatchLimits kBatchLimits{.max_items = 16, .max_label_value_length = 16};
// Shorter labels than the parser allows, so that the Store's own length check runs too.
constexpr pipeline::Limits kStoreLimits{.max_label_values = 2, .max_label_value_length = 8};

bool printable_ascii(const std::string& text) {
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

void check_error(const pipeline::BatchError& error) {
  require(!error.message.empty(), "a refused batch says why");
  require(printable_ascii(error.message), "batch error messages are printable ASCII");
}

void check_accepted(const std::vector<pipeline::Observation>& batch) {
  require(batch.size() <= kBatchLimits.max_items, "no batch beyond max_items");
  for (const auto& o : batch) {
    require(std::isfinite(o.value) && o.value >= 0, "values are finite and >= 0");
    const auto& schema = pipeline::label_schema(o.kind);
    for (std::size_t i = 0; i < schema.count; ++i) {
      require(o.labels[i].size() <= kBatchLimits.max_label_value_length, "label length limit");
      require(core::valid_utf8(o.labels[i]), "label values are UTF-8");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<pipeline::Observation> batch;
  std::deque<std::string> scratch;
  auto error = pipeline::parse_batch(fuzz::text_of(data, size), kBatchLimits, batch, scratch);
  if (error) {
    check_error(*error);
    return 0;
  }
  check_accepted(batch);
  pipeline::Store store(kStoreLimits);
  if (auto refusal = store.apply(pipeline::Transport::Http, batch)) {
    require(refusal->index < batch.size(), "a refusal names an observation of the batch");
  }
  std::string text;
  metrics::TextWriter writer(text);
  store.write(writer);
  fuzz::require_exposition(text);
  return 0;
}
