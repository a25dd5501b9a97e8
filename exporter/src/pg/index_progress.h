#pragma once

// Progress of a CREATE INDEX [CONCURRENTLY] from pg_stat_progress_create_index (PostgreSQL
// 12+), read on a connection of its own while the build runs on another; used by
// `db optimize --apply`.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "pg/connection.h"

namespace afp::pg {

struct CreateIndexProgress {
  std::string phase;  // "building index: loading tuples in tree", "waiting for writers ..."
  long long blocks_done = 0, blocks_total = 0;
  long long tuples_done = 0, tuples_total = 0;
  long long lockers_done = 0, lockers_total = 0;  // transactions the build waits for
};

// The row of backend `pid`, nullopt when it builds no index (not yet, or done). Throws
// PgError.
std::optional<CreateIndexProgress> read_create_index_progress(Connection& conn, int pid,
                                                              Clock::time_point deadline);

// "building index: loading tuples in tree, blocks 512 of 2,048 (25.0 %)": the phase and the
// one count that moves in it (blocks, else tuples, else the transactions waited for).
std::string describe(const CreateIndexProgress& progress);

// Polls read_create_index_progress for `pid` every `interval` on a connection of its own
// and hands each row found to `report`, until destroyed. Failures (no such view, no
// connection) only mean no progress is shown: the build goes on regardless.
class CreateIndexWatcher {
 public:
  CreateIndexWatcher(std::string conninfo, int pid, std::chrono::milliseconds interval,
                     log::Logger& log, std::function<void(const CreateIndexProgress&)> report);
  ~CreateIndexWatcher();
  CreateIndexWatcher(const CreateIndexWatcher&) = delete;
  CreateIndexWatcher& operator=(const CreateIndexWatcher&) = delete;

 private:
  void run();

  Connection conn_;
  int pid_;
  std::chrono::milliseconds interval_;
  std::function<void(const CreateIndexProgress&)> report_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace afp::pg
