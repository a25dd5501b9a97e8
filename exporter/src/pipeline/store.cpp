#include "pipeline/store.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/utf8.h"

namespace afp::pipeline {

namespace {

using metrics::LabelRef;
using metrics::MetricType;

constexpr std::size_t kTransportCount = 2;
constexpr std::size_t kBucketCount = kDurationBuckets.size() + 1;  // the last one is +Inf

// The le label of each bucket, as TextSerializer prints the bound (%.16g); a unit test
// compares the whole histogram output with TextSerializer's.
constexpr std::array<std::string_view, kBucketCount> kLe{
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",  "2",   "3",
    "4",     "5",    "7.5",   "10",   "15",  "20",   "30",  "60", "+Inf"};

constexpr std::array<std::string_view, 4> kOperations{"lookup", "insert", "delete", "other"};
constexpr std::array<std::string_view, 3> kResults{"match", "no_match", "error"};
constexpr std::size_t kMaxMethodLength = 16;

constexpr std::array<std::string_view, kRejectCount> kRejectNames{
    "malformed",        "unknown_metric", "unknown_label",  "invalid_value",     "label_too_long",
    "cardinality",      "too_many_items", "body_too_large", "unsupported_media", "unauthorized",
    "unsupported_type", "dropped",        "overflow",       "series_limit",      "missing_label"};

constexpr std::string_view kHelpFingerprint =
    "Time the service took to fingerprint one audio file (decode, spectrogram, peak finding, "
    "landmark hashes), in seconds.";
constexpr std::string_view kHelpApi =
    "Total processing time of the service's API requests by endpoint, HTTP method and status "
    "code, in seconds.";
constexpr std::string_view kHelpDb =
    "Duration of the service's database queries by operation (lookup, insert, delete, other), "
    "in seconds.";
constexpr std::string_view kHelpIdentifications =
    "Identification attempts by result: match (a song was recognised), no_match, or error.";
constexpr std::string_view kHelpAudio = "Seconds of audio the service has fingerprinted.";
constexpr std::string_view kHelpHashes = "Landmark hashes the service has generated.";
constexpr std::string_view kHelpAccepted =
    "Observations the exporter accepted from the app, by ingest transport (http, statsd).";
constexpr std::string_view kHelpRejected =
    "Ingest refusals by transport and reason: a batch refused for its content counts all its "
    "observations; a request refused before they could be counted (token, size, media type, "
    "unreadable body) counts 1.";

// The first bucket whose bound is >= value (le semantics), by a branch-free binary search:
// five steps of conditional moves, no misprediction whatever the values.
std::size_t bucket_index(double value) {
  const double* base = kDurationBuckets.data();
  std::size_t n = kDurationBuckets.size();
  while (n > 1) {
    std::size_t half = n / 2;
    base = base[half] < value ? base + half : base;
    n -= half;
  }
  return static_cast<std::size_t>(base - kDurationBuckets.data()) + (*base < value);
}

struct Hist {
  std::array<std::uint64_t, kBucketCount> buckets{};  // per bucket, not cumulative
  double sum = 0;

  void observe(double value, std::uint32_t weight) {
    buckets[bucket_index(value)] += weight;
    sum += value * weight;
  }
};

// endpoint, method, status
using ApiKey = std::array<std::string_view, 3>;

struct ApiKeyHash {
  std::size_t operator()(const ApiKey& key) const noexcept {
    std::hash<std::string_view> hash;
    std::size_t h = hash(key[0]);
    for (std::size_t i = 1; i < key.size(); ++i)
      h ^= hash(key[i]) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h;
  }
};

struct ApiSeries {
  ApiKey labels;  // views into the State's interned values, which never move or change
  Hist hist;
};

// The distinct values admitted for one label name. Values are interned: views handed out
// stay valid for the life of the set (deque elements never move, nor does the buffer of a
// string that is never modified), so series keys and write() snapshots can hold views.
class ValueSet {
 public:
  bool contains(std::string_view value) const { return index_.contains(value); }
  std::size_t size() const { return index_.size(); }
  std::string_view intern(std::string_view value) {
    if (auto it = index_.find(value); it != index_.end()) return *it;
    std::string_view kept = storage_.emplace_back(value);
    index_.insert(kept);
    return kept;
  }

