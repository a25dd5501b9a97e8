#pragma once

// The fault switches of the running service (fault_spec.h lists them), set at start-up with
// --fault and at run time through POST /admin/faults. Thread-safe: request threads read
// them while an admin request changes them.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu_burner.h"
#include "db_stall.h"
#include "fault_spec.h"
#include "log/logger.h"
#include "memory_hog.h"

namespace afp::workload {

// A fault that could not be switched (the database refused or is away): the state is
// what it was before.
class FaultError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A fault this service cannot have (probe-unreachable without a probe listener): nothing
// changed.
class FaultUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FaultState {
  double fingerprint_seconds = 0;  // slow-fingerprint's least stage time; 0 when off
  bool drop_index = false;
  double stall_seconds = 0;      // 0 when off
  int cpu_threads = 0;           // 0 when off
  double error_ratio = 0;        // 0 when off
  double api_delay_seconds = 0;  // slow-api; 0 when off
  double memory_ratio = 0;       // 0 when off
  double dead_row_ratio = 0;     // 0 when off
  double stale_row_ratio = 0;    // 0 when off
  bool probe_unreachable = false;
};

class Faults {
 public:
  // `dsn`: the database drop-index, db-stall, dead-rows and stale-stats act on. `memory`:
  // how the memory fault measures and takes memory (its target_ratio comes from the spec).
  Faults(std::string dsn, log::Logger& log, MemoryHogOptions memory = {});
  ~Faults();
  Faults(const Faults&) = delete;
  Faults& operator=(const Faults&) = delete;

  // Throws FaultError when the database part of a fault fails, FaultUnavailable for
  // probe-unreachable without a probe switch.
  void apply(const FaultSpec& spec);
  void apply(const std::vector<FaultSpec>& specs);

  // What the request path asks.
  // slow-fingerprint: the least time the fingerprint stage takes, 0 when off.
  double fingerprint_seconds() const;
  // errors=RATIO: true for exactly that share of calls (every other one at 0.5), so a
  // test or a dashboard sees the ratio without sampling noise.
  bool fail_this_request();
  // slow-api: waits its seconds, or less when the fault is changed or stopped meanwhile.
  // Returns at once, false, when the fault is off or `max_held` requests wait already.
  bool hold_answer(int max_held);
  int answers_held() const;

  // How probe-unreachable closes (false) and re-opens (true) the probe listener; throws
  // FaultError when it cannot. Null (the default): the service has no probe listener.
  void set_probe_switch(std::function<void(bool reachable)> probe_switch);

  FaultState state() const;
  // {"slow-fingerprint": 3 | false, "drop-index": true | false, "db-stall": 5 | false,
  //  "cpu": 2 | false, "errors": 0.25 | false, "slow-api": 6 | false, "memory": 0.85 | false,
  //  "dead-rows": 0.5 | false, "stale-stats": 0.2 | false, "probe-unreachable": true | false}
  nlohmann::ordered_json state_json() const;

  // Ends the stall, CPU and memory threads and the answers held (shutdown). The index and
  // the table's rows are left as they are.
  void stop();

 private:
  void set(FaultName name, double value);
  void clear(FaultName name);
  void start(FaultName name, double value);
  void end(FaultName name, const FaultState& before);
  void record(FaultName name, double value);
  void wake_held_answers();
  void run_sql(const std::vector<std::string>& statements, std::string_view fault);

  std::string dsn_;
  log::Logger& log_;
  MemoryHogOptions memory_options_;
  std::mutex apply_mutex_;  // one change at a time (index builds take a while)
  mutable std::mutex state_mutex_;
  FaultState state_;
  double error_credit_ = 0;
  std::condition_variable answers_released_;  // with state_mutex_
  std::uint64_t delay_generation_ = 0;
  int held_answers_ = 0;
  std::function<void(bool)> probe_switch_;  // under apply_mutex_
  std::unique_ptr<DbStall> stall_;
  std::unique_ptr<CpuBurner> cpu_;
  std::unique_ptr<MemoryHog> memory_;
};

}  // namespace afp::workload
