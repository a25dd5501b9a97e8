#pragma once

// The fault switches of the running service (fault_spec.h lists them), set at start-up with
// --fault and at run time through POST /admin/faults. Thread-safe: request threads read
// them while an admin request changes them.

#include <atomic>
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

namespace afp::workload {

// A fault that could not be switched (the database refused or is away): the state is
// what it was before.
class FaultError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FaultState {
  double slowdown = 1;  // slow-fingerprint factor; 1 when off
  bool drop_index = false;
  double stall_seconds = 0;  // 0 when off
  int cpu_threads = 0;       // 0 when off
  double error_ratio = 0;    // 0 when off
};

class Faults {
 public:
  // `dsn`: the database drop-index and db-stall act on.
  Faults(std::string dsn, log::Logger& log);
  ~Faults();
  Faults(const Faults&) = delete;
  Faults& operator=(const Faults&) = delete;

  // Throws FaultError when the database part of a fault fails.
  void apply(const FaultSpec& spec);
  void apply(const std::vector<FaultSpec>& specs);

  // What the request path asks.
  double fingerprint_slowdown() const;
  // errors=RATIO: true for exactly that share of calls (every other one at 0.5), so a
  // test or a dashboard sees the ratio without sampling noise.
  bool fail_this_request();

  FaultState state() const;
  // {"slow-fingerprint": 3 | false, "drop-index": true | false, "db-stall": 5 | false,
  //  "cpu": 2 | false, "errors": 0.25 | false}
  nlohmann::ordered_json state_json() const;

  // Ends the stall and CPU threads (shutdown). The index is left as it is.
  void stop();

 private:
  void set(FaultName name, double value);
  void clear(FaultName name);
  void run_sql(const std::vector<std::string>& statements, std::string_view fault);

  std::string dsn_;
  log::Logger& log_;
  std::mutex apply_mutex_;  // one change at a time (index builds take a while)
  mutable std::mutex state_mutex_;
  FaultState state_;
  double error_credit_ = 0;
  std::unique_ptr<DbStall> stall_;
  std::unique_ptr<CpuBurner> cpu_;
};

}  // namespace afp::workload