 private:
  std::deque<std::string> storage_;
  std::unordered_set<std::string_view> index_;
};

// Where an observation goes; neither pointer set means an api_request series that does not
// exist yet and is created when the batch commits.
struct Target {
  Hist* hist = nullptr;
  double* counter = nullptr;
};

// Why an observation is refused. The text is built only when a client will read it
// (statsd refusals are only counted).
struct Fault {
  Reject reason;
  std::string_view label;  // empty: the fault is not about a label
  std::string_view detail;
};

bool is_method(std::string_view value) {
  return !value.empty() && value.size() <= kMaxMethodLength &&
         std::all_of(value.begin(), value.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool is_status(std::string_view value) {
  return value.size() == 3 && value[0] >= '1' && value[0] <= '5' &&
         std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool has_control_byte(std::string_view value) {
  return std::any_of(value.begin(), value.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// Equality without a call to memcmp: label values are short and compared often.
bool same(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

template <std::size_t N>
std::optional<std::size_t> index_of(const std::array<std::string_view, N>& set,
                                    std::string_view value) {
  for (std::size_t i = 0; i < N; ++i) {
    if (same(set[i], value)) return i;
  }
  return std::nullopt;
}

// How the values of a label are checked; by position, in label_schema() order.
enum class Rule : std::uint8_t { Endpoint, Method, Status, Operation, Result };

Rule rule_of(Kind kind, std::size_t slot) {
  if (kind == Kind::ApiRequest) {
    return slot == 0 ? Rule::Endpoint : slot == 1 ? Rule::Method : Rule::Status;
  }
  return kind == Kind::DbQuery ? Rule::Operation : Rule::Result;
}

// The rule's verdict on a value, or what the value must be.
std::optional<std::string_view> violation(Rule rule, std::string_view value) {
  switch (rule) {
    case Rule::Operation:
      if (index_of(kOperations, value)) return std::nullopt;
      return "must be one of lookup, insert, delete, other";
    case Rule::Result:
      if (index_of(kResults, value)) return std::nullopt;
      return "must be one of match, no_match, error";
    case Rule::Method:
      if (is_method(value)) return std::nullopt;
      return "must be an HTTP method: 1 to 16 uppercase letters";
    case Rule::Status:
      if (is_status(value)) return std::nullopt;
      return "must be a 3-digit HTTP status code from 100 to 599";
    case Rule::Endpoint:
      if (value.empty()) return "must not be empty";
      if (!core::valid_utf8(value)) return "must be valid UTF-8";
      // JSON escapes (\n, \u0000) reach here; statsd refuses such bytes in the line.
      if (has_control_byte(value)) return "must not contain control characters";
      return std::nullopt;
  }
  return std::nullopt;
}

// Everything that can be checked without the store's state, so apply() can do it unlocked.
std::optional<Fault> check_shape(const Observation& o, const Limits& limits) {
  if (static_cast<std::size_t>(o.kind) >= kKindCount) {
    return Fault{Reject::UnknownMetric, {}, "unknown metric"};
  }
  if (!std::isfinite(o.value) || o.value < 0) {
    return Fault{Reject::InvalidValue, {}, "value must be a finite number >= 0"};
  }
  if (o.weight < 1) return Fault{Reject::InvalidValue, {}, "weight must be >= 1"};
  // One observation must not turn a sum or counter into +Inf for good.
  if (!std::isfinite(o.value * o.weight)) {
    return Fault{Reject::InvalidValue, {}, "value times weight is out of range"};
  }
  const LabelSchema& schema = label_schema(o.kind);
  for (std::size_t i = schema.count; i < o.labels.size(); ++i) {
    if (!o.labels[i].empty()) return Fault{Reject::UnknownLabel, {}, {}};
  }
  for (std::size_t i = 0; i < schema.count; ++i) {
    std::string_view value = o.labels[i];
    if (value.size() > limits.max_label_value_length) {
      return Fault{Reject::LabelTooLong, schema.names[i], {}};
    }
    if (auto rule = violation(rule_of(o.kind, i), value)) {
      return Fault{Reject::InvalidValue, schema.names[i], *rule};
    }
  }
  return std::nullopt;
}

std::string message(const Fault& fault, const Limits& limits) {
  std::string text;
  if (!fault.label.empty()) {
    text.append("label \"").append(fault.label).append("\": ");
  }
  if (fault.reason == Reject::LabelTooLong) {
    text.append("longer than ")
        .append(std::to_string(limits.max_label_value_length))
        .append(" bytes");
  } else if (fault.reason == Reject::Cardinality) {
    text.append("new value refused, the limit of ")
        .append(std::to_string(limits.max_label_values))
        .append(" distinct values is reached");
  } else if (fault.reason == Reject::SeriesLimit) {
    text.append("new series refused, the limit of ")
        .append(std::to_string(limits.max_series))
        .append(" series is reached");
  } else if (fault.reason == Reject::UnknownLabel && fault.label.empty()) {
    text.append("a label the metric does not take");
  } else {
    text.append(fault.detail);
  }
  return text;
}

constexpr Fault kOverflow{Reject::Overflow,
                          {},
                          "would make a running total (a counter or a histogram sum) exceed the "
                          "largest finite number"};

bool possible(Transport transport, Reject reason) {
  if (transport == Transport::Http) {
    return reason != Reject::UnsupportedType && reason != Reject::Dropped;
  }
  // Statsd ignores tags a metric does not take (clients add global ones to every line).
  return reason != Reject::TooManyItems && reason != Reject::BodyTooLarge &&
         reason != Reject::UnsupportedMedia && reason != Reject::Unauthorized &&
         reason != Reject::UnknownLabel;
}

std::size_t at(Transport t) {
  return static_cast<std::size_t>(t);
}
std::size_t at(Reject r) {
  return static_cast<std::size_t>(r);
}

// The plain values, copied whole for a write() snapshot.
struct Values {
  Hist fingerprint;
  std::array<Hist, kOperations.size()> db{};
  std::array<double, kResults.size()> identifications{};
  double audio_seconds = 0;
  double hashes = 0;
  std::array<std::uint64_t, kTransportCount> accepted{};
  std::array<std::array<std::uint64_t, kRejectCount>, kTransportCount> rejected{};
};

}  // namespace

struct Store::State {
  Values values;
  std::deque<ApiSeries> api;  // a deque so that Target pointers survive new series
  std::unordered_map<ApiKey, Hist*, ApiKeyHash> api_index;
  std::array<ValueSet, 3> api_values;  // admitted endpoint, method, status values

  // Reused by every apply(), so that a batch of known series allocates nothing.
  std::vector<Target> targets;
  std::array<std::vector<std::string_view>, 3> pending;   // new values the batch would admit
  std::unordered_set<ApiKey, ApiKeyHash> pending_series;  // new series the batch would create

  std::optional<Fault> resolve(const Observation& o, const Limits& limits, Target& target);
  std::optional<Fault> resolve_api(const ApiKey& key, const Limits& limits, Target& target);
  void commit(const Observation& o, Target target);
  Hist& api_series(const ApiKey& key);
  std::optional<std::size_t> first_overflow(std::span<const Observation> batch) const;
  void clear_pending() {
    for (auto& noted : pending)
      noted.clear();
    pending_series.clear();
  }
};

std::optional<Fault> Store::State::resolve(const Observation& o, const Limits& limits,
                                           Target& target) {
  switch (o.kind) {
    case Kind::FingerprintGeneration:
      target.hist = &values.fingerprint;
      break;
    case Kind::ApiRequest:
      return resolve_api({o.labels[0], o.labels[1], o.labels[2]}, limits, target);
    case Kind::DbQuery:
      target.hist = &values.db[index_of(kOperations, o.labels[0]).value_or(0)];
      break;
    case Kind::Identification:
      target.counter = &values.identifications[index_of(kResults, o.labels[0]).value_or(0)];
      break;
    case Kind::AudioProcessed:
      target.counter = &values.audio_seconds;
      break;
    case Kind::FingerprintHashes:
      target.counter = &values.hashes;
      break;
  }
  return std::nullopt;
}

// A known series needs one hash look-up. A new one may admit new label values; those are
// only noted in `pending` here (counted against the limit together with the values already
// admitted) and admitted by commit(), so a refused batch reserves nothing.
std::optional<Fault> Store::State::resolve_api(const ApiKey& key, const Limits& limits,
                                               Target& target) {
  if (auto it = api_index.find(key); it != api_index.end()) {
    target.hist = it->second;
    return std::nullopt;
  }
  if (!pending_series.contains(key) && api.size() + pending_series.size() >= limits.max_series) {
    return Fault{Reject::SeriesLimit, {}, {}};
  }
  const auto& names = label_schema(Kind::ApiRequest).names;
  for (std::size_t i = 0; i < key.size(); ++i) {
    auto& noted = pending[i];
    if (api_values[i].contains(key[i]) ||
        std::find(noted.begin(), noted.end(), key[i]) != noted.end()) {
      continue;
    }
    if (api_values[i].size() + noted.size() >= limits.max_label_values) {
      return Fault{Reject::Cardinality, names[i], {}};
    }
    noted.push_back(key[i]);
  }
  pending_series.insert(key);
  return std::nullopt;
}

namespace {

double total_of(const Target& target) {
  return target.hist ? target.hist->sum : target.counter ? *target.counter : 0;
}

}  // namespace

// Observations are finite one by one, but running totals can still overflow (two pushes of
// 1e308 seconds): a counter at +Inf stays there until restart. The common case is settled
// by one sum over the batch; only near the limit is each total followed on its own.
std::optional<std::size_t> Store::State::first_overflow(std::span<const Observation> batch) const {
  double added = 0;
  double largest = 0;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    added += batch[i].value * batch[i].weight;
    largest = std::max(largest, total_of(targets[i]));
  }
  if (std::isfinite(largest + added)) return std::nullopt;
  std::unordered_map<const void*, double> existing;        // per known sum or counter
  std::unordered_map<ApiKey, double, ApiKeyHash> created;  // per series the batch creates
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const Target& t = targets[i];
    const Observation& o = batch[i];
    double& total = t.hist || t.counter
                        ? existing
                              .try_emplace(t.hist ? static_cast<const void*>(t.hist)
                                                  : static_cast<const void*>(t.counter),
                                           total_of(t))
                              .first->second
                        : created[{o.labels[0], o.labels[1], o.labels[2]}];
    total += o.value * o.weight;
    if (!std::isfinite(total)) return i;
  }
  return std::nullopt;
}

void Store::State::commit(const Observation& o, Target target) {
  if (target.hist == nullptr && target.counter == nullptr) {
    target.hist = &api_series({o.labels[0], o.labels[1], o.labels[2]});
  }
  if (target.hist != nullptr) {
    target.hist->observe(o.value, o.weight);
  } else {
    *target.counter += o.value * o.weight;
  }
}

Hist& Store::State::api_series(const ApiKey& key) {
  // Found when an earlier observation of the same batch created it.
  if (auto it = api_index.find(key); it != api_index.end()) return *it->second;
  ApiKey kept{api_values[0].intern(key[0]), api_values[1].intern(key[1]),
              api_values[2].intern(key[2])};
  ApiSeries& series = api.emplace_back(ApiSeries{kept, {}});
  api_index.emplace(kept, &series.hist);
  return series.hist;
}

std::string_view transport_name(Transport t) {
  return t == Transport::Http ? "http" : "statsd";
}

std::string_view reject_name(Reject r) {
  return at(r) < kRejectNames.size() ? kRejectNames[at(r)] : "unknown";
}

Store::Store(Limits limits) : limits_(limits), state_(std::make_unique<State>()) {}
Store::~Store() = default;

std::optional<Refusal> Store::apply(Transport transport, std::span<const Observation> batch) {
  std::size_t shaped = batch.size();
  std::optional<Fault> shape_fault;
  for (std::size_t i = 0; i < batch.size() && !shape_fault; ++i) {
    shape_fault = check_shape(batch[i], limits_);
    if (shape_fault) shaped = i;
  }

  std::lock_guard lock(mutex_);
  State& s = *state_;
  auto refuse = [&](std::size_t index, const Fault& fault) {
    s.values.rejected[at(transport)][at(fault.reason)] += batch.size();
    return Refusal{index, fault.reason, message(fault, limits_)};
  };
  s.clear_pending();
  s.targets.assign(shaped, Target{});
  // The first observation at fault may be one that only the state can judge (cardinality),
  // ahead of the first shape fault.
  for (std::size_t i = 0; i < shaped; ++i) {
    if (auto fault = s.resolve(batch[i], limits_, s.targets[i])) return refuse(i, *fault);
  }
  if (shape_fault) return refuse(shaped, *shape_fault);
  if (auto i = s.first_overflow(batch)) return refuse(*i, kOverflow);
  for (std::size_t i = 0; i < batch.size(); ++i)
    s.commit(batch[i], s.targets[i]);
  s.values.accepted[at(transport)] += batch.size();
  return std::nullopt;
}

std::size_t Store::apply_each(Transport transport, std::span<const Observation> observations) {
  std::lock_guard lock(mutex_);
  State& s = *state_;
  std::size_t accepted = 0;
  for (const auto& o : observations) {
    s.clear_pending();
    Target target;
    auto fault = check_shape(o, limits_);
    if (!fault) fault = s.resolve(o, limits_, target);
    if (!fault && !std::isfinite(total_of(target) + o.value * o.weight)) fault = kOverflow;
    if (fault) {
      ++s.values.rejected[at(transport)][at(fault->reason)];
      continue;
    }
    s.commit(o, target);
    ++accepted;
  }
  s.values.accepted[at(transport)] += accepted;
  return accepted;
}

void Store::count_rejected(Transport transport, Reject reason, std::uint64_t n) {
  if (at(reason) >= kRejectCount) return;
  std::lock_guard lock(mutex_);
  state_->values.rejected[at(transport)][at(reason)] += n;
}

namespace {

void write_hist(metrics::TextWriter& out, std::vector<LabelRef>& labels, const Hist& hist) {
  std::uint64_t count = 0;
  for (auto n : hist.buckets)
    count += n;
  out.sample("_count", labels, static_cast<double>(count));
  out.sample("_sum", labels, hist.sum);
  labels.push_back({"le", {}});
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBucketCount; ++i) {
    cumulative += hist.buckets[i];
    labels.back().value = kLe[i];
    out.sample("_bucket", labels, static_cast<double>(cumulative));
  }
  labels.pop_back();
}

void write_pipeline(metrics::TextWriter& out, const Values& values,
                    const std::vector<ApiSeries>& api) {
  std::vector<LabelRef> labels;
  out.family("afp_fingerprint_generation_seconds", kHelpFingerprint, MetricType::Histogram);
  write_hist(out, labels, values.fingerprint);

  out.family("afp_api_request_duration_seconds", kHelpApi, MetricType::Histogram);
  const auto& api_names = label_schema(Kind::ApiRequest).names;
  for (const auto& series : api) {
    labels.clear();
    for (std::size_t i = 0; i < series.labels.size(); ++i)
      labels.push_back({api_names[i], series.labels[i]});
    write_hist(out, labels, series.hist);
  }

  out.family("afp_db_query_duration_seconds", kHelpDb, MetricType::Histogram);
  for (std::size_t i = 0; i < kOperations.size(); ++i) {
    labels.assign({{"operation", kOperations[i]}});
    write_hist(out, labels, values.db[i]);
  }

  out.family("afp_identifications_total", kHelpIdentifications, MetricType::Counter);
  for (std::size_t i = 0; i < kResults.size(); ++i)
    out.sample({{"result", kResults[i]}}, values.identifications[i]);
  out.family("afp_audio_processed_seconds_total", kHelpAudio, MetricType::Counter);
  out.sample({}, values.audio_seconds);
  out.family("afp_fingerprint_hashes_total", kHelpHashes, MetricType::Counter);
  out.sample({}, values.hashes);
}

void write_ingest(metrics::TextWriter& out, const Values& values) {
  constexpr std::array<Transport, kTransportCount> kTransports{Transport::Http, Transport::Statsd};
  out.family("afp_ingest_observations_total", kHelpAccepted, MetricType::Counter);
  for (Transport t : kTransports)
    out.sample({{"transport", transport_name(t)}}, static_cast<double>(values.accepted[at(t)]));
  out.family("afp_ingest_rejected_total", kHelpRejected, MetricType::Counter);
  for (Transport t : kTransports) {
    for (std::size_t r = 0; r < kRejectCount; ++r) {
      auto reason = static_cast<Reject>(r);
      std::uint64_t n = values.rejected[at(t)][r];
      // Series a transport can never produce stay out, unless a caller counted one anyway.
      if (!possible(t, reason) && n == 0) continue;
      out.sample({{"transport", transport_name(t)}, {"reason", reject_name(reason)}},
                 static_cast<double>(n));
    }
  }
}

}  // namespace

void Store::write(metrics::TextWriter& out) const {
  // Copied under the lock, formatted outside it: a scrape holds up ingest only for the copy.
  Values values;
  std::vector<ApiSeries> api;
  {
    std::lock_guard lock(mutex_);
    values = state_->values;
    api.assign(state_->api.begin(), state_->api.end());
  }
  std::sort(api.begin(), api.end(),
            [](const ApiSeries& a, const ApiSeries& b) { return a.labels < b.labels; });
  write_pipeline(out, values, api);
  write_ingest(out, values);
}

}  // namespace afp::pipeline
