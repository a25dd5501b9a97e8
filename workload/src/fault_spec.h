#pragma once

// The fault switches' names and values as people type them: "NAME[=VALUE]", "clear" and
// "clear=NAME" (afp_workload serve --fault, afp_workload fault, POST /admin/faults).
//
//   slow-fingerprint[=SECONDS] the fingerprint stage takes at least SECONDS (0.1..60)
//   drop-index                 the hash index on fingerprints.hash is dropped
//   db-stall[=SECONDS]         a session keeps taking an exclusive lock on fingerprints
//   cpu[=THREADS]              busy-looping threads (default: one per hardware thread)
//   errors[=RATIO]             that share (0..1) of /identify requests fail with 500
//   slow-api[=SECONDS]         each /identify answer waits SECONDS before it goes out
//   memory[=RATIO]             memory is taken until the host's used share reaches RATIO
//   dead-rows[=RATIO]          that share of fingerprints is updated in place, autovacuum off
//   stale-stats[=RATIO]        that share of unmatchable rows is added, autoanalyze off
//   probe-unreachable          the probe listener (serve --probe-listen) is closed

#include <stdexcept>
#include <string>
#include <string_view>

namespace afp::workload {

enum class FaultName {
  SlowFingerprint,
  DropIndex,
  DbStall,
  Cpu,
  Errors,
  SlowApi,
  Memory,
  DeadRows,
  StaleStats,
  ProbeUnreachable
};
inline constexpr FaultName kAllFaults[] = {
    FaultName::SlowFingerprint, FaultName::DropIndex,       FaultName::DbStall, FaultName::Cpu,
    FaultName::Errors,          FaultName::SlowApi,         FaultName::Memory,  FaultName::DeadRows,
    FaultName::StaleStats,      FaultName::ProbeUnreachable};

// Between the critical threshold (5 s) and the probe's timeout (10 s): the alert, not the
// probe failing, is what this fault shows.
inline constexpr double kDefaultFingerprintSeconds = 7;
inline constexpr double kDefaultStallSeconds = 5;
inline constexpr double kDefaultErrorRatio = 0.5;
inline constexpr double kDefaultApiDelaySeconds = 6;
inline constexpr double kDefaultMemoryRatio = 0.85;
inline constexpr double kDefaultDeadRowRatio = 0.5;
inline constexpr double kDefaultStaleRowRatio = 0.2;

struct FaultSpec {
  enum class Action { Set, Clear, ClearAll };
  Action action = Action::Set;
  FaultName name = FaultName::SlowFingerprint;  // unused for ClearAll
  double value = 0;  // Set: the factor, seconds, threads or ratio (0 for a fault without one)
};

// A spec that names no fault or carries a bad value; the message quotes the spec.
class FaultSpecError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// `hardware_threads` is cpu's default. Throws FaultSpecError.
FaultSpec parse_fault_spec(std::string_view text, unsigned hardware_threads);
std::string_view fault_name(FaultName name);
// "slow-fingerprint, drop-index, ..." for error and help messages.
std::string fault_names();

}  // namespace afp::workload
