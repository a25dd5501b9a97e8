#pragma once

// One observation of the fingerprinting pipeline, as the ingest transports (HTTP batch,
// statsd line) hand it to the Store: the wire format is parsed and checked for shape
// first, then the Store applies it. README "Fingerprint pipeline" lists the metrics.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace afp::pipeline {

// The six pipeline metrics; the wire names are the README's ("fingerprint_generation", ...).
enum class Kind : std::uint8_t {
  FingerprintGeneration,  // histogram, seconds, no labels
  ApiRequest,             // histogram, seconds, endpoint/method/status
  DbQuery,                // histogram, seconds, operation
  Identification,         // counter, result
  AudioProcessed,         // counter, seconds of audio
  FingerprintHashes,      // counter, hashes
};
inline constexpr std::size_t kKindCount = 6;

// Wire name <-> kind ("api_request" <-> ApiRequest); nullopt for an unknown name.
std::optional<Kind> kind_from_wire(std::string_view name);
std::string_view wire_name(Kind kind);

// The label names a kind takes, in the order Observation::labels holds their values.
// ApiRequest: endpoint, method, status; DbQuery: operation; Identification: result.
struct LabelSchema {
  std::array<std::string_view, 3> names{};
  std::size_t count = 0;
};
const LabelSchema& label_schema(Kind kind);

struct Observation {
  Kind kind = Kind::FingerprintGeneration;
  // Histograms: the duration in seconds. Counters: the increment (1 for one identification).
  double value = 0;
  // How many events this observation stands for: statsd sample rates (@0.25 → 4).
  // Histograms observe `value` this many times; counters add value * weight.
  std::uint32_t weight = 1;
  // Label values in label_schema(kind) order. They point into the caller's buffer and
  // need to live only until Store::apply returns (the store copies what it keeps).
  std::array<std::string_view, 3> labels{};
};

}  // namespace afp::pipeline
