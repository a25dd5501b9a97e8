#pragma once

// The db-stall fault: a session of its own keeps taking ACCESS EXCLUSIVE on fingerprints
// for S seconds (BEGIN; LOCK TABLE ...; then idle in the transaction; COMMIT), with 0.2 s
// gaps, so look-ups queue behind it as they would behind a migration or a forgotten
// transaction.

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "log/logger.h"

namespace afp::workload {

class DbStall {
 public:
  DbStall(std::string dsn, double seconds, log::Logger& log);
  // Cancels the sleeping statement (the lock goes with its transaction) and joins.
  ~DbStall();
  DbStall(const DbStall&) = delete;
  DbStall& operator=(const DbStall&) = delete;

 private:
  void loop();
  bool pause(std::chrono::milliseconds how_long);  // false when stopping
  void cancel_backend();

  std::string dsn_;
  double seconds_;
  log::Logger& log_;
  std::atomic<int> backend_pid_{0};
  std::atomic<bool> in_stall_{false};  // the stall statement is running: worth cancelling
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool exited_ = false;
  std::thread thread_;
};

}  // namespace afp::workload
