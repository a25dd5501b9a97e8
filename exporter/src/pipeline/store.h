#pragma once

// The fingerprint-pipeline metrics the app pushes: three histograms and three counters
// (README "Fingerprint pipeline"), plus the ingest self-metrics. Shared by the HTTP ingest handler,
// the statsd listener and the /metrics writer; safe to use from any number of threads.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "metrics/text_writer.h"
#include "pipeline/observation.h"

namespace afp::pipeline {

// Bucket upper bounds of every duration histogram (README "Fingerprint pipeline"): the thresholds
// 1, 3, 5 and 10 s are bounds, so a quantile compared with a threshold is exact there.
inline constexpr std::array<double, 18> kDurationBuckets{
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 7.5, 10, 15, 20, 30, 60};

enum class Transport : std::uint8_t { Http, Statsd };
std::string_view transport_name(Transport t);  // "http", "statsd"

// Why an observation (or a request before its observations were known) was refused:
// the `reason` label of afp_ingest_rejected_total.
enum class Reject : std::uint8_t {
  Malformed,         // not the wire format (bad JSON, bad statsd line, wrong field type)
  UnknownMetric,     // metric name not among the wire names
  UnknownLabel,      // a label the metric does not take (HTTP: statsd ignores such tags)
  InvalidValue,      // negative, NaN, infinite, out of range; a label value off its set/format
  LabelTooLong,      // a label value longer than Limits::max_label_value_length
  Cardinality,       // a new label value beyond Limits::max_label_values for that label
  TooManyItems,      // batch longer than the limit (HTTP)
  BodyTooLarge,      // 413 (HTTP)
  UnsupportedMedia,  // 415 (HTTP)
  Unauthorized,      // 401/403 (HTTP)
  UnsupportedType,   // statsd type other than ms, h, d, c (gauges, sets)
  Dropped,           // statsd datagrams the kernel dropped (receive buffer full)
  Overflow,          // would make a counter or a histogram sum non-finite
  SeriesLimit,       // a new api_request series beyond Limits::max_series
  MissingLabel,      // a label the metric requires is absent or empty
};
inline constexpr std::size_t kRejectCount = 15;
std::string_view reject_name(Reject r);  // snake_case label value, e.g. "label_too_long"

struct Limits {
  // Distinct values ever admitted per label name. Only api_request's endpoint, method and
  // status need it: operation and result are closed sets, always admitted.
  std::size_t max_label_values = 100;
  std::size_t max_label_value_length = 128;  // bytes
  // Series of one pushed family. Only api_request can have more than a handful: its label
  // values are capped one by one, but their combinations (100 × 100 × 100) would not be.
  std::size_t max_series = 2000;
};

// Why a batch was refused, naming the first observation at fault.
struct Refusal {
  std::size_t index = 0;
  Reject reason = Reject::Malformed;
  // For the client, without the index: "label \"endpoint\": new value refused, the limit of
  // 100 distinct values is reached".
  std::string message;
};

class Store {
 public:
  explicit Store(Limits limits = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // All or nothing: every observation of the batch is counted, or none is and the refusal
  // names the first one at fault. Label values are checked here (length, cardinality);
  // shape (kind, label set, value range) is the parser's job but is re-checked.
  // On success adds batch.size() to afp_ingest_observations_total{transport}; on refusal
  // adds batch.size() to afp_ingest_rejected_total{transport,reason}.
  std::optional<Refusal> apply(Transport transport, std::span<const Observation> batch);

  // Each observation on its own (statsd: every line stands alone); refused ones are
  // counted by reason and skipped. Returns how many were accepted.
  std::size_t apply_each(Transport transport, std::span<const Observation> observations);

  // Refusals that happened before observations existed (401, 413, unparsable body,
  // malformed statsd line): add n to afp_ingest_rejected_total{transport,reason}.
  void count_rejected(Transport transport, Reject reason, std::uint64_t n = 1);

  // Writes the six pipeline families and the two ingest families. Every histogram series
  // is written from one consistent snapshot (_count equals the +Inf bucket).
  void write(metrics::TextWriter& out) const;

 private:
  struct State;
  Limits limits_;
  mutable std::mutex mutex_;
  std::unique_ptr<State> state_;
};

}  // namespace afp::pipeline
