#pragma once

// The body of POST /api/v1/observations, wire format version 1 (README, "HTTP: POST
// /api/v1/observations"), read by a strict RFC 8259 scanner that knows the format: a generic JSON
// DOM costs more than the whole ingest budget. Only shape is checked here (fields, types, label
// names, numeric ranges, label length); label values and cardinality are the Store's. The format
// nests three levels deep and a value of the wrong type is refused at its first byte, so no input
// makes the scanner recurse or look further (no depth limit is needed).

#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/observation.h"
#include "pipeline/store.h"

namespace afp::pipeline {

struct BatchLimits {
  std::size_t max_items = 10000;
  std::size_t max_label_value_length = 128;  // bytes, after unescaping
};

struct BatchError {
  // The observation at fault (also for JSON syntax errors inside it); none for errors of
  // the body as a whole (empty, not an object, unknown top-level field, too many items).
  std::optional<std::size_t> index;
  Reject reason = Reject::Malformed;
  // For the client, naming the place: "observations[3].seconds: must be a finite number
  // >= 0". Printable ASCII only; it may contain '"', so JSON-escape it in the answer.
  std::string message;
};

// Parses a whole body. `out` and `scratch` are cleared first; on success `out` holds the
// observations in body order, with label views into `body` or, for strings that had
// escapes, into `scratch` (a deque: its strings never move as it grows), so the views stay
// valid while the caller keeps both. On error `out` is unspecified.
// Identification observations count 1; fingerprint_hashes carry the count as their value.
std::optional<BatchError> parse_batch(std::string_view body, const BatchLimits& limits,
                                      std::vector<Observation>& out,
                                      std::deque<std::string>& scratch);

}  // namespace afp::pipeline
