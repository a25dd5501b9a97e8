#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "log/logger.h"
#include "pg/connection.h"
#include "pg/dsn.h"
#include "pg/query.h"

namespace afp::pg {

// What one collection produced for one PostgreSQL collector.
struct Part {
  bool ok = false;
  std::string text;   // the collector's families, ready to append to a scrape
  std::string error;  // why not, when !ok
};

struct Snapshot {
  Clock::time_point started{};
  bool up = false;
  std::string error;  // the connection error while !up
  std::map<std::string, Part, std::less<>> parts;
};

struct SourceOptions {
  ConnectionOptions connection;
  std::chrono::milliseconds cache_ttl{0};
  // A collection never runs longer than this, whatever the scrape's own deadline.
  std::chrono::milliseconds budget{9000};
};

// The exporter's single view of PostgreSQL: one connection, and one collection at a time
// whose result every scrape waiting meanwhile shares (so concurrent scrapes never open
// extra connections or run the statistics queries twice). A result is reused by later
// collectors of the same scrape, and by later scrapes for --pg.cache-ttl.
class Source {
 public:
  Source(Dsn dsn, SourceOptions options, log::Logger& log);

  // Queries run in the order added; add them all before the first snapshot().
  void add(std::string name, std::unique_ptr<PgQuery> query);

  // A collection that began at or after scrape_start, or the one in flight, or a cached
  // one; otherwise runs one now. Waits at most until deadline.
  std::shared_ptr<const Snapshot> snapshot(Clock::time_point scrape_start,
                                           Clock::time_point deadline);

  const Dsn& dsn() const { return dsn_; }

 private:
  std::shared_ptr<const Snapshot> collect(Clock::time_point deadline);

  Dsn dsn_;
  SourceOptions options_;
  Connection connection_;  // used only by the thread running collect()
  std::vector<std::pair<std::string, std::unique_ptr<PgQuery>>> queries_;

  std::mutex mutex_;
  std::condition_variable finished_;
  bool in_flight_ = false;
  std::uint64_t generation_ = 0;
  std::shared_ptr<const Snapshot> last_;
};

}  // namespace afp::pg
