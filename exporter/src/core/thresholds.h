#pragma once

// The threshold table of DESIGN.md, the one place it lives in code: `status` and
// `profile` judge with it, and a test keeps the alerting rules and the dashboards'
// threshold steps equal to it.

#include <array>
#include <string_view>

namespace afp::core {

enum class Unit { Ratio, Seconds };

struct Threshold {
  std::string_view name;  // stable id: status JSON "name", rule/dashboard tests
  std::string_view what;  // as DESIGN.md's table says it
  Unit unit;
  double warning;
  double critical;
};

inline constexpr Threshold kFingerprintGenerationP95{
    "fingerprint_generation_p95", "fingerprint generation p95", Unit::Seconds, 3.0, 5.0};
inline constexpr Threshold kApiProcessingP95{"api_processing_p95", "API total processing p95",
                                             Unit::Seconds, 5.0, 10.0};
inline constexpr Threshold kDbQueryP95{"db_query_p95", "database query p95", Unit::Seconds, 1.0,
                                       3.0};
inline constexpr Threshold kCpuBusy{"cpu_busy", "CPU busy", Unit::Ratio, 0.70, 0.90};
inline constexpr Threshold kMemoryUsed{"memory_used", "memory used", Unit::Ratio, 0.80, 0.95};
// Judged per filesystem.
inline constexpr Threshold kDiskUsed{"disk_used", "disk used", Unit::Ratio, 0.85, 0.95};

inline constexpr std::array<Threshold, 6> kThresholds{
    kFingerprintGenerationP95, kApiProcessingP95, kDbQueryP95, kCpuBusy, kMemoryUsed, kDiskUsed};

constexpr const Threshold* find_threshold(std::string_view name) {
  for (const auto& t : kThresholds) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

enum class Level { Ok, Warning, Critical };

// A value at a threshold has reached it: 0.70 CPU busy is a warning, as a Grafana
// threshold step colours from its value up.
constexpr Level level_of(const Threshold& t, double value) {
  if (value >= t.critical) return Level::Critical;
  if (value >= t.warning) return Level::Warning;
  return Level::Ok;
}

static_assert([] {
  for (const auto& t : kThresholds) {
    if (!(t.warning < t.critical)) return false;
    if (t.unit == Unit::Ratio && t.critical > 1.0) return false;
  }
  return true;
}());

}  // namespace afp::core
