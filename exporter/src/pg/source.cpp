#include "pg/source.h"

namespace afp::pg {

Source::Source(Dsn dsn, SourceOptions options, log::Logger& log)
    : dsn_(std::move(dsn)),
      options_(options),
      connection_(dsn_.conninfo, options.connection, log) {}

void Source::add(std::string name, std::unique_ptr<PgQuery> query) {
  queries_.emplace_back(std::move(name), std::move(query));
}

std::shared_ptr<const Snapshot> Source::snapshot(Clock::time_point scrape_start,
                                                 Clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  if (in_flight_) {
    auto generation = generation_;
    if (!finished_.wait_until(lock, deadline, [&] { return generation_ != generation; })) {
      auto timed_out = std::make_shared<Snapshot>();
      timed_out->error = "timed out waiting for the PostgreSQL collection in flight";
      return timed_out;
    }
    return last_;
  }
  auto now = Clock::now();
  if (last_ && (last_->started >= scrape_start || now - last_->started < options_.cache_ttl)) {
    return last_;
  }
  in_flight_ = true;
  lock.unlock();
  auto result = collect(std::min(deadline, now + options_.budget));
  lock.lock();
  in_flight_ = false;
  last_ = result;
  ++generation_;
  finished_.notify_all();
  return result;
}

std::shared_ptr<const Snapshot> Source::collect(Clock::time_point deadline) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->started = Clock::now();
  try {
    connection_.query("SELECT 1", deadline);
    snapshot->up = true;
  } catch (const std::exception& e) {
    snapshot->error = e.what();
  }
  for (auto& [name, query] : queries_) {
    Part& part = snapshot->parts[name];
    if (!snapshot->up) {
      part.error = "PostgreSQL is down: " + snapshot->error;
      continue;
    }
    try {
      metrics::TextWriter writer(part.text);
      query->collect(connection_, writer, deadline);
      part.ok = true;
    } catch (const std::exception& e) {
      part.text.clear();
      part.error = e.what();
    }
  }
  return snapshot;
}

}  // namespace afp::pg
