#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "log/logger.h"
#include "metrics/deferred_text.h"
#include "pg/connection.h"
#include "pg/dsn.h"
#include "pg/query.h"

namespace afp::pg {

// What one collection produced for one PostgreSQL collector.
struct Part {
  bool ok = false;
  std::string text;  // the collector's families, ready to append to a scrape
  // Then its families kept as data, rendered as each scrape sends them (pg_stat_statements).
  std::shared_ptr<const metrics::DeferredText> deferred;
  std::string error;  // why not, when !ok

  // text, and deferred rendered after it: the collector's whole exposition.
  std::string whole_text() const {
    std::string out = text;
    if (deferred) metrics::append_rendered(*deferred, out);
    return out;
  }
};

struct Snapshot {
  Clock::time_point started{};
  bool up = false;
  // pg_postmaster_start_time() in seconds since the epoch, when up and readable as a finite
  // number: a restart between two collections shows as a new value, not in `up`.
  std::optional<double> postmaster_start;
  // The scrape stopped waiting before the collection finished: nothing is known yet.
  bool timed_out = false;
  std::string error;  // the connection error while !up
  std::map<std::string, Part, std::less<>> parts;
};

// A float8 column's text as seconds since the epoch; nullopt for anything but a finite
// number in full ("Infinity", "NaN", "", trailing garbage from a hostile server): no
// pg_postmaster_start_time_seconds sample is better than a wrong one.
std::optional<double> parse_epoch_seconds(std::string_view text);

struct SourceOptions {
  ConnectionOptions connection;
  std::chrono::milliseconds cache_ttl{0};
  // prefetch() starts a collection; else only snapshot() does.
  bool prefetch = false;
  // A collection never runs longer than this, whatever the scrape's own deadline.
  std::chrono::milliseconds budget{9000};
};

// The exporter's single view of PostgreSQL: one connection, and one collection at a time
// whose result every scrape waiting meanwhile shares (so concurrent scrapes never open
// extra connections or run the statistics queries twice). A result is reused by later
// collectors of the same scrape, and by later scrapes for --pg.cache-ttl.
//
// Collections run on a thread of their own, under their own budget: a scrape's deadline
// (which any client can set) only bounds how long that scrape waits. A scrape that gives up
// leaves the collection running; its result then serves the next scrape, and a short
// deadline can never cut a query and cost the session.
class Source {
 public:
  Source(Dsn dsn, SourceOptions options, log::Logger& log);
  // Waits for the collection in flight (at most its budget), then stops the thread.
  ~Source();
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;

  // Queries run in the order added; add them all before the first snapshot().
  void add(std::string name, std::unique_ptr<PgQuery> query);

  // A collection that began at or after scrape_start, or the one in flight, or a cached
  // one, or one that finished after every scrape waiting for it had given up; otherwise
  // starts one. Waits at most until deadline.
  std::shared_ptr<const Snapshot> snapshot(Clock::time_point scrape_start,
                                           Clock::time_point deadline);
  // Starts the collection snapshot() would start, without waiting for it: a scrape calls
  // this first, so that PostgreSQL is read while its other collectors run. Does nothing
  // when options.prefetch is off.
  void prefetch(Clock::time_point scrape_start);

  const Dsn& dsn() const { return dsn_; }

 private:
  void run();
  std::shared_ptr<const Snapshot> collect(Clock::time_point deadline);
  bool reusable(Clock::time_point scrape_start, Clock::time_point now) const;
  // Under mutex_: whether a collection runs for scrape_start, starting one unless the last
  // can serve it.
  bool start_unless_reusable(Clock::time_point scrape_start);
  std::shared_ptr<const Snapshot> claim(Clock::time_point scrape_start);

  Dsn dsn_;
  SourceOptions options_;
  Connection connection_;  // used only by the collection thread
  std::vector<std::pair<std::string, std::unique_ptr<PgQuery>>> queries_;

  std::mutex mutex_;
  std::condition_variable requested_;
  std::condition_variable finished_;
  bool in_flight_ = false;
  bool stopping_ = false;
  int waiting_ = 0;  // scrapes waiting for the collection in flight
  std::uint64_t generation_ = 0;
  std::shared_ptr<const Snapshot> last_;
  Clock::time_point last_finished_{};
  bool last_unclaimed_ = false;     // it finished after every scrape waiting for it gave up
  Clock::time_point claimed_by_{};  // the scrape_start of the scrape that took it then
  std::thread thread_;              // last: starts once everything above exists
};

}  // namespace afp::pg
