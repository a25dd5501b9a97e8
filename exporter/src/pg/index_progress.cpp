#include "pg/index_progress.h"

#include "core/progress.h"

namespace afp::pg {

std::optional<CreateIndexProgress> read_create_index_progress(Connection& conn, int pid,
                                                              Clock::time_point deadline) {
  auto result = conn.query(
      "SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total, lockers_done, "
      "lockers_total FROM pg_stat_progress_create_index WHERE pid = " +
          std::to_string(pid),
      deadline);
  if (result.rows() == 0) return std::nullopt;
  CreateIndexProgress p;
  p.phase = std::string(result.value(0, result.column("phase")));
  p.blocks_done = result.integer(0, result.column("blocks_done"));
  p.blocks_total = result.integer(0, result.column("blocks_total"));
  p.tuples_done = result.integer(0, result.column("tuples_done"));
  p.tuples_total = result.integer(0, result.column("tuples_total"));
  p.lockers_done = result.integer(0, result.column("lockers_done"));
  p.lockers_total = result.integer(0, result.column("lockers_total"));
  return p;
}

std::string describe(const CreateIndexProgress& p) {
  std::string out = p.phase.empty() ? std::string("starting") : p.phase;
  if (p.blocks_total > 0) {
    out += ", blocks " + core::count_of(p.blocks_done, p.blocks_total);
  } else if (p.tuples_total > 0) {
    out += ", tuples " + core::count_of(p.tuples_done, p.tuples_total);
  } else if (p.lockers_total > 0) {
    out += ", transactions " + core::count_of(p.lockers_done, p.lockers_total);
  }
  return out;
}

CreateIndexWatcher::CreateIndexWatcher(std::string conninfo, int pid,
                                       std::chrono::milliseconds interval, log::Logger& log,
                                       std::function<void(const CreateIndexProgress&)> report)
    : conn_(std::move(conninfo),
            ConnectionOptions{std::chrono::seconds(5), std::chrono::seconds(5),
                              std::chrono::seconds(5)},
            log),
      pid_(pid),
      interval_(interval),
      report_(std::move(report)),
      thread_(&CreateIndexWatcher::run, this) {}

CreateIndexWatcher::~CreateIndexWatcher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void CreateIndexWatcher::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    try {
      if (auto p = read_create_index_progress(conn_, pid_, Clock::now() + std::chrono::seconds(5)))
        report_(*p);
    } catch (const std::exception&) {
      // No progress to show this time; the build itself is unaffected.
    }
    lock.lock();
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
  }
}

}  // namespace afp::pg
