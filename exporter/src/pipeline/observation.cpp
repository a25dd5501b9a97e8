#include "pipeline/observation.h"

namespace afp::pipeline {

namespace {

// Indexed by Kind; the order of the enum.
constexpr std::array<std::string_view, kKindCount> kWireNames{
    "fingerprint_generation", "api_request",     "db_query",
    "identification",         "audio_processed", "fingerprint_hashes",
};

constexpr std::array<LabelSchema, kKindCount> kSchemas{{
    {{}, 0},
    {{"endpoint", "method", "status"}, 3},
    {{"operation"}, 1},
    {{"result"}, 1},
    {{}, 0},
    {{}, 0},
}};

}  // namespace

std::optional<Kind> kind_from_wire(std::string_view name) {
  for (std::size_t i = 0; i < kWireNames.size(); ++i) {
    if (kWireNames[i] == name) return static_cast<Kind>(i);
  }
  return std::nullopt;
}

std::string_view wire_name(Kind kind) {
  auto i = static_cast<std::size_t>(kind);
  return i < kWireNames.size() ? kWireNames[i] : std::string_view("unknown");
}

const LabelSchema& label_schema(Kind kind) {
  // An out-of-range kind (a cast gone wrong) takes no labels rather than reading past the end.
  static constexpr LabelSchema kNone{};
  auto i = static_cast<std::size_t>(kind);
  return i < kSchemas.size() ? kSchemas[i] : kNone;
}

}  // namespace afp::pipeline
